"""``simulate``: every sample is accepted by the bot's own verifier, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import tomllib

import pytest

from bot.cli import simulate
from bot.commands import Caller
from bot.config.settings import Settings
from bot.intake.web import COMMANDS, STORE
from bot.providers import PROVIDERS
from tests.conftest import base_config, eventually
from tests.processes import ROOT

CREDENTIALS: dict[str, list[dict]] = {
    "github": [{"secret": "sample secret"}],
    "heartbeat": [
        {"token": "sample token", "heartbeat": "1h", "heartbeat_to": "eng"},
        {
            "token": "sample token",
            "token_header": "X-Ping-Token",
            "heartbeat": "1h",
            "heartbeat_to": "eng",
        },
    ],
    "gitlab": [{"secret": "sample secret token"}, {"secret": ["new token", "old token"]}],
    "stripe": [{"secret": "whsec_sample"}, {"secret": ["whsec_new", "whsec_old"]}],
    "pagerduty": [{"secret": "sample secret"}],
    "sentry": [{"secret": "sample client secret"}, {"secret": ["new", "old"]}],
    "grafana": [
        {"secret": "sample secret"},
        {"secret": "sample secret", "timestamp_header": "X-Grafana-Alerting-Timestamp"},
        {"token": "sample token"},
        {"username": "grafana", "password": "sample password"},
    ],
    "alertmanager": [
        {"token": "sample token"},
        {"username": "alertmanager", "password": "sample password"},
    ],
    "datadog": [
        {"token": "sample token", "token_header": "X-Datadog-Token"},
        {"username": "datadog", "password": "sample password"},
    ],
    "generic": [
        {"secret": "whsec_c2FtcGxlIHNlY3JldA=="},  # Standard Webhooks
        {
            "secret": "sample secret",
            "signature_header": "X-Signature",
            "signature_prefix": "sha256=",
            "signature_encoding": "base64",
            "timestamp_header": "X-Timestamp",
        },
        {"token": "sample token", "token_header": "X-Gitlab-Token"},
    ],
}
"""Every way a source of each provider can be set up: each sign() must satisfy them all."""

SAMPLES = [(name, event) for name in PROVIDERS for event in simulate.sample_events(name)]


EXAMPLE = tomllib.loads((ROOT / "config.example.toml").read_text())
MAPPINGS = {"generic": {"fields": EXAMPLE["sources"]["deploys"]["fields"]}}
"""A generic source's events are what its mapping says: the samples are named for the
mapping of the example config's generic source, ``deploys``."""


def config_for(tmp_path, provider: str) -> dict:
    """One source per way of setting the provider up: ``try0``, ``try1``..."""
    config = base_config(tmp_path)
    config["sources"] = {
        f"try{n}": {"provider": provider, **credentials, **MAPPINGS.get(provider, {})}
        for n, credentials in enumerate(CREDENTIALS[provider])
    }
    return config


@pytest.mark.parametrize(("provider", "event"), SAMPLES)
async def test_every_sample_is_accepted_and_becomes_the_event_it_is_named_after(
    tmp_path, make_bot, provider, event
):
    config = config_for(tmp_path, provider)
    settings = Settings(**config)
    bot = await make_bot(config)
    store = bot.app[STORE]

    for source in settings.sources:
        url = simulate.hook_url(settings.server, source, str(bot.make_url("/")))
        answers = [
            await simulate.send(url, simulate.build(settings, source, event, time.time()))
            for _ in range(2)
        ]
        assert [status for status, _ in answers] == [200, 200], (source, answers)
        ok, line = simulate.outcome(*answers[1], source)
        assert ok and "accepted" in line  # fresh ids: a second run is not a duplicate
        inbox_id = line.split("request id ")[1].split(":")[0]

        async def normalized(inbox_id: str = inbox_id):
            return await store.get_event(f"{inbox_id}.0")

        found = await eventually(normalized)
        assert found is not None and found.type == event, (source, found)


@pytest.mark.parametrize(
    ("provider", "story"),
    [
        ("github", ["pull_request.opened", "pull_request.merged"]),
        ("pagerduty", ["incident.triggered", "incident.acknowledged", "incident.resolved"]),
        ("alertmanager", ["alert.firing", "alert.resolved"]),
        ("datadog", ["alert.firing", "alert.resolved"]),
    ],
)
async def test_samples_of_one_story_are_one_conversation(tmp_path, make_bot, provider, story):
    config = config_for(tmp_path, provider)
    settings = Settings(**config)
    bot = await make_bot(config)
    url = simulate.hook_url(settings.server, "try0", str(bot.make_url("/")))
    keys = []
    for event in story:
        _, answer = await simulate.send(url, simulate.build(settings, "try0", event, time.time()))
        inbox_id = json.loads(answer)["id"]

        async def normalized(inbox_id: str = inbox_id):
            return await bot.app[STORE].get_event(f"{inbox_id}.0")

        keys.append((await eventually(normalized)).thread_key)
    assert keys[0] and set(keys) == {keys[0]}


def test_every_provider_has_samples():
    assert [provider for provider in PROVIDERS if not simulate.sample_events(provider)] == []


async def run_cli(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


def write_toml(tmp_path, secret: str) -> str:
    """A config with the store of the bots ``base_config(tmp_path)`` makes."""
    path = tmp_path / f"{secret}.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n'
        f'[sources.github]\nprovider = "github"\nsecret = "{secret}"\n'
    )
    return str(path)


@pytest.mark.slow
async def test_cli_sends_a_signed_sample_that_reaches_slack(tmp_path, fake_slack, make_bot):
    config = base_config(tmp_path, fake_slack.url)
    config["sources"]["github"]["secret"] = "shared"
    bot = await make_bot(config)
    url = str(bot.make_url("/"))

    code, output = await run_cli(
        "--config", write_toml(tmp_path, "shared"), "simulate", "github", "pull_request.opened",
        "--url", url,
    )  # fmt: skip

    assert code == 0, output
    assert "200 accepted" in output
    assert output.rstrip().endswith(".0 pull_request.opened: posted to #eng")
    [post] = fake_slack.posts()
    assert "Update the README with new information." in post.title


@pytest.mark.slow
async def test_cli_says_where_the_sample_was_posted_on_every_platform(tmp_path, poster, make_bot):
    config = base_config(tmp_path, **poster.config())
    config["targets"] = {"eng": poster.target("eng")}
    config["sources"]["github"]["secret"] = "shared"
    bot = await make_bot(config)
    url = str(bot.make_url("/"))

    code, output = await run_cli(
        "--config", write_toml(tmp_path, "shared"), "simulate", "github", "issues.opened",
        "--url", url,
    )  # fmt: skip

    assert code == 0, output
    where = "#eng" if poster.name == "slack" else "eng"  # a target's name, never its URL
    assert output.rstrip().endswith(f".0 issues.opened: posted to {where}"), output
    assert "http" not in output.split("200 accepted")[-1]
    [shown] = poster.shown("eng")
    assert "Spelling error in the README file" in shown


@pytest.mark.slow
async def test_cli_reports_a_mute_and_a_slack_that_keeps_failing(tmp_path, fake_slack, make_bot):
    config = base_config(tmp_path, fake_slack.url)
    config["sources"]["github"]["secret"] = "shared"
    bot = await make_bot(config)
    url = str(bot.make_url("/"))
    toml = write_toml(tmp_path, "shared")
    await bot.app[COMMANDS].run("mute github event=push in eng", Caller("cli", "ops"))

    code, output = await run_cli("--config", toml, "simulate", "github", "push", "--url", url)
    assert code == 0, output
    assert "push: muted by m1 in #eng" in output

    fake_slack.fail_next(times=1000, status=500)
    code, output = await run_cli(
        "--config", toml, "simulate", "github", "issues.opened", "--url", url, "--wait", "1"
    )
    assert code == 1, output
    assert "issues.opened: retrying #eng: slack server error 500" in output
    assert "not settled after 1s; python -m bot why" in output


@pytest.mark.slow
async def test_cli_claims_nothing_about_a_bot_whose_store_it_cannot_read(
    tmp_path, fake_slack, make_bot
):
    config = base_config(tmp_path, fake_slack.url)
    config["sources"]["github"]["secret"] = "shared"
    bot = await make_bot(config)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    code, output = await run_cli(
        "--config", write_toml(elsewhere, "shared"), "simulate", "github", "push",
        "--url", str(bot.make_url("/")),
    )  # fmt: skip

    assert code == 0, output
    assert "not known here: no store at" in output and "python -m bot why" in output
    assert not (elsewhere / "bot.db").exists()


@pytest.mark.slow
async def test_print_shows_the_signed_request_and_sends_nothing(tmp_path):
    code, output = await run_cli(
        "--config", write_toml(tmp_path, "s"), "simulate", "github", "pull_request.opened",
        "--print", "--url", "http://127.0.0.1:9",
    )  # fmt: skip

    assert code == 0, output
    head, _, body = output.partition("\n\n")
    assert head.startswith("POST http://127.0.0.1:9/hooks/github\n")
    assert "X-GitHub-Event: pull_request" in head and "X-Hub-Signature-256: sha256=" in head
    assert json.loads(body)["action"] == "opened"


@pytest.mark.slow
async def test_cli_explains_a_secret_mismatch_and_an_absent_bot(tmp_path, make_bot):
    bot = await make_bot(base_config(tmp_path))  # its secret is not "other"
    url = str(bot.make_url("/"))

    code, output = await run_cli(
        "--config", write_toml(tmp_path, "other"), "simulate", "github", "push", "--url", url
    )
    assert code == 1
    assert "401" in output and "another secret for 'github'" in output

    code, output = await run_cli(
        "--config", write_toml(tmp_path, "other"), "simulate", "github", "push",
        "--url", "http://127.0.0.1:9",
    )  # fmt: skip
    assert code == 1 and "no bot answers at http://127.0.0.1:9/hooks/github" in output


@pytest.mark.slow
async def test_cli_lists_samples_and_names_unknown_events(tmp_path):
    config = write_toml(tmp_path, "s")
    code, output = await run_cli("--config", config, "simulate", "--list")
    assert code == 0
    assert "github (github): " in output and "pull_request.opened" in output

    code, output = await run_cli("--config", config, "simulate", "github", "pull_request.exploded")
    assert code == 1
    assert "no github sample 'pull_request.exploded'" in output and "push" in output


def test_default_url_is_the_configured_local_server():
    server = Settings(server={"port": 9123}).server
    assert simulate.hook_url(server, "github", None) == "http://127.0.0.1:9123/hooks/github"
    assert simulate.hook_url(server, "github", "https://bot.example.com/") == (
        "https://bot.example.com/hooks/github"
    )
    ipv6 = Settings(server={"host": "::1", "port": 80}).server
    assert simulate.hook_url(ipv6, "x", None) == "http://[::1]:80/hooks/x"

"""``python -m bot explain``: the real CLI prints what would happen and touches nothing."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.conftest import SLACK_TOKEN, fixture_path

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """
[store]
url = "sqlite:///{db}"

[slack]
bot_token = "{token}"
api_url = "{slack}"

[sources.github]
provider = "github"
secret = "explain-secret"

[targets.eng]
slack = "#eng"

[targets.ops]
slack = "C0OPS"

[targets.hook]
discord_webhook = "https://discord.com/api/webhooks/1234/hook_SECRET_token"

[[routes]]
match = {{ source = "github", event = "pull_request.*", repo = "Codertocat/*" }}
to = ["eng", "ops"]

[[routes]]
match = {{ event = "push*" }}
to = ["ops", "hook"]
"""


async def explain(
    tmp_path: Path, slack_url: str, *args: str, config_text: str = CONFIG
) -> tuple[int, str, str]:
    config = tmp_path / "bot.toml"
    config.write_text(
        config_text.format(db=tmp_path / "bot.db", token=SLACK_TOKEN, slack=slack_url)
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "explain",
        "--config",
        str(config),
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_explain_shows_event_routes_targets_and_messages(tmp_path, fake_slack):
    payload = fixture_path("github/pull_request__opened.json")

    code, out, err = await explain(
        tmp_path,
        fake_slack.url,
        str(payload),
        "--source",
        "github",
        "--header",
        "X-GitHub-Event: pull_request",
    )

    assert code == 0, err
    assert "event 1 of 1: pull_request.opened" in out
    assert "repo=Codertocat/Hello-World" in out
    assert "route 1   source is github and event is pull_request.* and repo is Codertocat/*" in out
    assert "-> eng: slack #eng (lifecycle update+thread, template github/pull_request.j2)" in out
    assert "-> ops: slack C0OPS" in out
    assert out.count("first   🔵 Opened by Codertocat · changes → master") == 2
    assert out.count("title   #2 Update the README") == 2
    assert "text    This is a pretty simple change that we need to pull into master." in out
    assert fake_slack.calls == []
    assert not (tmp_path / "bot.db").exists()


async def test_explain_says_why_nothing_would_be_posted(tmp_path, fake_slack):
    # Saved from a sender, not a shipped sample: no samples.toml says its headers.
    star = tmp_path / "star.json"
    star.write_bytes(fixture_path("github/star__created.json").read_bytes())

    header = ("--header", "X-GitHub-Event: star")
    code, unrouted, _ = await explain(
        tmp_path, fake_slack.url, str(star), "--source", "github", *header
    )
    assert code == 0
    assert "routes    none match" in unrouted

    code, ignored, _ = await explain(tmp_path, fake_slack.url, str(star), "--source", "github")
    assert code == 0
    assert ignored.startswith("ignored:")
    assert "need --header" in ignored

    code, _, err = await explain(tmp_path, fake_slack.url, str(star), "--source", "gitlab")
    assert code == 2
    assert "no source 'gitlab' in the config (known: github)" in err
    assert "Traceback" not in err
    assert fake_slack.calls == []


async def test_explain_shows_a_discord_webhook_without_its_token(tmp_path, fake_slack):
    push = fixture_path("github/push.json")

    code, out, err = await explain(
        tmp_path,
        fake_slack.url,
        str(push),
        "--source",
        "github",
        "--header",
        "X-GitHub-Event: push",
    )

    assert code == 0, err
    assert "-> hook: discord https://discord.com/api/webhooks/1234/… (lifecycle" in out
    assert "SECRET" not in out


async def test_explain_reads_a_shipped_sample_with_its_own_headers(tmp_path, fake_slack):
    sample = ROOT / "bot/providers/github/samples/pull_request__opened.json"

    code, out, err = await explain(tmp_path, fake_slack.url, str(sample), "--source", "github")

    assert code == 0, err
    assert out.startswith("event 1 of 1: pull_request.opened\n")
    assert "Update the README with new information." in out
    assert "[?:]" not in out

"""Config: TOML file, BOT_ environment overrides, PORT/DATABASE_URL, one-line errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.config.settings import ConfigError, load_config
from tests.processes import free_port

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = """
[sources.github]
provider = "github"
secret = "from-file"

[targets.eng]
slack = "C0123ENG"

[[routes]]
match = { source = "github", repo = "acme/*" }
to = ["eng"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(text)
    return path


def test_environment_overrides_file_and_port_database_url_win(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_SOURCES__GITHUB__SECRET", '["new", "old"]')
    monkeypatch.setenv("BOT_SLACK__BOT_TOKEN", "xoxb-env")
    monkeypatch.setenv("BOT_SERVER__PORT", "9000")
    monkeypatch.setenv("PORT", "5555")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///elsewhere.db")

    settings = load_config(write(tmp_path, MINIMAL))

    assert settings.sources["github"].secrets == ["new", "old"]
    assert settings.sources["github"].provider == "github"  # deep merge kept the file's key
    assert settings.slack.bot_token == "xoxb-env"
    assert settings.server.port == 5555
    assert settings.store.url == "sqlite:///elsewhere.db"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            MINIMAL.replace('secret = "from-file"', 'secrett = "x"'),
            "sources.github.secrett: unknown key",
        ),
        (MINIMAL.replace('secret = "from-file"', ""), "sources.github: needs a secret or token"),
        (
            MINIMAL.replace('to = ["eng"]', 'to = ["ops"]'),
            "config error: routes[0].to names unknown target 'ops'",
        ),
        (MINIMAL + '\n[delivery]\nmax_age = "soon"\n', "delivery.max_age: bad duration"),
        (MINIMAL.replace('provider = "github"', 'provider = "gitea"'), "sources.github.provider"),
        ("[server\n", "not valid TOML"),
        (MINIMAL + '\n[store]\nurl = "mysql://u:pw@db/bot"\n', "store.url: unsupported store"),
        (MINIMAL + '\n[store]\nbusy_timeout = "-1s"\n', "store.busy_timeout"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(tmp_path, text, expected):
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text))
    message = str(raised.value)
    assert expected in message
    assert "\n" not in message


def test_a_list_in_a_variable_that_is_not_json_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_SOURCES__GITHUB__ALLOW_IPS", '["10.0.0.0/8",')
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, MINIMAL))
    message = str(caught.value)
    assert "BOT_SOURCES__GITHUB__ALLOW_IPS is not valid JSON" in message
    assert "\n" not in message


def test_missing_named_file_is_an_error(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"does not exist \(check --config\)"):
        load_config(tmp_path / "nope.toml")
    monkeypatch.setenv("BOT_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"does not exist \(check BOT_CONFIG\)"):
        load_config()


def test_unsigned_source_needs_explicit_consent(tmp_path):
    text = MINIMAL.replace('secret = "from-file"', "allow_unsigned = true")
    assert load_config(write(tmp_path, text)).sources["github"].allow_unsigned


def test_check_config_prints_routes_in_plain_words_and_fails_cleanly(tmp_path):
    good = write(tmp_path, MINIMAL)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(good), "check-config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "source is github and repo is acme/* -> eng" in result.stdout

    bad = tmp_path / "bad.toml"
    bad.write_text(MINIMAL.replace("secret =", "secrett ="))
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", "--config", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "sources.github.secrett" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_says_what_waits_and_who_hears_of_silence(tmp_path, capsys):
    text = (
        MINIMAL.replace(
            'secret = "from-file"', 'secret = "from-file"\nheartbeat = "30s"\nheartbeat_to = "eng"'
        )
        + '\n[[routes]]\nto = ["eng"]\nquiet_hours = "22:00-08:00"\ntimezone = "Europe/Berlin"\n'
        + '\n[[routes]]\nto = ["eng"]\ndigest = "hourly"\n'
    )
    assert main(["check-config", "--config", str(write(tmp_path, text))]) == 0
    said = capsys.readouterr().out
    assert (
        "every event -> eng; quiet 22:00-08:00 Europe/Berlin: below critical held for one "
        "digest at 08:00"
    ) in said
    assert "every event -> eng; all held for the hourly digest" in said
    assert "heartbeats:\n  github: silent for 30 s, eng hears of it" in said


def test_a_store_that_cannot_be_opened_is_one_line_naming_the_fix(tmp_path, capsys):
    config = write(tmp_path, f'[store]\nurl = "sqlite:///{tmp_path / "no-such-dir" / "bot.db"}"\n')

    assert main(["migrate", "--config", str(config)]) == 2

    said = capsys.readouterr().err.strip()
    assert said.startswith("error: cannot open the SQLite store") and "\n" not in said
    assert "the folder must exist and be writable" in said


def test_check_config_says_what_is_off_until_configured(tmp_path, capsys):
    assert main(["check-config", "--config", str(write(tmp_path, MINIMAL))]) == 0
    said = capsys.readouterr().out
    assert "off until configured: Slack /notify ([slack] signing_secret or app_token)" in said
    assert "the inspector at /inspect ([inspector] token)" in said

    with_inspector = MINIMAL + '\n[inspector]\ntoken = "long-random"\n'
    assert main(["check-config", "--config", str(write(tmp_path, with_inspector))]) == 0
    assert "/inspect" not in capsys.readouterr().out


@pytest.mark.parametrize("command", ["serve", "work", "check-config"])
def test_a_command_with_no_config_refuses_in_one_line_naming_bot_config(command):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    result = subprocess.run(
        [sys.executable, "-m", "bot", command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**env, "PORT": str(free_port())},
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "\n" not in line and "BOT_CONFIG" in line and "--config" in line
    assert result.stdout == ""


def test_sources_given_only_in_the_environment_are_a_config(monkeypatch, capsys):
    monkeypatch.delenv("BOT_CONFIG", raising=False)
    monkeypatch.setenv("BOT_SOURCES__GITHUB__PROVIDER", "github")
    monkeypatch.setenv("BOT_SOURCES__GITHUB__SECRET", "from-the-environment")

    assert main(["check-config"]) == 0
    assert "POST /hooks/github  (github)" in capsys.readouterr().out


@pytest.mark.slow
def test_serve_on_a_port_in_use_is_one_line_naming_the_fix(tmp_path):
    config = write(
        tmp_path, f'[server]\nport = {free_port()}\n[store]\nurl = "sqlite:///{tmp_path}/b.db"\n'
    )
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", load_config(config).server.port))
        taken.listen()
        result = subprocess.run(
            [sys.executable, "-m", "bot", "serve", "--config", str(config)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
            timeout=60,
        )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "address already in use (another process may hold the port" in result.stderr.lower()
    assert "listening" not in result.stderr  # said only once the port is really bound


def test_example_config_is_valid():
    settings = load_config(ROOT / "config.example.toml")
    assert "github" in settings.sources
    # Every example source runs as is, and each is flagged until given a real secret.
    assert settings.placeholder_secrets() == list(settings.sources)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('provider = "github"\ntoken = "t"', "github cannot use token; give secret"),
        (
            'provider = "alertmanager"\nsecret = "s"',
            "alertmanager cannot use secret; give token or username/password",
        ),
        ('provider = "alertmanager"\nusername = "u"', "username and password go together"),
        (
            'provider = "github"\nsecret = "s"\ngroup = false',
            "group applies only to alertmanager, grafana sources, not github",
        ),
        (
            'provider = "stripe"\nsecret = "s"\nsignature_header = "X-Sig"',
            "signature_header applies only to",
        ),
    ],
)
def test_source_keys_must_fit_the_provider(tmp_path, source, expected):
    text = f"[sources.x]\n{source}\n"
    with pytest.raises(ConfigError, match=expected):
        load_config(write(tmp_path, text))


def test_alerting_sources_group_by_default(tmp_path):
    text = '[sources.prom]\nprovider = "alertmanager"\ntoken = "t"\n'
    assert load_config(write(tmp_path, text)).sources["prom"].group is True

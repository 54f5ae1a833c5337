"""Empty credentials fail closed: a config error naming the key, never an HMAC keyed by "".

Security review finding 1: ``secret = ""``, an empty ``BOT_`` variable, ``""`` in a rotation
list and an empty basic-auth user all used to be accepted, so anyone could sign.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.config.settings import ConfigError, load_config
from tests.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
LONG = "a-long-random-secret-for-tests"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n{text}')
    return path


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[sources.gh]\nprovider = "github"\nsecret = ""', "sources.gh.secret:"),
        ('[sources.gh]\nprovider = "github"\nsecret = "  "', "sources.gh.secret:"),
        (f'[sources.gh]\nprovider = "github"\nsecret = ["{LONG}", ""]', "sources.gh.secret: [1]"),
        ('[sources.pay]\nprovider = "stripe"\nsecret = ""', "sources.pay.secret:"),
        (
            '[sources.prom]\nprovider = "alertmanager"\nusername = ""\npassword = "pw"',
            "sources.prom.username:",
        ),
        (
            '[sources.prom]\nprovider = "alertmanager"\nusername = "u"\npassword = " "',
            "sources.prom.password:",
        ),
        ('[sources.dd]\nprovider = "datadog"\ntoken = ""', "sources.dd.token:"),
        (
            '[sources.ci]\nprovider = "generic"\nsecret = ""\nsignature_header = "X-Sig"',
            "sources.ci.secret:",
        ),
        ('[slack]\nsigning_secret = " "', "slack.signing_secret:"),
        ('[discord]\npublic_key = "\\t"', "discord.public_key:"),
        ('[inspector]\ntoken = "  "', "inspector.token:"),
    ],
)
def test_an_empty_or_blank_credential_in_the_file_is_an_error_naming_the_key(tmp_path, text, key):
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text))
    assert f"{key} is empty or whitespace" in str(raised.value), raised.value


@pytest.mark.parametrize(
    "variable",
    [
        "BOT_SOURCES__GH__SECRET",
        "BOT_SLACK__SIGNING_SECRET",
        "BOT_DISCORD__PUBLIC_KEY",
        "BOT_INSPECTOR__TOKEN",
    ],
)
def test_check_config_refuses_an_empty_credential_variable_naming_it(
    tmp_path, monkeypatch, capsys, variable
):
    config = write(
        tmp_path,
        f'[sources.gh]\nprovider = "github"\nsecret = "{LONG}"\n'
        f'[slack]\nsigning_secret = "{LONG}"\n[inspector]\ntoken = "{LONG}"\n',
    )
    monkeypatch.setenv(variable, "")

    assert main(["check-config", "--config", str(config)]) == 2

    said = capsys.readouterr().err
    assert f"{variable} is empty" in said and "\n" not in said.strip()


def test_a_blank_secret_in_a_variable_list_names_the_variable(tmp_path, monkeypatch):
    config = write(tmp_path, f'[sources.gh]\nprovider = "github"\nsecret = "{LONG}"\n')
    monkeypatch.setenv("BOT_SOURCES__GH__SECRET", f'["{LONG}", " "]')
    with pytest.raises(ConfigError, match=r"sources\.gh\.secret: \[1\] .*BOT_SOURCES__GH__SECRET"):
        load_config(config)


def test_a_short_secret_is_a_start_up_warning(tmp_path, capsys):
    config = write(tmp_path, '[sources.gh]\nprovider = "github"\nsecret = "hunter2"\n')
    assert main(["check-config", "--config", str(config)]) == 0
    assert "source 'gh' has a secret or token under 16 bytes" in capsys.readouterr().out

    config = write(tmp_path, f'[sources.gh]\nprovider = "github"\nsecret = "{LONG}"\n')
    assert main(["check-config", "--config", str(config)]) == 0
    assert "under 16 bytes" not in capsys.readouterr().out


@pytest.mark.slow
def test_serve_with_an_empty_secret_variable_refuses_to_start(tmp_path):
    """Before the fix the bot started, its HMAC keyed by ``""``."""
    port = free_port()
    config = write(tmp_path, f'[sources.github]\nprovider = "github"\nsecret = "{LONG}"\n')
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "serve"],
        cwd=ROOT,
        env={**os.environ, "PORT": str(port), "BOT_SOURCES__GITHUB__SECRET": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, err = bot.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        bot.kill()
        bot.communicate()
        pytest.fail("serve started with an empty secret: anyone could sign with the key ''")
    assert bot.returncode == 2
    assert "BOT_SOURCES__GITHUB__SECRET is empty" in err


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (
            '[sources.pd]\nprovider = "pagerduty"\nsecret = "s"\n'
            'api_url = "http://127.0.0.1:1"\napi_token = "tok\\n"',
            "sources.pd.api_token:",
        ),
        (
            '[sources.prom]\nprovider = "alertmanager"\nallow_unsigned = true\n'
            'api_url = "http://127.0.0.1:1"\napi_password = " pw"',
            "sources.prom.api_password:",
        ),
    ],
)
def test_an_api_token_with_a_trailing_newline_is_an_error_naming_the_key(tmp_path, text, key):
    """Read from a secret file, a token keeps its newline: every click would fail."""
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text))
    assert f"{key} has whitespace around it or a control character" in str(raised.value)

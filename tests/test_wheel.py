"""A wheel installed without ``-e`` carries everything the bot reads besides its code.

The wheel is built from this checkout and installed into a fresh virtual environment,
whose interpreter runs from an empty folder, so ``bot`` can only be the installed copy:
every sample of every provider is explained for Slack and Discord with the packaged
templates, ``simulate --list`` finds the samples, the SQLite store finds its schema and
the inspector its page. Dependencies come from this interpreter's site-packages through a
``.pth`` path list, which adds their folders without running the ``.pth`` files there (an
editable install of another checkout among them would otherwise win the import).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.providers import PROVIDERS
from bot.store.sqlite.migrations import NEWEST
from tests.conftest import POSTGRES_URL, fixture_bytes, fresh_schema, github_headers
from tests.processes import free_port, write_config

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]

ROOT = Path(__file__).resolve().parent.parent
DATA_SUFFIXES = {".sql", ".j2", ".json", ".md", ".toml", ".typed"}

# What a provider ignores by default is posted only by a route naming it: the first
# route names them all, so that their templates are rendered from the wheel too.
IGNORED = sorted({entry for p in PROVIDERS.values() for entry in p.ignored_by_default})
# The example config's sources (one per provider, as a user starts), every event to a
# Slack and a Discord target.
TARGETS = f"""
[targets.room]
slack = "#wheel"

[targets.hook]
discord_webhook = "https://discord.com/api/webhooks/1234/wheel-token"

[targets.eng]
slack = "#wheel-silence"      # the example sources' heartbeat_to

[[routes]]
match.event = {json.dumps(IGNORED)}
to = ["room", "hook"]

[[routes]]
to = ["room", "hook"]
"""
DELIVERY = re.compile(r"^  -> \S+: (\w+) .*\(lifecycle \S+, template (.+)\)$")


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, ROOT, cwd=dist)
    (built,) = dist.glob("bot-*.whl")
    return built


@pytest.fixture(scope="session")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", "--without-pip", home, cwd=home)
    python = home / "bin" / "python"
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        wheel,
        cwd=home,
    )
    site = Path(
        _run(
            python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=home
        ).strip()
    )
    # This interpreter's site folders only: a folder on sys.path through a .pth (an
    # editable install's checkout) must not be, or ``bot`` could come from there.
    ours = dict.fromkeys(p for p in sys.path if Path(p).name in ("site-packages", "dist-packages"))
    (site / "_dependencies.pth").write_text("".join(f"{path}\n" for path in ours))
    return home


def _clean_env(cwd: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "BOT_"))}
    env["PYTHONNOUSERSITE"] = "1"
    env["HOME"] = str(cwd)
    return env


def test_the_wheel_holds_the_package_data_and_the_templates(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    data = [p for p in (ROOT / "bot").rglob("*") if p.is_file() and p.suffix in DATA_SUFFIXES]
    expected = {p.relative_to(ROOT).as_posix() for p in data}
    templates = (ROOT / "templates").rglob("*.j2")
    expected |= {"bot/" + p.relative_to(ROOT).as_posix() for p in templates}
    assert expected - names == set()
    assert "bot/ops/inspector/page.html.j2" in names
    assert "bot/templates/default.j2" in names


def test_the_installed_wheel_renders_every_sample_for_every_platform(
    venv: Path, tmp_path: Path
) -> None:
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    config = tmp_path / "bot.toml"
    config.write_text(example[: example.index("\n[targets.")] + TARGETS, encoding="utf-8")
    script = tmp_path / "wheel_check.py"
    shutil.copy(ROOT / "tests" / "wheel_check.py", script)
    python = venv / "bin" / "python"
    env = _clean_env(tmp_path)

    report: dict[str, Any] = json.loads(_run(python, "-I", script, config, cwd=tmp_path, env=env))

    assert Path(report["bot"]).is_relative_to(venv), report["bot"]
    assert report["with_samples"] == report["providers"]
    explained = {s["provider"] for s in report["samples"]}
    assert explained == set(report["providers"]), "the example config lacks a provider"
    for sample in report["samples"]:
        name, output = f"{sample['provider']} {sample['event']}", sample["output"]
        assert sample["code"] == 0, f"{name}:\n{output}"
        deliveries = [m.groups() for m in map(DELIVERY.match, output.splitlines()) if m]
        if sample["provider"] == "heartbeat":  # a ping is a sign of life, never posted
            assert deliveries == [] and "  heartbeat " in output, output
            continue
        assert {platform for platform, _ in deliveries} == {"slack", "discord"}, output
        for platform, template in deliveries:
            assert template.endswith(".j2") and not template.startswith("none"), (
                f"{name} on {platform}: template {template}"
            )
        assert "event received; template" not in output, output
    assert report["migrate"] == {
        "code": 0,
        "output": f"store ready: sqlite created schema v{NEWEST}\n",
    }

    listing = _run(
        python, "-I", "-m", "bot", "--config", config, "simulate", "--list", cwd=tmp_path, env=env
    )
    for sample in report["samples"]:
        assert sample["event"] in listing
    assert "usage" in _run(venv / "bin" / "chatops-bot", "--help", cwd=tmp_path, env=env)


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


async def wait_until_up(url: str, web: subprocess.Popen[bytes], log: Path) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            assert web.poll() is None, log.read_text()
            try:
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(log.read_text())


@pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL: set BOT_TEST_POSTGRES_URL")
async def test_the_procfile_deploys_the_wheel_with_only_environment_variables(
    venv: Path, tmp_path: Path, slack
) -> None:
    """What a platform does: ``release``, then ``web``, configured by the environment."""
    fake, slack_port = slack
    write_config(tmp_path, slack_port)  # bot.toml in the app's folder, as a repo keeps it
    processes = procfile()
    port = free_port()
    log = tmp_path / "web.log"
    async with fresh_schema(POSTGRES_URL) as database_url:
        env = {
            **_clean_env(tmp_path),
            "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "BOT_CONFIG": "bot.toml",
            "PORT": str(port),
            "DATABASE_URL": database_url,
        }
        released = subprocess.run(
            ["sh", "-c", processes["release"]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert released.returncode == 0, released.stderr
        assert released.stdout.startswith("store ready: postgresql created schema v")
        with log.open("wb") as out:
            web = subprocess.Popen(
                ["sh", "-c", f"exec {processes['web']}"],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            await wait_until_up(f"http://127.0.0.1:{port}", web, log)
            body = fixture_bytes("github/pull_request__opened.json")
            async with aiohttp.ClientSession() as session:
                answer = await session.post(
                    f"http://127.0.0.1:{port}/hooks/github",
                    data=body,
                    headers=github_headers(body, "pull_request", "procfile-1"),
                )
                assert answer.status == 200, await answer.text()
            [post] = await fake.wait_for(1, timeout=30)
        finally:
            web.terminate()
            web.wait(30)

    assert post.body["channel"] == "#eng"
    assert "Update the README with new information." in json.dumps(post.body)
    said = log.read_text()
    assert "source github (github): senders POST to /hooks/github" in said
    assert "error" not in said.lower(), said

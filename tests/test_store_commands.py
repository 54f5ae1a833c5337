"""Commands that read or change the store need one: none is made up in the wrong folder,
and ``migrate`` says what it did to the schema."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.store.postgres.migrations import migrations
from bot.store.sqlite.migrations import NEWEST
from tests.test_sqlite_layout import EARLIER_INBOX

ROOT = Path(__file__).resolve().parent.parent

STORE_COMMANDS = [
    ["dead", "list"],
    ["why", "12"],
    ["replay", "12"],
    ["replay", "--all"],
    ["mute", "source=github", "everywhere", "for", "1h"],
    ["unmute", "m1"],
    ["route", "source=github", "to", "eng"],
    ["unroute", "r1"],
    ["list"],
    ["status"],
]


def config_with_store(tmp_path: Path, db: Path) -> Path:
    config = tmp_path / "bot.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{db}"\n', encoding="utf-8")
    return config


@pytest.mark.parametrize("command", STORE_COMMANDS, ids=" ".join)
def test_a_store_command_without_a_store_names_the_path_and_config(tmp_path, capsys, command):
    db = tmp_path / "elsewhere" / "bot.db"
    db.parent.mkdir()

    code = main([*command, "--config", str(config_with_store(tmp_path, db))])

    said = capsys.readouterr()
    assert code == 2
    assert said.out == ""
    line = said.err.strip()
    assert "\n" not in line and line.startswith("error: no SQLite store at")
    assert str(db) in line and "--config" in line
    assert not db.exists()  # nothing made up to answer "no dead letters" from


def test_run_in_a_folder_without_the_store_it_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the default store is bot.db in the working folder

    assert main(["dead", "list"]) == 2

    assert str(tmp_path / "bot.db") in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_migrate_creates_then_finds_the_schema_current(tmp_path, capsys):
    db = tmp_path / "bot.db"
    config = str(config_with_store(tmp_path, db))

    assert main(["migrate", "--config", config]) == 0
    assert capsys.readouterr().out == f"store ready: sqlite created schema v{NEWEST}\n"
    assert main(["migrate", "--config", config]) == 0
    assert capsys.readouterr().out == f"store ready: sqlite already at v{NEWEST}\n"
    assert main(["dead", "list", "--config", config]) == 0  # the store is there now
    assert capsys.readouterr().out == "no dead letters\n"


def test_migrate_upgrades_a_store_of_an_earlier_release(tmp_path, capsys):
    db = tmp_path / "bot.db"
    with sqlite3.connect(db) as conn:  # request bodies still in the request rows
        conn.executescript(EARLIER_INBOX)
    conn.close()
    config = str(config_with_store(tmp_path, db))

    assert main(["migrate", "--config", config]) == 0
    assert capsys.readouterr().out == f"store ready: sqlite upgraded v0 -> v{NEWEST}\n"
    assert main(["migrate", "--config", config]) == 0
    assert capsys.readouterr().out == f"store ready: sqlite already at v{NEWEST}\n"


async def migrate(url: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "migrate",
        cwd=ROOT,
        env={**env, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_migrate_on_postgres_says_what_it_did(postgres_url):
    newest = migrations()[-1].version

    assert await migrate(postgres_url) == f"store ready: postgresql created schema v{newest}\n"
    assert await migrate(postgres_url) == f"store ready: postgresql already at v{newest}\n"

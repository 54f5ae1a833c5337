"""SQLite's numbered migrations, on a store as the last release without them wrote it.

``fixtures/store/release-c8769fe.db`` was written through that release's ``Store`` API
(see the README there): such a file has ``user_version`` 0 and every table already.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from bot.cli.main import main
from bot.store import Migrated, migrate, open_store
from bot.store.sqlite.migrations import NEWEST

RELEASE_STORE = Path(__file__).resolve().parent / "fixtures" / "store" / "release-c8769fe.db"
NOW = 1_700_000_000.0


def release_store(tmp_path: Path) -> Path:
    path = tmp_path / "bot.db"
    shutil.copyfile(RELEASE_STORE, path)
    return path


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        version: int = db.execute("PRAGMA user_version").fetchone()[0]
    db.close()
    return version


async def test_a_store_of_the_release_before_migrations_upgrades_and_keeps_its_rows(tmp_path):
    path = release_store(tmp_path)
    assert user_version(path) == 0

    store = await open_store(f"sqlite:///{path}")
    try:
        done, waiting = await store.get_inbox(1), await store.get_inbox(2)
        assert (done.delivery_id, done.body, done.headers) == (
            "push-1",
            b'{"n": 1}',
            {"x-github-event": "push"},
        )
        assert (waiting.delivery_id, waiting.body) == ("push-2", b'{"n": 2}' * 200)  # LZ4
        [event] = await store.events_of(1)
        assert (event.id, event.thread_key, event.detail) == (
            "1.0",
            "repo-main",
            {"targets": ["eng"]},
        )
        [delivery] = await store.deliveries_for("1")
        assert (delivery.id, delivery.state, delivery.ref) == ("1.0/eng", "sent", {"ts": "1.2"})
        [attempt] = await store.attempts_of([delivery.id])
        assert (attempt.outcome, attempt.duration) == ("sent", 1.0)
        [mute] = await store.live_mutes()
        assert (mute.selector, mute.reason, mute.everywhere) == (
            {"source": ["github"]},
            "noisy",
            False,
        )
        assert await store.thread_states(["repo-main"]) == {"repo-main": "open"}

        [claimed] = await store.claim_inbox(10, NOW, 30.0)  # the waiting request still waits
        assert claimed.id == 2
        assert await store.accept("github", "push-1", {}, b"again", NOW) == (1, True)
        new_id, duplicate = await store.accept("github", "push-3", {}, b'{"n": 3}', NOW)
        assert (new_id, duplicate) == (3, False)
        assert (await store.get_inbox(new_id)).body == b'{"n": 3}'
    finally:
        await store.close()
    assert user_version(path) == NEWEST


def schema(path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    db.close()
    return rows


async def test_migrate_says_what_it_did_to_a_store_of_that_release(tmp_path):
    path = release_store(tmp_path)

    assert await migrate(f"sqlite:///{path}") == Migrated(0, NEWEST)
    assert await migrate(f"sqlite:///{path}") == Migrated(NEWEST, NEWEST)
    assert await migrate(f"sqlite:///{tmp_path / 'fresh.db'}") == Migrated(None, NEWEST)
    assert schema(path) == schema(tmp_path / "fresh.db")  # the same tables as a new store


def test_python_m_bot_migrate_says_what_it_did(tmp_path, capsys):
    fresh, released = tmp_path / "fresh.db", release_store(tmp_path)
    said = []
    for path in (fresh, fresh, released):
        config = tmp_path / "bot.toml"
        config.write_text(f'[store]\nurl = "sqlite:///{path}"\n')
        assert main(["migrate", "--config", str(config)]) == 0
        said.append(capsys.readouterr().out.strip())

    assert said == [
        f"store ready: sqlite created schema v{NEWEST}",
        f"store ready: sqlite already at v{NEWEST}",
        f"store ready: sqlite upgraded v0 -> v{NEWEST}",
    ]

"""No input makes the server answer 500: one table per provider, over a real socket.

Each provider gets the same hostile requests: a wrong secret, a stale timestamp (where
its scheme has one), a missing signature header, a body cut short, wrong content types,
an empty body, broken encodings, JSON of the wrong shape and an event type nobody
renders. The expected answers are the HTTP contract: 401 for credentials, 400 for
bodies that are not JSON, 2xx (recorded as ignored) for JSON we do not render.
"""

from __future__ import annotations

import json
import time

import pytest

from bot.intake.web import STORE
from bot.providers import PROVIDERS
from tests.conftest import base_config, eventually
from tests.senders import SENDERS, Sender

UNKNOWN = b'{"type": "never.seen", "action": "teleported"}'
"""JSON of a shape no sender sends: known senders ignore it, a generic source shows it."""


def _without(headers: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in names}


def _with_type(headers: dict[str, str], content_type: str) -> dict[str, str]:
    return {**_without(headers, ("content-type",)), "Content-Type": content_type}


def requests_for(sender: Sender) -> dict[str, tuple[bytes, dict[str, str], int]]:
    """case -> (body, headers, expected status)."""
    now = time.time()
    good = sender.body
    # A ping URL does not read the body (none, or a cron job's output): any body is a ping.
    bad_body = 200 if PROVIDERS[sender.provider].ping else 400
    cut = good[: len(good) // 2]
    signed = sender.signature(good, now, sender.source)
    cases = {
        "valid": (good, sender.sign(good, now), 200),
        "wrong secret": (good, sender.sign(good, now, sender.wrong_source()), 401),
        "missing signature header": (
            good,
            _without(sender.sign(good, now), tuple(name.lower() for name in signed)),
            401,
        ),
        "body cut short, signed as sent": (cut, sender.sign(cut, now), bad_body),
        "body cut short, signed whole": (
            cut,
            {**sender.sign(cut, now), **signed},
            401 if sender.covers_body(now) else bad_body,
        ),
        "text/plain content type": (good, _with_type(sender.sign(good, now), "text/plain"), 200),
        "form content type, JSON body": (
            good,
            _with_type(sender.sign(good, now), "application/x-www-form-urlencoded"),
            bad_body,
        ),
        "empty body": (b"", sender.sign(b"", now), bad_body),
        "not UTF-8": (b'{"a": "\xff"}', sender.sign(b'{"a": "\xff"}', now), bad_body),
        "nested too deep": (b"[" * 100_000, sender.sign(b"[" * 100_000, now), bad_body),
        "JSON array": (b"[1, 2]", sender.sign(b"[1, 2]", now), 200),
        "JSON null": (b"null", sender.sign(b"null", now), 200),
        "unknown event type": (UNKNOWN, sender.sign(UNKNOWN, now), 200),
    }
    if sender.signs_time(now):
        cases["stale timestamp"] = (good, sender.sign(good, now - 3600), 401)
    return cases


@pytest.mark.parametrize("provider", sorted(SENDERS))
async def test_every_hostile_request_gets_a_contract_answer_never_500(tmp_path, make_bot, provider):
    sender = SENDERS[provider]
    config = base_config(tmp_path)
    config["sources"] = {"hook": sender.source}
    bot = await make_bot(config)
    cases = requests_for(sender)

    answers = {}
    accepted = set()
    secrets = [v for k, v in sender.source.items() if k in ("secret", "token", "password")]
    for case, (body, headers, _) in cases.items():
        response = await bot.post("/hooks/hook", data=body, headers=headers)
        answers[case] = response.status
        assert response.content_type == "application/json", case
        said = await response.text()
        assert not any(secret in said for secret in secrets), case  # never echo a secret
        if (answer := json.loads(said))["status"] == "accepted":
            accepted.add(answer["id"])

    assert answers == {case: expected for case, (_, _, expected) in cases.items()}
    store = bot.app[STORE]

    async def all_processed():
        counts = await store.counts()
        done = counts.get("inbox_ignored", 0) + counts.get("inbox_done", 0)
        return done == len(accepted) and not counts.get("inbox_dead")

    assert await eventually(all_processed), await store.counts()

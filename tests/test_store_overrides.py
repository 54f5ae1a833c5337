"""The store's mutes, reroutes and conversation queries, as any backend must answer them."""

from __future__ import annotations

import asyncio

import pytest

from bot.store import DeliveryRecord, EventRecord, MuteRecord, RerouteRecord, open_store


@pytest.fixture
async def store(store_url):
    opened = await open_store(store_url)
    yield opened
    await opened.close()


def mute(**changes) -> MuteRecord:
    fields = {
        "selector": {"source": ["github"]},
        "platform": "slack",
        "channel": "CENG",
        "channel_name": "eng",
        "everywhere": False,
        "reason": "deploy",
        "creator": "slack:U1 (alice)",
        "created_at": 100.0,
        "expires_at": 200.0,
    }
    return MuteRecord(**{**fields, **changes})


def event(inbox: int, key: str, status: str | None) -> EventRecord:
    return EventRecord(
        f"{inbox}.0", inbox, "github", "pull_request.opened", "info", status, "t", key, 1.0, "", {}
    )


async def test_a_mute_round_trips_and_ends_exactly_once(store):
    mute_id = await store.add_mute(mute(threads=["k1"]))
    assert (await store.get_mute(mute_id)).threads == ["k1"]
    assert [m.id for m in await store.live_mutes()] == [mute_id]

    ends = await asyncio.gather(*(store.end_mute(mute_id, 150.0, "x", "unmuted") for _ in range(5)))

    [ended] = [e for e in ends if e is not None]
    assert (ended.ended_at, ended.end_reason, ended.selector) == (
        150.0,
        "unmuted",
        {"source": ["github"]},
    )
    assert await store.live_mutes() == []
    assert await store.end_mute(mute_id, 160.0, "x", "unmuted") is None


async def test_reroutes_round_trip(store):
    record = RerouteRecord({"repo": ["a/*"]}, "", "slack", "CWEB", "#web", "cli:ops", 1.0, None)
    reroute_id = await store.add_reroute(record)
    assert (await store.get_reroute(reroute_id)).address == "CWEB"
    assert (await store.end_reroute(reroute_id, 2.0, "cli:ops")).ended_at == 2.0
    assert await store.live_reroutes() == []


async def test_muted_deliveries_are_kept_unclaimed_and_counted_per_mute(store):
    mute_id = await store.add_mute(mute())
    inbox, _ = await store.accept("github", "d1", {}, b"{}", 1.0)
    muted = DeliveryRecord(
        "1.0/eng",
        "1.0",
        "eng",
        "slack",
        "#eng",
        {"title": "t"},
        state="muted",
        muted_by=mute_id,
        last_error=f"muted by m{mute_id}",
    )
    await store.record_outcome(inbox, [event(inbox, "k", "open")], [muted], 1.0)

    assert await store.claim_deliveries(10, 10.0, 60.0) == []
    assert [d.id for d in await store.suppressed_by(mute_id)] == ["1.0/eng"]
    assert (await store.counts())["deliveries_muted"] == 1


async def test_conversations_open_and_their_latest_state(store):
    for number, (key, status) in enumerate(
        [("a", "open"), ("b", "open"), ("a", "resolved"), ("c", None), ("d", "acknowledged")], 1
    ):
        body = b"[%d]" % number  # an identical body would be a duplicate request
        inbox, _ = await store.accept("github", f"d{number}", {}, body, float(number))
        await store.record_outcome(inbox, [event(inbox, key, status)], [], float(number))

    assert sorted(e.thread_key for e in await store.open_threads(0.0)) == ["b", "d"]
    assert await store.thread_states(["a", "b", "zzz"]) == {"a": "resolved", "b": "open"}


async def test_notices_enter_the_outbox(store):
    notice = DeliveryRecord("m1.started/eng", "m1.started", "eng", "slack", "#eng", {"title": "x"})
    await store.enqueue([notice], 5.0)
    [claimed] = await store.claim_deliveries(10, 6.0, 60.0)
    assert claimed.id == "m1.started/eng"

"""The store contract, run against every backend (``store_url``: SQLite, then PostgreSQL).

What one backend promises the pipeline, the other must too; tests that only make sense
for a shared store (two instances on one database) are at the end.
"""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg
import pytest

from bot.store import (
    ActionRecord,
    Activity,
    ActivityFilter,
    ConversationRecord,
    DeliveryRecord,
    DigestRecord,
    EventRecord,
    Migrated,
    Store,
    migrate,
    open_store,
)
from bot.store.postgres.migrations import migrations
from bot.store.sqlite import migrations as sqlite_migrations

NOW = 1_700_000_000.0
LEASE = 30.0


@pytest.fixture
async def store(store_url):
    opened = await open_store(store_url)
    yield opened
    await opened.close()


def event(inbox_id: int, n: int = 0, **fields) -> EventRecord:
    values = {
        "id": f"{inbox_id}.{n}",
        "inbox_id": inbox_id,
        "source": "github",
        "type": "issues.opened",
        "severity": "info",
        "status": "open",
        "title": f"issue {inbox_id}",
        "thread_key": f"issue-{inbox_id}",
        "occurred_at": NOW,
        "outcome": "routed",
        "detail": {"targets": ["eng"]},
    }
    return EventRecord(**{**values, **fields})


def delivery(event_id: str, target: str = "eng", **fields) -> DeliveryRecord:
    values = {
        "id": f"{event_id}/{target}",
        "event_id": event_id,
        "target": target,
        "platform": "slack",
        "address": "C1",
        "message": {"title": f"message for {event_id}"},
        "thread_key": "k",
        "status": "open",
        "occurred_at": NOW,
        "created_at": NOW,
    }
    return DeliveryRecord(**{**values, **fields})


async def accepted(store: Store, name: str) -> int:
    inbox_id, duplicate = await store.accept(
        "github", name, {"x-github-event": "issues"}, b'{"d": "%s"}' % name.encode(), NOW
    )
    assert not duplicate
    return inbox_id


async def outbox(store: Store, count: int = 1) -> list[str]:
    """``count`` normalized requests with one delivery each; returns the delivery ids."""
    ids = []
    for n in range(count):
        inbox_id = await accepted(store, f"d{n}")
        record = event(inbox_id)
        await store.record_outcome(inbox_id, [record], [delivery(record.id)], NOW)
        ids.append(f"{record.id}/eng")
    return ids


async def claimed_ids(store: Store, now: float = NOW, limit: int = 100) -> list[str]:
    return [d.id for d in await store.claim_deliveries(limit, now, LEASE)]


async def test_an_alias_leads_to_the_newest_conversation_kept_under_it(store):
    """A pull request's head commit names its thread; a newer pull request on the same
    commit (reopened as another) wins, and an unknown commit names none."""
    for n, (thread, occurred) in enumerate([("github:a/b#pr1", NOW), ("github:a/b#pr2", NOW + 5)]):
        inbox_id = await accepted(store, f"alias-{n}")
        record = event(
            inbox_id, thread_key=thread, thread_alias="github:a/b@abc", occurred_at=occurred
        )
        await store.record_outcome(inbox_id, [record], [], NOW)
    assert await store.thread_of_alias("github:a/b@abc") == "github:a/b#pr2"
    assert await store.thread_of_alias("github:a/b@other") is None
    [kept] = await store.events_of(inbox_id)
    assert kept.thread_alias == "github:a/b@abc"


# -- intake -------------------------------------------------------------------------------


async def test_accept_stores_the_raw_request_and_spots_duplicates(store):
    body = b'{"zen": "Keep it logically awesome."}'
    inbox_id, duplicate = await store.accept("github", "d-1", {"x-github-event": "ping"}, body, NOW)
    again = await store.accept("github", "d-1", {"x-github-event": "ping"}, body, NOW + 1)
    other_source = await store.accept("stripe", "d-1", {}, b"{}", NOW)

    assert duplicate is False
    assert again == (inbox_id, True)
    assert other_source[0] != inbox_id and other_source[1] is False
    item = await store.get_inbox(inbox_id)
    assert (item.source, item.delivery_id, item.body) == ("github", "d-1", body)
    assert item.headers == {"x-github-event": "ping"} and item.received_at == NOW
    assert await store.get_inbox(inbox_id + 1000) is None


async def test_the_same_body_under_a_new_delivery_id_is_a_duplicate(store):
    """A captured request replayed with a fresh, unsigned delivery id is the same request."""
    body = b'{"action": "opened", "issue": {"number": 1}}'
    first = await store.accept("github", "d-1", {}, body, NOW)
    replayed = await store.accept("github", "d-forged", {}, body, NOW + 1)
    together = await asyncio.gather(
        *(store.accept("github", f"d-burst-{n}", {}, b'{"burst": 1}', NOW) for n in range(5))
    )
    elsewhere = await store.accept("deploys", "d-9", {}, body, NOW)

    assert first[1] is False and replayed == (first[0], True)
    assert sum(not duplicate for _, duplicate in together) == 1
    assert len({inbox_id for inbox_id, _ in together}) == 1
    assert elsewhere[1] is False  # another source's identical body is its own request
    assert (await store.counts())["inbox_new"] == 3


async def test_concurrent_requests_get_one_id_per_delivery_and_duplicates_point_at_it(store):
    names = [f"d{n % 40}" for n in range(60)]  # 20 repeats, some in the same batch
    answers = await asyncio.gather(
        *(store.accept("github", name, {}, name.encode(), NOW) for name in names)
    )

    ids_by_name: dict[str, set[int]] = {}
    for name, (inbox_id, _) in zip(names, answers, strict=True):
        ids_by_name.setdefault(name, set()).add(inbox_id)
    assert all(len(ids) == 1 for ids in ids_by_name.values())
    assert len({next(iter(ids)) for ids in ids_by_name.values()}) == 40
    assert sum(not duplicate for _, duplicate in answers) == 40
    assert (await store.counts())["inbox_new"] == 40


async def test_a_burst_gets_one_id_per_delivery_and_the_first_arrival_is_the_new_one(store):
    # 150 requests wait for the same commit: inserted in chunks of 64, 64, 16, 4 and 2,
    # with redeliveries inside a chunk, across chunks and of a request stored earlier.
    await store.accept("github", "d7", {}, b"{}", NOW)
    names = [f"d{n % 97}" for n in range(150)]
    answers = await asyncio.gather(
        *(store.accept("github", name, {}, name.encode(), NOW) for name in names)
    )

    seen: dict[str, int] = {}
    for name, (inbox_id, duplicate) in zip(names, answers, strict=True):
        first = name not in seen
        assert seen.setdefault(name, inbox_id) == inbox_id
        assert duplicate == (not first or name == "d7")
    assert len(set(seen.values())) == 97
    assert (await store.counts())["inbox_new"] == 97


async def test_a_caller_that_gives_up_does_not_take_the_others_down(store):
    waiting = [
        asyncio.ensure_future(store.accept("github", f"c{n}", {}, b"[%d]" % n, NOW))
        for n in range(5)
    ]
    await asyncio.sleep(0)
    waiting[0].cancel()
    answers = await asyncio.gather(*waiting[1:])
    assert len(answers) == 4 and all(not duplicate for _, duplicate in answers)
    assert (await store.counts())["inbox_new"] >= 4


async def test_a_request_that_cannot_be_stored_fails_alone(store):
    # A lone surrogate (JSON allows "\ud800") cannot be encoded: only its request fails.
    answers = await asyncio.gather(
        store.accept("github", "good-1", {}, b"[1]", NOW),
        store.accept("github", "bad-\ud800", {}, b"[2]", NOW),
        store.accept("github", "good-2", {}, b"[3]", NOW),
        return_exceptions=True,
    )

    assert isinstance(answers[1], Exception)
    assert [answer[1] for answer in (answers[0], answers[2])] == [False, False]
    assert (await store.counts())["inbox_new"] == 2


async def test_text_with_nul_characters_is_kept_readable(store):
    # PostgreSQL text refuses NUL; payload-derived strings (ids, titles) may carry one.
    inbox_id, _ = await store.accept("github", "nul\x00id", {}, b"\x00", NOW)
    record = event(inbox_id, title="broken\x00title")
    await store.record_outcome(inbox_id, [record], [delivery(record.id)], NOW)

    stored = await store.get_event(record.id)
    assert stored.title.startswith("broken") and stored.title.endswith("title")
    assert (await store.get_inbox(inbox_id)).body == b"\x00"


async def test_rejections_are_counted_per_source_and_reason(store):
    await store.count_rejection("github", "bad signature", NOW)
    await store.count_rejection("github", "bad signature", NOW + 5)
    await store.count_rejection("stripe", "stale timestamp", NOW + 1)

    rows = {(r["source"], r["reason"]): r for r in await store.rejections()}
    assert rows[("github", "bad signature")]["count"] == 2
    assert rows[("github", "bad signature")]["last_at"] == NOW + 5
    assert rows[("stripe", "stale timestamp")]["count"] == 1


# -- normalize stage ----------------------------------------------------------------------


async def test_claimed_requests_are_leased_until_the_lease_runs_out(store):
    first = await accepted(store, "a")
    second = await accepted(store, "b")

    claimed = await store.claim_inbox(10, NOW, LEASE)
    assert [item.id for item in claimed] == [first, second]
    assert [item.attempts for item in claimed] == [1, 1]
    assert await store.claim_inbox(10, NOW + LEASE - 1, LEASE) == []

    again = await store.claim_inbox(1, NOW + LEASE + 1, LEASE)
    assert [(item.id, item.attempts) for item in again] == [(first, 2)]


async def test_an_outcome_stores_events_and_deliveries_once(store):
    inbox_id = await accepted(store, "a")
    records = [event(inbox_id, 0), event(inbox_id, 1, title="second")]
    deliveries = [delivery(r.id) for r in records]
    await store.record_outcome(inbox_id, records, deliveries, NOW)
    # An instance whose lease ran out may record the same outcome again: nothing doubles.
    await store.record_outcome(inbox_id, records, deliveries, NOW + 1)

    assert await store.get_event(f"{inbox_id}.1") == records[1]
    assert [d.id for d in await store.deliveries_for(str(inbox_id))] == [
        f"{inbox_id}.0/eng",
        f"{inbox_id}.1/eng",
    ]
    counts = await store.counts()
    assert counts["inbox_done"] == 1 and counts["deliveries_pending"] == 2
    assert await store.claim_inbox(10, NOW + LEASE + 1, LEASE) == []


async def test_events_of_a_request_come_in_order(store):
    inbox_id = await accepted(store, "a")
    records = [event(inbox_id, n, title=f"event {n}") for n in range(3)]
    await store.record_outcome(inbox_id, records, [], NOW)

    assert await store.events_of(inbox_id) == records
    assert await store.events_of(inbox_id + 1000) == []


async def test_a_request_without_events_is_ignored(store):
    inbox_id = await accepted(store, "ping")
    await store.record_outcome(inbox_id, [], [], NOW)
    assert (await store.counts())["inbox_ignored"] == 1


async def test_a_failed_request_is_a_dead_letter_that_replays_with_a_clean_slate(store):
    inbox_id = await accepted(store, "poison")
    record = event(inbox_id)
    await store.record_outcome(inbox_id, [record], [delivery(record.id)], NOW)
    await store.fail_inbox(inbox_id, "normalize failed: KeyError", NOW)

    [dead] = await store.dead_letters()
    assert (dead["id"], dead["kind"], dead["error"]) == (
        str(inbox_id),
        "inbox",
        "normalize failed: KeyError",
    )
    assert await store.requeue_inbox(inbox_id, NOW + 1) is True
    assert await store.requeue_inbox(inbox_id + 1000, NOW + 1) is False
    assert await store.get_event(record.id) is None
    assert await store.deliveries_for(str(inbox_id)) == []
    [item] = await store.claim_inbox(10, NOW + 2, LEASE)
    assert (item.id, item.attempts) == (inbox_id, 1)


# -- deliver stage ------------------------------------------------------------------------


async def test_deliveries_are_claimed_once_per_lease(store):
    ids = await outbox(store, 3)

    assert sorted(await claimed_ids(store)) == sorted(ids)
    assert await claimed_ids(store, NOW + 1) == []
    assert sorted(await claimed_ids(store, NOW + LEASE + 1)) == sorted(ids)


async def test_a_sent_delivery_keeps_its_message_ref_and_is_never_claimed_again(store):
    [delivery_id] = await outbox(store)
    await claimed_ids(store)
    await store.mark_sent(delivery_id, {"channel": "C1", "ts": "1.000100"}, NOW + 1, started=NOW)

    [sent] = await store.deliveries_for(delivery_id)
    assert (sent.state, sent.attempts, sent.ref) == ("sent", 1, {"channel": "C1", "ts": "1.000100"})
    assert await claimed_ids(store, NOW + 3600) == []
    [attempt] = await store.attempts_of([delivery_id])
    assert (attempt.outcome, attempt.at, attempt.duration, attempt.error) == (
        "sent",
        NOW + 1,
        1.0,
        None,
    )


async def test_the_conversation_is_written_with_the_delivery_that_learned_its_message(store):
    first, second = await outbox(store, 2)
    await claimed_ids(store)
    assert await store.get_conversation("eng", "k") is None
    started = ConversationRecord(
        "eng", "k", {"channel": "C1", "ts": "1.1"}, "open", NOW, False, first
    )
    await store.mark_sent(first, {"action": "started"}, NOW + 1, started=NOW, conversation=started)
    assert await store.get_conversation("eng", "k") == started
    assert await store.get_conversation("eng", "other") is None

    ended = dataclasses.replace(started, status="resolved", latest_at=NOW + 5, ended=True)
    await store.mark_sent(second, {"action": "updated"}, NOW + 6, started=NOW, conversation=ended)
    assert await store.get_conversation("eng", "k") == ended
    [sent] = await store.deliveries_for(second)
    assert sent.state == "sent"


async def test_a_retry_waits_until_it_is_due(store):
    [delivery_id] = await outbox(store)
    await claimed_ids(store)
    await store.mark_retry(
        delivery_id, "slack 503", NOW + 60, NOW + 1, started=NOW, http_status=503
    )

    assert await claimed_ids(store, NOW + 59) == []
    [again] = await store.claim_deliveries(10, NOW + 60, LEASE)
    assert (again.attempts, again.last_error) == (1, "slack 503")
    await store.mark_sent(delivery_id, {}, NOW + 61, started=NOW + 60)
    attempts = await store.attempts_of([delivery_id, "9.9/elsewhere"])
    assert [(a.outcome, a.http_status) for a in attempts] == [("retry", 503), ("sent", None)]


async def test_a_deferred_delivery_waits_unattempted(store):
    [delivery_id] = await outbox(store)
    await claimed_ids(store)
    await store.defer(delivery_id, NOW + 20)

    assert await claimed_ids(store, NOW + 19) == []
    [again] = await store.claim_deliveries(10, NOW + 20, LEASE)
    assert again.attempts == 0


async def test_renewed_leases_hold_deliveries_past_the_first_lease(store):
    first, second = await outbox(store, 2)
    await claimed_ids(store)
    await store.renew_leases([first], NOW + 100)

    assert await claimed_ids(store, NOW + LEASE + 1) == [second]
    assert await claimed_ids(store, NOW + 99) == [second]
    assert await claimed_ids(store, NOW + 101) == [first]  # the renewal ran out


async def test_a_renewal_listed_before_a_deferral_does_not_hide_the_delivery(store):
    """A storm's digest member deferred to the digest's next edit while the lanes' lease
    renewal was on its way: it must come back at that edit, not a whole lease later
    (one alert of 10,000 showed 30 s late)."""
    deferred, retried, held = await outbox(store, 3)
    await claimed_ids(store)
    await store.defer(deferred, NOW + 5)
    await store.mark_retry(retried, "slack 503", NOW + 5, NOW + 1, started=NOW)
    await store.renew_leases([deferred, retried, held], NOW + 100)

    # Both come back when due; the delivery still held keeps its renewed lease.
    assert sorted(await claimed_ids(store, NOW + 5)) == sorted([deferred, retried])


async def test_a_dead_delivery_is_listed_and_replays_from_scratch(store):
    [delivery_id] = await outbox(store)
    await claimed_ids(store)
    await store.mark_dead(delivery_id, "channel_not_found", NOW + 1, started=NOW)

    [dead] = await store.dead_letters()
    assert (dead["id"], dead["kind"], dead["target"], dead["error"]) == (
        delivery_id,
        "delivery",
        "eng",
        "channel_not_found",
    )
    assert await claimed_ids(store, NOW + 3600) == []
    assert await store.requeue_delivery(delivery_id, NOW + 10) is True
    assert await store.requeue_delivery("9.9/nowhere", NOW + 10) is False
    [again] = await store.claim_deliveries(10, NOW + 10, LEASE)
    assert (again.id, again.attempts, again.state) == (delivery_id, 0, "pending")


async def test_deliveries_are_found_by_inbox_event_or_delivery_id(store):
    inbox_id = await accepted(store, "a")
    records = [event(inbox_id, 0), event(inbox_id, 1)]
    deliveries = [delivery(records[0].id, "eng"), delivery(records[0].id, "ops")]
    deliveries.append(delivery(records[1].id, "eng"))
    await store.record_outcome(inbox_id, records, deliveries, NOW)

    def ids(found: list[DeliveryRecord]) -> list[str]:
        return [d.id for d in found]

    assert ids(await store.deliveries_for(str(inbox_id))) == sorted(d.id for d in deliveries)
    assert ids(await store.deliveries_for(f"{inbox_id}.0")) == [
        f"{inbox_id}.0/eng",
        f"{inbox_id}.0/ops",
    ]
    assert ids(await store.deliveries_for(f"{inbox_id}.1/eng")) == [f"{inbox_id}.1/eng"]


async def test_the_backlog_counts_what_waits_and_what_died(store):
    first, second, _ = await outbox(store, 3)
    await accepted(store, "waiting")
    await store.mark_sent(first, {}, NOW + 1, started=NOW)
    await store.mark_dead(second, "gone", NOW + 1, started=NOW)
    await store.fail_inbox(await accepted(store, "poison"), "bad", NOW)

    backlog = await store.backlog()
    assert (backlog.inbox_pending, backlog.deliveries_pending) == (1, 1)
    assert (backlog.dead_deliveries, backlog.dead_requests) == (1, 1)
    assert backlog.oldest_pending_at == NOW


async def test_recover_frees_leases_only_when_the_store_serves_one_process(store, store_url):
    await outbox(store, 2)
    assert len(await claimed_ids(store)) == 2

    await store.recover()

    # SQLite: a killed predecessor's leases are void. PostgreSQL: they may belong to a live
    # instance, so they run out on their own.
    expected = 2 if store_url.startswith("sqlite") else 0
    assert len(await claimed_ids(store, NOW + 1)) == expected


# -- storm grouping -----------------------------------------------------------------------


async def test_a_group_waits_then_is_taken_whole_and_its_digest_marks_members_sent(store):
    inbox_id = await accepted(store, "storm")
    records = [event(inbox_id, n, thread_key=f"alert-{n}") for n in range(4)]
    grouped = [
        delivery(r.id, "ops", group_key="route0:ops", group_interval=30.0, not_before=NOW + 5)
        for r in records[:3]
    ]
    alone = delivery(records[3].id, "eng")
    await store.record_outcome(inbox_id, records, [*grouped, alone], NOW)

    assert await claimed_ids(store, NOW) == [alone.id]  # the group waits group_wait
    assert await claimed_ids(store, NOW + 5) == [d.id for d in grouped]
    later = await accepted(store, "storm-2")
    late = delivery(f"{later}.0", "ops", group_key="route0:ops", not_before=NOW + 9)
    await store.record_outcome(later, [event(later)], [late], NOW + 4)

    # This worker holds two of its claimed ones in a lane; the third counts as someone
    # else's lease. The late one is not due yet, but it is part of the burst: taken too.
    held = [grouped[0].id, grouped[1].id]
    taken = await store.take_group("route0:ops", held, NOW + 5, LEASE)
    assert [d.id for d in taken] == [*held, late.id]
    assert taken[0].group_key == "route0:ops" and taken[0].group_interval == 30.0
    assert await store.take_group("route0:ops", [], NOW + 6, LEASE) == []  # all leased now
    assert await store.take_group("route0:other", held, NOW + 6, LEASE) == []
    assert await store.latest_digest("route0:ops") is None
    assert await store.last_digest_at("route0:ops") is None

    digest = DigestRecord(
        "route0:ops@1", "route0:ops", {"channel": "C1", "ts": "1.0"}, {"k": {"at": 1}}, NOW, NOW
    )
    await store.save_digest(digest, [d.id for d in taken], NOW + 7, started=NOW + 6)
    assert await store.latest_digest("route0:ops") == digest
    states = {
        d.id: (d.state, d.ref.get("digest"))
        for inbox in (inbox_id, later)
        for d in await store.deliveries_for(str(inbox))
        if d.target == "ops"
    }
    assert states == {
        grouped[0].id: ("sent", "route0:ops@1"),
        grouped[1].id: ("sent", "route0:ops@1"),
        grouped[2].id: ("pending", None),
        late.id: ("sent", "route0:ops@1"),
    }
    assert [a.outcome for a in await store.attempts_of([grouped[0].id])] == ["sent"]
    edited = dataclasses.replace(digest, entries={"k": {"at": 2}}, updated_at=NOW + 40)
    await store.save_digest(edited, [], NOW + 40, started=NOW + 40)
    assert await store.latest_digest("route0:ops") == edited
    assert await store.last_digest_at("route0:ops") == NOW + 40


# -- retention ----------------------------------------------------------------------------

DAY = 86400.0


async def test_purge_removes_finished_work_older_than_the_cut_and_nothing_waiting(store):
    old, cut = NOW - 10 * DAY, NOW - 7 * DAY

    async def request(name: str, state: str, *, at: float = old, error: str = "") -> int:
        inbox_id, _ = await store.accept("github", name, {}, name.encode(), at)
        record = event(inbox_id)
        await store.record_outcome(inbox_id, [record], [delivery(record.id)], at)
        [claimed] = await store.claim_deliveries(1, at, LEASE)
        assert claimed.event_id == record.id
        if state == "sent":
            await store.mark_sent(claimed.id, {"ts": "1"}, at, started=at)
        elif state == "dead":
            await store.mark_dead(claimed.id, error, at, started=at)
        else:
            await store.mark_retry(claimed.id, "slack down", NOW + DAY, at, started=at)
        return inbox_id

    sent = await request("sent", "sent")
    pending = await request("pending", "pending")  # still trying: never purged
    dead_long_ago = await request("dead-old", "dead", error="channel_not_found")
    dead_recently = await request("dead-new", "dead", at=NOW - DAY, error="channel_not_found")
    unread, _ = await store.accept("github", "unread", {}, b"[0]", old)  # never normalized
    notice = delivery("notice", "ops", created_at=old)
    await store.enqueue([notice], old)
    [claimed] = await store.claim_deliveries(1, old, LEASE)
    await store.mark_sent(claimed.id, {"ts": "2"}, old, started=old)

    assert await store.purge(cut, 500) == 3  # sent, dead long ago, the notice
    assert await store.purge(cut, 500) == 0
    kept = {
        i
        for i in (sent, pending, dead_long_ago, dead_recently, unread)
        if await store.get_inbox(i) is not None
    }
    assert kept == {pending, dead_recently, unread}
    assert await store.deliveries_for(str(sent)) == []
    assert await store.attempts_of([f"{sent}.0/eng"]) == []
    assert [d.state for d in await store.deliveries_for(str(pending))] == ["pending"]
    assert [d["id"] for d in await store.dead_letters()] == [f"{dead_recently}.0/eng"]
    assert (await store.counts()).get("deliveries_sent", 0) == 0


async def test_purge_goes_a_batch_at_a_time(store):
    for n in range(5):
        inbox_id, _ = await store.accept("github", f"d{n}", {}, b"[%d]" % n, NOW - 10 * DAY)
        await store.record_outcome(inbox_id, [], [], NOW - 10 * DAY)  # ignored

    assert [await store.purge(NOW, 2) for _ in range(4)] == [2, 2, 1, 0]


# -- a shared store: several instances on one PostgreSQL database -------------------------


@pytest.fixture
async def two_instances(postgres_url):
    first = await open_store(postgres_url)
    second = await open_store(postgres_url)
    yield first, second
    await first.close()
    await second.close()


async def test_instances_never_claim_the_same_work(two_instances):
    first, second = two_instances
    ids = await outbox(first, 40)

    rounds = await asyncio.gather(
        *(claimed_ids(store, limit=7) for _ in range(4) for store in (first, second))
    )

    taken = [delivery_id for batch in rounds for delivery_id in batch]
    assert sorted(taken) == sorted(ids)  # 8 claims of up to 7: every one taken, none twice


async def test_a_dead_instances_work_is_taken_over_when_its_lease_runs_out(two_instances):
    first, second = two_instances
    ids = await outbox(first, 3)
    await claimed_ids(first)
    await first.close()  # stops renewing, as a killed process would

    assert await claimed_ids(second, NOW + LEASE - 1) == []
    assert sorted(await claimed_ids(second, NOW + LEASE + 1)) == sorted(ids)


async def test_stored_work_wakes_the_other_instance(two_instances):
    first, second = two_instances
    inbox_woken, outbox_woken = asyncio.Event(), asyncio.Event()
    await second.watch(inbox_woken.set, outbox_woken.set)
    await asyncio.sleep(0.2)
    inbox_woken.clear()
    outbox_woken.clear()

    inbox_id = await accepted(first, "a")
    await asyncio.wait_for(inbox_woken.wait(), 5)
    assert not outbox_woken.is_set()
    record = event(inbox_id)
    await first.record_outcome(inbox_id, [record], [delivery(record.id)], NOW)
    await asyncio.wait_for(outbox_woken.wait(), 5)


async def test_instances_share_each_channels_pace(two_instances):
    first, second = two_instances
    burst = [await first.reserve_turn("slack:C1", 1.0, 5) for _ in range(5)]
    after_burst = await second.reserve_turn("slack:C1", 1.0, 5)
    other_channel = await second.reserve_turn("slack:C2", 1.0, 5)

    assert burst == [0.0] * 5
    assert 0.5 < after_burst <= 1.0
    assert other_channel == 0.0


async def test_a_rate_limit_holds_the_channel_for_every_instance(two_instances):
    first, second = two_instances
    await first.hold_lane("slack:C1", 30.0, 1.0, 5)

    wait = await second.reserve_turn("slack:C1", 1.0, 5)
    next_wait = await second.reserve_turn("slack:C1", 1.0, 5)

    assert 29 < wait <= 30
    assert 30 < next_wait <= 31  # after a 429 the lane restarts without a burst


async def test_migrate_says_whether_it_created_the_schema_or_found_it_current(store_url):
    newest = (
        sqlite_migrations.NEWEST if store_url.startswith("sqlite") else migrations()[-1].version
    )

    assert await migrate(store_url) == Migrated(None, newest)
    assert await migrate(store_url) == Migrated(newest, newest)
    assert str(Migrated(None, newest)) == f"created schema v{newest}"
    assert str(Migrated(newest, newest)) == f"already at v{newest}"
    assert str(Migrated(newest - 1, newest)) == f"upgraded v{newest - 1} -> v{newest}"


async def test_instances_starting_together_migrate_once(postgres_url):
    stores = await asyncio.gather(*(open_store(postgres_url) for _ in range(3)))
    for opened in stores:
        await opened.close()

    conn = await asyncpg.connect(postgres_url)
    try:
        rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
    finally:
        await conn.close()
    assert [row["version"] for row in rows] == [m.version for m in migrations()]


# -- the inspector's reads --------------------------------------------------------------


async def test_activity_lists_events_and_eventless_requests_with_their_state(store):
    delivered, dead, waiting = await outbox(store, 3)
    await store.mark_sent(delivered, {}, NOW + 1, started=NOW)
    await store.mark_dead(dead, "channel_not_found", NOW + 1, started=NOW, http_status=200)
    ignored = await accepted(store, "ping")
    await store.record_outcome(ignored, [], [], NOW)
    unrouted = await accepted(store, "star")
    record = event(unrouted, title="Star_100% <b>", outcome="unrouted", detail={"labels": {}})
    await store.record_outcome(unrouted, [record], [], NOW)
    poison = await accepted(store, "poison")
    await store.fail_inbox(poison, "normalize failed: KeyError", NOW)

    def summary(rows: list[Activity]) -> list[tuple[int, str | None, str]]:
        return [(a.inbox_id, a.event.id if a.event else None, a.state) for a in rows]

    everything = await store.activity(ActivityFilter())
    assert summary(everything) == [
        (poison, None, "failed"),
        (unrouted, f"{unrouted}.0", "unrouted"),
        (ignored, None, "ignored"),
        (3, "3.0", "pending"),
        (2, "2.0", "failed"),
        (1, "1.0", "delivered"),
    ]
    assert everything[0].error == "normalize failed: KeyError"
    assert everything[2].headers == {"x-github-event": "issues"}
    assert everything[1].event.title == "Star_100% <b>"

    async def found(**wanted) -> list[tuple[int, str | None, str]]:
        return summary(await store.activity(ActivityFilter(**wanted)))

    assert await found(state="failed") == [(poison, None, "failed"), (2, "2.0", "failed")]
    assert await found(text="STAR_100%") == [(unrouted, f"{unrouted}.0", "unrouted")]
    assert await found(text="100_") == []  # LIKE wildcards in the text are literal
    assert await found(text="2.0/eng") == [(2, "2.0", "failed")]
    assert await found(text=str(ignored)) == [(ignored, None, "ignored")]
    assert await found(text="d1") == [(2, "2.0", "failed")]  # the sender's delivery id
    assert await found(source="stripe") == []
    assert await found(limit=2) == summary(everything)[:2]
    assert await found(before=3) == summary(everything)[4:]

    shown = await store.deliveries_of(["1.0", "2.0", f"{unrouted}.0"])
    assert [(d.id, d.state) for d in shown] == [(delivered, "sent"), (dead, "dead")]
    assert await store.deliveries_of([]) == []
    [attempt] = await store.attempts_of([dead])
    assert (attempt.outcome, attempt.http_status, attempt.error) == (
        "dead",
        200,
        "channel_not_found",
    )
    assert waiting == "3.0/eng"


def _click(
    outcome: str = "running", key: str | None = "eng|pagerduty:P1|resolve|0"
) -> ActionRecord:
    return ActionRecord(
        action="resolve",
        source="pd",
        delivery_id="1.0/eng",
        target="eng",
        thread_key="pagerduty:P1",
        platform="slack",
        user_id="U1",
        user_name="alice",
        identity="alice@acme.com",
        outcome=outcome,
        answer="",
        created_at=100.0,
        dedup_key=key,
    )


async def test_a_click_is_claimed_once_and_a_failed_one_may_be_tried_again(store):
    first, second = await asyncio.gather(store.start_action(_click()), store.start_action(_click()))
    assert sorted([first is None, second is None]) == [False, True]  # one claim wins
    claimed = first or second
    await store.finish_action(claimed, "failed", "PagerDuty answered 500", {}, 101.0)
    retry = await store.start_action(_click())
    assert retry is not None
    await store.finish_action(retry, "ok", "incident P1 is resolved", {"incident": "P1"}, 102.0)
    assert await store.start_action(_click()) is None  # done: a late double click does nothing
    await store.start_action(_click("refused", None))

    clicks = await store.actions_of("eng", "pagerduty:P1")
    assert [(c.outcome, c.answer) for c in clicks] == [
        ("failed", "PagerDuty answered 500"),
        ("ok", "incident P1 is resolved"),
        ("refused", ""),
    ]
    assert clicks[1].detail == {"incident": "P1"} and clicks[1].finished_at == 102.0
    assert await store.clickers() == [("slack", "U1", "alice")]
    assert [c.outcome for c in await store.recent_actions(2)] == ["refused", "ok"]

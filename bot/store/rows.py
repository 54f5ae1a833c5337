"""How records map to table rows: the same columns and JSON encoding in every backend.

Both stores keep JSON as text (PostgreSQL's ``jsonb`` refuses ``\\u0000``, which payloads
may carry), so one set of conversions serves SQLite rows and asyncpg records alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import orjson

from bot.store.records import (
    ActionRecord,
    Activity,
    ActivityFilter,
    AttemptRecord,
    ConversationRecord,
    DeliveryRecord,
    DigestRecord,
    EventRecord,
    InboxItem,
    MuteRecord,
    RerouteRecord,
)


def to_json(value: Any) -> str:
    """A JSON column's text. orjson writes it in a fraction of the stdlib's time (its
    ``json.dumps`` was 3% of planning an event, for the event's detail and each
    message); what orjson refuses (an integer past 64 bits from a sender's payload, a
    lone surrogate) is written by the stdlib, as before."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def body_digest(body: bytes) -> str:
    """A request's second identity besides its delivery id: a signed body replayed under
    a new, unsigned delivery id is still the same request (a duplicate)."""
    return hashlib.sha256(body).hexdigest()


DELIVERY_COLUMNS = (
    "id, event_id, target, platform, address, message, state, lifecycle, thread_key, "
    "status, occurred_at, attempts, created_at, last_error, ref, source, event_type, "
    "group_key, group_interval"
)
EVENT_COLUMNS = (
    "id, inbox_id, source, type, severity, status, title, thread_key, occurred_at, outcome, "
    "detail, decision, thread_alias"
)
INBOX_COLUMNS = "id, source, delivery_id, received_at, headers, body, attempts"
ATTEMPT_COLUMNS = "delivery_id, at, outcome, http_status, error, duration"
_ATTEMPT_FIELDS = [name.strip() for name in ATTEMPT_COLUMNS.split(",")]
MUTE_COLUMNS = (
    "selector, platform, channel, channel_name, everywhere, threads, reason, creator, "
    "created_at, expires_at, id, ended_at, ended_by, end_reason"
)
DIGEST_COLUMNS = "id, group_key, ref, entries, opened_at, updated_at"
CONVERSATION_COLUMNS = "target, thread_key, ref, status, latest_at, ended, started_by, updated_at"
ACTION_COLUMNS = (
    "action, source, delivery_id, target, thread_key, platform, user_id, user_name, identity, "
    "outcome, answer, created_at, detail, dedup_key, finished_at"
)
REROUTE_COLUMNS = (
    "selector, target, platform, address, label, creator, created_at, expires_at, "
    "id, ended_at, ended_by"
)


def inbox_from_row(row: Any, body: bytes | None = None) -> InboxItem:
    """``body``: the request's body when the row holds it in another form (compressed)."""
    return InboxItem(
        id=row["id"],
        source=row["source"],
        delivery_id=row["delivery_id"],
        received_at=row["received_at"],
        headers=json.loads(row["headers"]),
        body=bytes(row["body"]) if body is None else body,
        attempts=row["attempts"],
    )


def attempt_values(attempt: AttemptRecord) -> tuple[Any, ...]:
    """Values in ``ATTEMPT_COLUMNS`` order, which names every field (rows are read back
    with ``AttemptRecord(**row)``)."""
    return tuple(getattr(attempt, name) for name in _ATTEMPT_FIELDS)


def event_values(e: EventRecord) -> tuple[Any, ...]:
    """Values in ``EVENT_COLUMNS`` order."""
    return (
        e.id,
        e.inbox_id,
        e.source,
        e.type,
        e.severity,
        e.status,
        e.title,
        e.thread_key,
        e.occurred_at,
        e.outcome,
        to_json(e.detail),
        None if e.decision is None else to_json(e.decision),
        e.thread_alias,
    )


def event_from_row(row: Any) -> EventRecord:
    return EventRecord(
        id=row["id"],
        inbox_id=row["inbox_id"],
        source=row["source"],
        type=row["type"],
        severity=row["severity"],
        status=row["status"],
        title=row["title"],
        thread_key=row["thread_key"],
        occurred_at=row["occurred_at"],
        outcome=row["outcome"],
        detail=json.loads(row["detail"]),
        decision=None if row["decision"] is None else json.loads(row["decision"]),
        thread_alias=row["thread_alias"],
    )


def delivery_values(d: DeliveryRecord) -> tuple[Any, ...]:
    """Values in ``DELIVERY_COLUMNS`` order."""
    return (
        d.id,
        d.event_id,
        d.target,
        d.platform,
        d.address,
        to_json(d.message),
        d.state,
        d.lifecycle,
        d.thread_key,
        d.status,
        d.occurred_at,
        d.attempts,
        d.created_at,
        d.last_error,
        to_json(d.ref),
        d.source,
        d.event_type,
        d.group_key,
        d.group_interval,
    )


def delivery_from_row(row: Any) -> DeliveryRecord:
    return DeliveryRecord(
        id=row["id"],
        event_id=row["event_id"],
        target=row["target"],
        platform=row["platform"],
        address=row["address"],
        message=json.loads(row["message"]),
        state=row["state"],
        lifecycle=row["lifecycle"],
        thread_key=row["thread_key"],
        status=row["status"],
        occurred_at=row["occurred_at"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        last_error=row["last_error"],
        ref=json.loads(row["ref"] or "{}"),
        source=row["source"],
        event_type=row["event_type"],
        group_key=row["group_key"],
        group_interval=row["group_interval"],
    )


def mute_from_row(row: Any) -> MuteRecord:
    values = dict(row)
    values["selector"] = json.loads(values["selector"])
    values["threads"] = json.loads(values["threads"])
    values["everywhere"] = bool(values["everywhere"])
    return MuteRecord(**values)


def reroute_from_row(row: Any) -> RerouteRecord:
    values = dict(row)
    values["selector"] = json.loads(values["selector"])
    return RerouteRecord(**values)


def conversation_values(c: ConversationRecord, now: float) -> tuple[Any, ...]:
    """Values in ``CONVERSATION_COLUMNS`` order; ``now`` is when it changed."""
    return (
        c.target,
        c.thread_key,
        to_json(c.ref),
        c.status,
        c.latest_at,
        int(c.ended),
        c.started_by,
        now,
    )


def conversation_from_row(row: Any) -> ConversationRecord:
    return ConversationRecord(
        target=row["target"],
        thread_key=row["thread_key"],
        ref=json.loads(row["ref"]),
        status=row["status"],
        latest_at=row["latest_at"],
        ended=bool(row["ended"]),
        started_by=row["started_by"],
    )


# How a request (i) and its event (e) look to an operator; see Activity.state.
_ACTIVITY_STATE = (
    "CASE WHEN i.state = 'new' THEN 'pending' "
    "WHEN i.state = 'dead' THEN 'failed' "
    "WHEN e.id IS NULL THEN 'ignored' "
    "WHEN e.outcome <> 'routed' THEN e.outcome "
    "WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.state = 'dead') "
    "THEN 'failed' "
    "WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.state = 'pending') "
    "THEN 'pending' "
    "ELSE 'delivered' END"
)


def activity_query(param: Callable[[int], str]) -> str:
    """``Store.activity`` in SQL both backends run; ``param(n)`` spells the n-th value of
    ``activity_args`` in the backend's placeholder style."""
    before, source, state, text, pattern, limit = (param(n) for n in range(1, 7))
    event_columns = ", ".join(f"e.{c.strip()}" for c in EVENT_COLUMNS.split(","))
    return (
        "SELECT * FROM (SELECT i.id AS request_id, i.source AS request_source, "
        "i.delivery_id AS sender_id, i.received_at, i.headers AS request_headers, "
        f"i.error AS inbox_error, {event_columns}, {_ACTIVITY_STATE} AS state "
        "FROM inbox i LEFT JOIN events e ON e.inbox_id = i.id "
        f"WHERE ({before} IS NULL OR i.id < {before}) "
        f"AND ({source} IS NULL OR i.source = {source}) "
        f"AND ({text} = '' OR CAST(i.id AS TEXT) = {text} OR e.id = {text} "
        f"OR {text} LIKE e.id || '/%' "
        f"OR lower(i.delivery_id) LIKE {pattern} ESCAPE '\\' "
        f"OR lower(e.title) LIKE {pattern} ESCAPE '\\' "
        f"OR lower(e.detail) LIKE {pattern} ESCAPE '\\')) AS activity "
        f"WHERE ({state} IS NULL OR state = {state}) "
        f"ORDER BY request_id DESC, occurred_at, id LIMIT {limit}"
    )


def activity_args(wanted: ActivityFilter) -> tuple[Any, ...]:
    """The values ``activity_query`` expects, in order."""
    text = (wanted.text or "").strip()
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return (wanted.before, wanted.source, wanted.state, text, f"%{escaped}%", wanted.limit)


def activity_from_row(row: Any) -> Activity:
    return Activity(
        inbox_id=row["request_id"],
        source=row["request_source"],
        delivery_id=row["sender_id"],
        received_at=row["received_at"],
        headers=json.loads(row["request_headers"]),
        state=row["state"],
        error=row["inbox_error"],
        event=event_from_row(row) if row["id"] is not None else None,
    )


def digest_values(d: DigestRecord) -> tuple[Any, ...]:
    """Values in ``DIGEST_COLUMNS`` order."""
    return (d.id, d.group_key, to_json(d.ref), to_json(d.entries), d.opened_at, d.updated_at)


def digest_from_row(row: Any) -> DigestRecord:
    return DigestRecord(
        id=row["id"],
        group_key=row["group_key"],
        ref=json.loads(row["ref"]),
        entries=json.loads(row["entries"]),
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
    )


def action_values(action: ActionRecord) -> tuple[Any, ...]:
    """An action's row in ``ACTION_COLUMNS`` order."""
    return (
        action.action,
        action.source,
        action.delivery_id,
        action.target,
        action.thread_key,
        action.platform,
        action.user_id,
        action.user_name,
        action.identity,
        action.outcome,
        action.answer,
        action.created_at,
        to_json(action.detail),
        action.dedup_key,
        action.finished_at,
    )


def action_from_row(row: Any) -> ActionRecord:
    values = dict(row)
    values["detail"] = json.loads(values["detail"])
    return ActionRecord(**values)

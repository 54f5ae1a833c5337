"""What the pipeline needs from a store; SQLite and PostgreSQL both provide it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from bot.core.clock import Clock
from bot.core.pacing import LanePacer
from bot.store.records import (
    ActionRecord,
    Activity,
    ActivityFilter,
    AttemptRecord,
    Backlog,
    ConversationRecord,
    DeliveryRecord,
    DigestRecord,
    EventRecord,
    HeartbeatRecord,
    InboxItem,
    MuteRecord,
    RerouteRecord,
)


class Store(Protocol):
    """Every write is durable when the awaited call returns."""

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the store cannot be reached (``/readyz``)."""

    async def recover(self) -> None:
        """Called once by the process that runs the workers, before they start.

        SQLite serves one process, so leases left by a killed predecessor are void at once;
        a shared store lets them expire instead.
        """

    async def recover_planner(self) -> None:
        """Called by ``serve`` when its planner process died: free the requests it held.

        On SQLite that planner was the only one claiming requests, so its claims are void
        at once, and the next planner starts on them instead of waiting out their lease
        (30 s). A shared store lets them expire: a live peer's may be among them.
        """

    async def watch(self, on_inbox: Callable[[], None], on_outbox: Callable[[], None]) -> None:
        """Call back when another process stores work (PostgreSQL: LISTEN/NOTIFY).

        In one process the stages nudge each other directly, so SQLite does nothing.
        """

    def lane_pacer(self, clock: Clock) -> LanePacer:
        """Per-channel pacing: in memory for one process, in the store when it is shared;
        waits for a turn on ``clock``."""

    async def accept(
        self,
        source: str,
        delivery_id: str,
        headers: dict[str, str],
        body: bytes,
        now: float,
        *,
        by_body: bool = True,
    ) -> tuple[int, bool]:
        """Store a raw request; return ``(inbox id, duplicate?)``.

        A request is a duplicate when its delivery id is known, or (``by_body``) its body:
        a signed body replayed under a new delivery id. Ping URLs pass ``by_body=False``:
        every ping of a cron job has the same body (none), and each is one of its own."""

    async def claim_inbox(self, limit: int, now: float, lease: float) -> list[InboxItem]:
        """Lease up to ``limit`` unprocessed requests for normalizing."""

    async def record_outcome(
        self,
        inbox_id: int,
        events: list[EventRecord],
        deliveries: list[DeliveryRecord],
        now: float,
    ) -> None:
        """Mark a request normalized, storing its events and their deliveries at once.

        A delivery with ``state = "muted"`` is stored but never claimed, and is counted
        against its ``muted_by`` mute (``suppressed_by``).
        """

    async def fail_inbox(self, inbox_id: int, error: str, now: float) -> None:
        """A request that cannot be normalized: kept as dead, with the reason."""

    async def claim_deliveries(self, limit: int, now: float, lease: float) -> list[DeliveryRecord]:
        """Lease up to ``limit`` deliveries that are due."""

    async def renew_leases(self, delivery_ids: list[str], until: float) -> None:
        """Keep holding claimed deliveries still waiting in a lane (the pacer is slow)."""

    async def mark_sent(
        self,
        delivery_id: str,
        ref: dict[str, Any],
        now: float,
        *,
        started: float,
        http_status: int | None = None,
        conversation: ConversationRecord | None = None,
    ) -> None:
        """The platform took it. Like ``mark_retry`` and ``mark_dead``, this also records the
        attempt (``started`` is when the call began) in the same write as the new state.

        ``conversation`` is the state of the delivery's conversation after it, written in
        the same transaction (replacing the row of its target and thread key), so the
        message id learned by a post is never lost between two writes."""

    async def get_conversation(self, target: str, thread_key: str) -> ConversationRecord | None:
        """The conversation of ``thread_key`` at ``target``, ended or not."""

    async def thread_of_alias(self, alias: str) -> str | None:
        """The thread key of the newest event kept under ``alias`` (``Event.thread_alias``),
        if any is still stored."""

    async def mark_retry(
        self,
        delivery_id: str,
        error: str,
        next_attempt_at: float,
        now: float,
        *,
        started: float,
        http_status: int | None = None,
    ) -> None: ...

    async def defer(self, delivery_id: str, until: float) -> None:
        """Hand a lease back unattempted: the lane is busy until ``until``."""

    async def mark_dead(
        self,
        delivery_id: str,
        error: str,
        now: float,
        *,
        started: float,
        http_status: int | None = None,
    ) -> None: ...

    async def attempts_of(self, delivery_ids: list[str]) -> list[AttemptRecord]:
        """Every recorded attempt of these deliveries, oldest first."""

    async def activity(self, wanted: ActivityFilter) -> list[Activity]:
        """The latest requests and their events, newest first (the inspector's list).

        A request with events gives one row per event, one without gives one row; the
        limit counts rows. ``state`` is derived from the request, the event's outcome and
        its deliveries: see ``Activity.state``.
        """

    async def deliveries_of(self, event_ids: list[str]) -> list[DeliveryRecord]:
        """The deliveries of these events."""

    async def backlog(self) -> Backlog:
        """Queue depths, the oldest waiting item and dead letters (read at every scrape)."""

    async def count_rejection(self, source: str, reason: str, now: float) -> None: ...

    async def rejections(self) -> list[dict[str, Any]]: ...

    async def get_event(self, event_id: str) -> EventRecord | None: ...

    async def get_inbox(self, inbox_id: int) -> InboxItem | None: ...

    async def deliveries_for(self, event_prefix: str) -> list[DeliveryRecord]:
        """Deliveries whose id starts with an inbox or event id."""

    async def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        """Dead deliveries and dead inbox requests, newest first: ``id``, ``kind``
        (``delivery`` | ``inbox``), ``target`` (the source, for a request), ``source``,
        ``error`` and ``at`` (when it died or arrived)."""

    async def requeue_delivery(self, delivery_id: str, now: float) -> bool:
        """Put a delivery back in the outbox for another full round of attempts."""

    async def requeue_inbox(self, inbox_id: int, now: float) -> bool:
        """Normalize a raw request again (with today's config); its old events are replaced."""

    async def purge(self, before: float, limit: int) -> int:
        """Delete finished work older than ``before``: up to ``limit`` requests with their
        events, deliveries and attempts, and outbox rows of no request. Never anything
        waiting (a request to normalize, a delivery to send); a dead letter stays until
        it has been dead since ``before``. Returns how many requests and rows went, so a
        caller repeats while it is ``limit``."""

    async def counts(self) -> dict[str, int]:
        """Queue depths by state, for ``status`` and metrics."""

    async def events_of(self, inbox_id: int) -> list[EventRecord]:
        """The events normalized from one raw request, in order."""

    async def enqueue(self, deliveries: list[DeliveryRecord], now: float) -> None:
        """Put deliveries that belong to no webhook (announcements, tests) in the outbox."""

    # -- storm grouping (bot.pipeline.grouping) ----------------------------------------------

    async def take_group(
        self, group_key: str, held: list[str], now: float, lease: float
    ) -> list[DeliveryRecord]:
        """Lease every pending delivery of a group, due or not, that no other worker holds
        (``held``: those this worker leased already), oldest first."""

    async def latest_digest(self, group_key: str) -> DigestRecord | None:
        """The group's most recent digest, if it ever had one."""

    async def last_digest_at(self, group_key: str) -> float | None:
        """When the group's most recent digest was posted or edited (None: never). Asked
        for each grouped delivery as it comes due, so it reads no entries: a storm's
        digest holds one per alert, and parsing them each time made a storm quadratic."""

    async def save_digest(
        self, digest: DigestRecord, members: list[str], now: float, *, started: float
    ) -> None:
        """Store a digest as just posted or edited, and mark ``members`` sent into it (with
        the attempt), in one write: what a digest shows is never posted twice."""

    # -- mutes and reroutes (set from chat or the CLI) -------------------------------
    # "Live" means not ended; callers compare ``expires_at`` with their own clock, so an
    # expired mute stops applying at once, before the clock task ends it.

    async def add_mute(self, mute: MuteRecord) -> int:
        """Store a new mute; return its id."""

    async def add_reroute(self, reroute: RerouteRecord) -> int:
        """Store a new reroute; return its id."""

    async def get_mute(self, mute_id: int) -> MuteRecord | None: ...

    async def get_reroute(self, reroute_id: int) -> RerouteRecord | None: ...

    async def live_mutes(self) -> list[MuteRecord]:
        """Mutes not ended yet (some may be past ``expires_at``), oldest first."""

    async def live_reroutes(self) -> list[RerouteRecord]:
        """Reroutes not ended yet (some may be past ``expires_at``), oldest first."""

    async def end_mute(self, mute_id: int, now: float, by: str, reason: str) -> MuteRecord | None:
        """End a live mute and return it as ended; None if it was not live.

        Exactly one of several concurrent callers (instances, the CLI) gets the row, so
        the end is announced once.
        """

    async def end_reroute(self, reroute_id: int, now: float, by: str) -> RerouteRecord | None:
        """End a live reroute and return it as ended; None if it was not live."""

    async def suppressed_by(self, mute_id: int) -> list[DeliveryRecord]:
        """The deliveries a mute kept from being posted, oldest first."""

    async def open_threads(self, since: float) -> list[EventRecord]:
        """The latest event of each conversation seen since ``since`` whose latest status
        is ``open`` or ``acknowledged`` (what ``mute ... until resolved`` binds to)."""

    async def thread_states(self, thread_keys: list[str]) -> dict[str, str | None]:
        """The status of the latest recorded event of each conversation that has one."""

    async def start_action(self, action: ActionRecord) -> int | None:
        """Record a click; None when another row holds its ``dedup_key`` (a double click:
        the first one is doing it, or did)."""

    async def finish_action(
        self, action_id: int, outcome: str, answer: str, detail: dict[str, Any], now: float
    ) -> None:
        """An action's result; a failed one frees its ``dedup_key`` so it may be tried again."""

    async def actions_of(self, target: str, thread_key: str) -> list[ActionRecord]:
        """Every click on a conversation, oldest first."""

    async def recent_actions(self, limit: int = 50) -> list[ActionRecord]:
        """The latest clicks anywhere, newest first (the inspector)."""

    async def clickers(self) -> list[tuple[str, str, str]]:
        """Every (platform, user id, user name) that clicked a button, by first click."""

    async def latest_message(self, target: str, thread_key: str) -> DeliveryRecord | None:
        """The newest delivery that changed what a conversation's message shows."""

    # -- heartbeats (dead man's switches) -------------------------------------------
    # Each change is one conditional write, so of several instances exactly one raises an
    # alarm or announces a recovery.

    async def heartbeats(self) -> list[HeartbeatRecord]:
        """Every watched source's switch."""

    async def watch_source(self, source: str, now: float) -> None:
        """Start watching ``source`` at ``now`` unless it is watched already."""

    async def beat(self, source: str, at: float) -> None:
        """``source`` was heard from at ``at`` (a later time than any before wins)."""

    async def raise_alarm(
        self, source: str, silent_since: float, now: float, alarm: DeliveryRecord
    ) -> bool:
        """Raise the alarm of a source silent since ``silent_since`` and queue ``alarm``
        in the same write; True for the one caller that did (False: raised already, or it
        was heard from meanwhile, and nothing is queued)."""

    async def clear_alarm(
        self, source: str, alarm_at: float, recovery: DeliveryRecord, now: float
    ) -> bool:
        """End the alarm raised at ``alarm_at`` and queue ``recovery`` in the same write;
        True for the one caller that did."""

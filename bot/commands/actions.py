"""The action core: a click on a button becomes a change at the source, told in chat.

One ``ActionCore`` serves every platform's click front end, as ``CommandCore`` serves
their commands. A click's life: authorize (``[actions] allowed``) -> find the message's
conversation and its state now -> refuse a stale click (and refresh the message) ->
claim it in the store (a double click finds the claim and does nothing) -> call the
provider (5 s) -> record the answer -> queue the re-rendered message, whose edit and
thread line go out through the outbox like every other message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from bot.commands.binding import Binding, Refused
from bot.config.settings import Settings
from bot.core.clock import SystemClock
from bot.core.errors import ActionFailed
from bot.pipeline.buttons import buttons
from bot.providers.actions import KINDS, SILENCES, STATUS_AFTER, ActionKind, State, offered
from bot.providers.alerting import SilenceApi
from bot.providers.alertmanager import api as silences
from bot.providers.github import GitHubSource
from bot.providers.github import api as github
from bot.providers.pagerduty import PagerDutySource
from bot.providers.pagerduty import api as pagerduty
from bot.render.renderer import RESOLVED_COLOR, Message
from bot.store import (
    ActionRecord,
    ConversationRecord,
    DeliveryRecord,
    EventRecord,
    MuteRecord,
    Store,
)

log = logging.getLogger("bot.actions")
T = TypeVar("T")
_SYSTEM_CLOCK = SystemClock()

TIMEOUT_SECONDS = 5.0
PROVIDER_NAMES = {
    "pagerduty": "PagerDuty",
    "alertmanager": "Alertmanager",
    "grafana": "Grafana",
    "github": "GitHub",
}


@dataclass(frozen=True)
class Click:
    """A button pressed, as a platform's front end read it."""

    platform: str
    user: str
    user_name: str
    channel: str
    action: str
    value: str
    """The delivery whose message first showed the button."""
    link: str = ""
    """Where the message is, for a provider's comment that links back."""
    workspace: str = ""
    """The Slack team or Discord guild the click came from (checked by ``Binding``, as
    for commands)."""

    @property
    def via(self) -> str:
        return self.platform.capitalize()


@dataclass(frozen=True)
class Answer:
    """What only the clicker sees; empty when the message itself shows what happened."""

    text: str = ""
    outcome: str = "ok"


def _nothing() -> None:
    return None


def _not_counted(platform: str, reason: str) -> None:
    return None


@dataclass(frozen=True)
class _Conversation:
    """What a click acts on, read from the store."""

    delivery: DeliveryRecord
    event: EventRecord
    thread_key: str
    record: ConversationRecord | None
    actions: list[ActionRecord]
    shown: DeliveryRecord | None
    """The delivery whose message the conversation shows now."""

    def status(self) -> str | None:
        return self.record.status if self.record is not None else self.event.status

    def live(self, kinds: tuple[str, ...], undo: str, now: float) -> ActionRecord | None:
        """The newest successful action of ``kinds`` still in force (not undone, not over)."""
        for action in reversed(self.actions):
            if action.outcome != "ok":
                continue
            if action.action == undo:
                return None
            if action.action in kinds:
                return action if action.detail.get("until", 0) > now else None
        return None

    def state(self, now: float) -> State:
        silenced = self.live(SILENCES, "unsilence", now)
        muted = self.live(("mute_1h",), "unmute", now)
        return State(self.event.type, self.status(), silenced is not None, muted is not None)


class ActionCore:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        session: aiohttp.ClientSession,
        count: Callable[[str, str, str], None] = lambda source, action, outcome: None,
        nudge: Callable[[], None] = _nothing,
        clock: Callable[[], float] = time.time,
        bindings: Mapping[str, Binding] | None = None,
        refused: Refused = _not_counted,
        wait: Callable[[asyncio.Event, float], Awaitable[bool]] = _SYSTEM_CLOCK.wait,
    ) -> None:
        self.settings = settings
        self.store = store
        self.session = session
        self.count = count
        """Counts a click by (source, action, outcome): ``bot_actions_total``."""
        self.bindings: Mapping[str, Binding] = bindings or {}
        """Per chat platform, the workspaces whose commands, and so clicks, are accepted."""
        self.refused = refused
        """Counts a click refused for where it came from, by (platform, reason)."""
        self.nudge = nudge
        self.clock = clock
        self.wait = wait
        """Waits on the bot's clock, which times the provider (a test's clock moves by hand)."""

    def identity(self, user: str, user_name: str) -> str:
        """Who the provider is told acted: ``[people]``, else the chat name."""
        return self.settings.people.get(user) or user_name or user

    def denial(self, user: str) -> str | None:
        allowed = self.settings.actions.allowed
        if not allowed:
            return None
        admins = self.settings.commands.admins
        if user in allowed or ("admins" in allowed and user in admins):
            return None
        who = ", ".join(name for name in allowed if name != "admins")
        also = " and [commands] admins" if "admins" in allowed else ""
        return (
            f"you may not act on sources from chat here: [actions] allowed names {who or 'nobody'}"
            f"{also}; ask one of them, or an operator to add your id ({user})"
        )

    async def click(self, click: Click) -> Answer:
        """Carry out a click; never raises (the clicker always gets an answer)."""
        if (unbound := await self.unbound(click)) is not None:
            return unbound
        now = self.clock()
        kind = KINDS.get(click.action)
        found = await self._conversation(click.value)
        if kind is None or found is None:
            return Answer("this button no longer leads anywhere (the message is too old)", "stale")
        source = found.event.source
        if refused := self.denial(click.user):
            await self._record(click, found, kind, "refused", refused, now)
            return Answer(refused, "refused")
        state = found.state(now)
        config = self.settings.sources.get(source)
        provider = config.provider if config is not None else ""
        if kind.name not in offered(provider, config, state, ours=True):
            why = _stale_reason(kind, state)
            await self._record(click, found, kind, "stale", why, now)
            await self._queue(click, found, state, "", now, refresh_only=True)
            return Answer(
                f"{kind.label} is not possible any more: {why}. The message now "
                "shows the current state.",
                "stale",
            )
        key = "|".join(
            (
                found.delivery.target,
                found.thread_key,
                kind.name,
                # What the message shows: a click on it once more is the same click.
                found.shown.id if found.shown is not None else found.delivery.id,
                str(state.silenced),
                str(state.muted),
            )
        )
        claim = self._row(click, found, kind, "running", "", now, dedup_key=key)
        action_id = await self.store.start_action(claim)
        if action_id is None:
            await self._record(click, found, kind, "duplicate", "clicked twice", now)
            return Answer(
                f"{kind.label} is already done (or under way); nothing more to do.", "duplicate"
            )
        try:
            detail, answer = await self._within(self._carry_out(kind, click, found, now))
        except ActionFailed as exc:
            reason = str(exc) + _fix(exc.http_status, source)
            return await self._failed(action_id, click, found, kind, reason)
        except TimeoutError:
            name = PROVIDER_NAMES.get(provider, provider) if kind.name in _PROVIDERS else "the bot"
            reason = (
                f"{name} did not answer within {TIMEOUT_SECONDS:.0f} s; nothing changed "
                "here, try again in a moment"
            )
            return await self._failed(action_id, click, found, kind, reason)
        except Exception as exc:  # a bug: the clicker still hears, the log gets the trace
            log.exception("action failed", extra={"action": kind.name, "source": source})
            return await self._failed(action_id, click, found, kind, type(exc).__name__)
        done = self.clock()
        await self.store.finish_action(action_id, "ok", answer, detail, done)
        self.count(source, kind.name, "ok")
        log.info(
            "action",
            extra={
                "action": kind.name,
                "source": source,
                "outcome": "ok",
                "user": f"{click.platform}:{click.user}",
            },
        )
        after = await self._conversation(click.value)
        state_after = after.state(done) if after is not None else state
        if kind.name in STATUS_AFTER:
            state_after = State(state.event, STATUS_AFTER[kind.name], state.silenced, state.muted)
        if kind.name == "rerun":  # under way: the run's next webhook says how it went
            state_after = State("workflow_run.rerun", state.status, state.silenced, state.muted)
        line = f"{kind.done} by {_mention(click)} via {click.via}"
        if kind.name == "rerun" and click.user in self.settings.people:
            line += f" ({self.settings.people[click.user]} on GitHub)"
        await self._queue(click, after or found, state_after, line, done, refresh_only=False)
        return Answer()

    async def _within(self, work: Coroutine[Any, Any, T]) -> T:
        """``work``'s result, or ``TimeoutError`` once ``TIMEOUT_SECONDS`` passed on the
        bot's clock (the provider's call is cancelled then)."""
        task = asyncio.ensure_future(work)
        finished = asyncio.Event()
        task.add_done_callback(lambda _: finished.set())
        try:
            if not await self.wait(finished, TIMEOUT_SECONDS):
                raise TimeoutError
            return task.result()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def unbound(self, click: Click) -> Answer | None:
        """A refusal when the click comes from a workspace or guild this bot takes no
        commands from: the same binding as commands, checked before the store is read, so
        an outsider learns nothing about the message and leaves no row behind."""
        binding = self.bindings.get(click.platform)
        if binding is None:
            refusal: tuple[str, str] | None = (
                "no binding",
                f"clicks from {click.platform} are not accepted here",
            )
        else:
            refusal = await binding.refusal(click.workspace)
        if refusal is None:
            return None
        reason, text = refusal
        log.warning(
            "click refused",
            extra={"platform": click.platform, "workspace": click.workspace, "reason": reason},
        )
        self.refused(click.platform, reason)
        return Answer(text.replace("commands", "commands and clicks", 1), "unbound")

    async def _failed(
        self, action_id: int, click: Click, found: _Conversation, kind: ActionKind, reason: str
    ) -> Answer:
        await self.store.finish_action(action_id, "failed", reason, {}, self.clock())
        self.count(found.event.source, kind.name, "failed")
        log.warning(
            "action failed",
            extra={"action": kind.name, "source": found.event.source, "error": reason},
        )
        return Answer(f"{kind.label} failed: {reason}", "failed")

    # -- reading the conversation ------------------------------------------------------

    async def _conversation(self, value: str) -> _Conversation | None:
        delivery = next((d for d in await self.store.deliveries_for(value) if d.id == value), None)
        if delivery is None or delivery.thread_key is None:
            return None
        event = await self.store.get_event(delivery.event_id)
        if event is None:
            return None
        record = await self.store.get_conversation(delivery.target, delivery.thread_key)
        actions = await self.store.actions_of(delivery.target, delivery.thread_key)
        shown = await self.store.latest_message(delivery.target, delivery.thread_key)
        return _Conversation(delivery, event, delivery.thread_key, record, actions, shown)

    # -- doing it ------------------------------------------------------------------------

    async def _carry_out(
        self, kind: ActionKind, click: Click, found: _Conversation, now: float
    ) -> tuple[dict[str, Any], str]:
        """Call the provider (or change our own store); the detail to keep and its answer."""
        source = self.settings.sources[found.event.source]
        who = self.identity(click.user, click.user_name)
        if kind.name in STATUS_AFTER and isinstance(source, PagerDutySource):
            incident = found.thread_key.removeprefix("pagerduty:")
            status = await pagerduty.set_status(
                self.session, source, incident, STATUS_AFTER[kind.name], who
            )
            return {"incident": incident}, f"incident {incident} is {status}"
        if kind.name.startswith("silence") and isinstance(source, SilenceApi):
            name = PROVIDER_NAMES[source.provider]
            labels = found.event.detail.get("matchers", {})
            comment = f"Silenced from chat by {who}" + (f": {click.link}" if click.link else "")
            until = now + kind.hours * 3600
            silence = await silences.create_silence(
                self.session, name, source, labels, who, comment, now, until
            )
            return {"silence": silence, "until": until}, f"silence {silence}"
        if kind.name == "unsilence" and isinstance(source, SilenceApi):
            active = found.live(SILENCES, "unsilence", now)
            silence = str(active.detail["silence"]) if active else ""
            await silences.expire_silence(
                self.session, PROVIDER_NAMES[source.provider], source, silence
            )
            return {"silence": silence}, f"silence {silence} expired"
        if kind.name == "rerun" and isinstance(source, GitHubSource):
            repo, run = _run_of(found.event.detail.get("labels", {}), found.thread_key)
            await github.rerun_failed_jobs(self.session, source, repo, run)
            # The endpoint takes no note, and GitHub's log names the api_token's account:
            # who asked is said here, in the record `why` and the inspector show.
            return {"run": run}, (
                f"run {run}: failed jobs re-run, asked by {who} "
                "(GitHub's own log names the api_token's account)"
            )
        if kind.name == "mute_1h":
            return await self._mute(kind, click, found, now)
        if kind.name == "unmute":
            active = found.live(("mute_1h",), "unmute", now)
            mute_id = int(active.detail["mute"]) if active else 0
            await self.store.end_mute(mute_id, now, f"{click.platform}:{click.user}", "unmuted")
            return {"mute": mute_id}, f"m{mute_id} lifted"
        raise ActionFailed(f"{source.provider} cannot {kind.label.lower()}")

    async def _mute(
        self, kind: ActionKind, click: Click, found: _Conversation, now: float
    ) -> tuple[dict[str, Any], str]:
        """A mute of this conversation in this channel: its later events are kept, not posted."""
        ref = found.record.ref if found.record is not None else {}
        address = found.delivery.address
        until = now + kind.hours * 3600
        name = f" ({click.user_name})" if click.user_name else ""
        mute_id = await self.store.add_mute(
            MuteRecord(
                selector={},
                platform=found.delivery.platform,
                channel=str(ref.get("channel") or click.channel),
                # A target written as #name posts there too: the mute covers both forms.
                channel_name=address[1:] if address.startswith("#") else "",
                everywhere=False,
                threads=[found.thread_key],
                reason="muted from the message",
                creator=f"{click.platform}:{click.user}{name}",
                created_at=now,
                expires_at=until,
            )
        )
        return {"mute": mute_id, "until": until}, f"m{mute_id}"

    # -- telling -----------------------------------------------------------------------

    def _row(
        self,
        click: Click,
        found: _Conversation,
        kind: ActionKind,
        outcome: str,
        answer: str,
        now: float,
        dedup_key: str | None = None,
    ) -> ActionRecord:
        return ActionRecord(
            action=kind.name,
            source=found.event.source,
            delivery_id=found.delivery.id,
            target=found.delivery.target,
            thread_key=found.thread_key,
            platform=click.platform,
            user_id=click.user,
            user_name=click.user_name,
            identity=self.identity(click.user, click.user_name),
            outcome=outcome,
            answer=answer,
            created_at=now,
            dedup_key=dedup_key,
            finished_at=None if outcome == "running" else now,
        )

    async def _record(
        self,
        click: Click,
        found: _Conversation,
        kind: ActionKind,
        outcome: str,
        answer: str,
        now: float,
    ) -> None:
        await self.store.start_action(self._row(click, found, kind, outcome, answer, now))
        self.count(found.event.source, kind.name, outcome)
        log.info(
            "action",
            extra={
                "action": kind.name,
                "source": found.event.source,
                "outcome": outcome,
                "user": f"{click.platform}:{click.user}",
            },
        )

    async def _queue(
        self,
        click: Click,
        found: _Conversation,
        state: State,
        line: str,
        now: float,
        *,
        refresh_only: bool,
    ) -> None:
        """The conversation's message again, with the buttons of ``state`` and ``line``
        saying who did what, as an outbox row that edits it (and replies ``line``)."""
        base = found.shown or found.delivery
        message = Message.model_validate(base.message)
        message.actions = buttons(
            self.settings, found.event.source, state, found.delivery.platform, click.value
        )
        if line:
            message.footer = f"{line} · {message.footer}" if message.footer else line
            message.reply = f"{_EMOJI.get(click.action, '👆')} {line}"
            message.elapsed = ""
        if state.status == "resolved":
            message.color = RESOLVED_COLOR
        latest = found.record.latest_at if found.record is not None else 0.0
        ident = f"a{int(now * 1000)}.{click.action}"
        delivery = found.delivery
        await self.store.enqueue(
            [
                DeliveryRecord(
                    id=f"{ident}/{delivery.target}",
                    event_id=ident,
                    target=delivery.target,
                    platform=delivery.platform,
                    address=delivery.address,
                    message=message.model_dump(),
                    state="pending",
                    lifecycle="update" if refresh_only else "update+thread",
                    thread_key=found.thread_key,
                    status=state.status,
                    occurred_at=max(now, latest),
                    created_at=now,
                    source=found.event.source,
                    event_type=f"action.{click.action}",
                )
            ],
            now,
        )
        self.nudge()


_PROVIDERS = {
    "acknowledge",
    "resolve",
    "silence_1h",
    "silence_4h",
    "silence_24h",
    "unsilence",
    "rerun",
}
_EMOJI = {"acknowledge": "👀", "resolve": "✅", "unsilence": "🔔", "unmute": "🔔", "rerun": "🔁"}


def _fix(http_status: int | None, source: str) -> str:
    """What an operator changes when the provider refused the source's credentials."""
    if http_status == 401:
        return (
            f"; fix: give [sources.{source}] a valid api_token (the one set is wrong, "
            "expired or revoked)"
        )
    if http_status == 403:
        return (
            f"; fix: grant the account behind [sources.{source}]'s api_token this "
            "permission, or set a token that has it"
        )
    return ""


def _mention(click: Click) -> str:
    return f"@{click.user_name}" if click.user_name else f"@{click.user}"


def _run_of(labels: dict[str, str], thread_key: str) -> tuple[str, str]:
    """The repository and run id of a failed workflow run: its labels (``repo``, ``run``),
    or, for runs recorded before they carried ``run``, its own thread key
    (``github:acme/web:run:42``). A run of a pull request is in that pull request's thread."""
    if labels.get("run") and labels.get("repo"):
        return labels["repo"], labels["run"]
    _, repo, _, run = thread_key.split(":", 3)
    return repo, run


def _stale_reason(kind: ActionKind, state: State) -> str:
    if state.status == "resolved":
        return "it was resolved meanwhile"
    if state.silenced:
        return "it is silenced already"
    if kind.name == "acknowledge" and state.status == "acknowledged":
        return "it was acknowledged meanwhile"
    if kind.name == "unsilence":
        return "its silence is over"
    if kind.name == "unmute":
        return "the mute is over"
    if kind.name == "mute_1h":
        return "it is muted already"
    return "the source's API is not configured for it any more"

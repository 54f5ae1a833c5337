"""Apply: run a parsed, authorized command against the store and say what happened.

One ``CommandCore`` serves Slack, Discord and the CLI. It changes only the store (mutes,
reroutes, the outbox); the pipeline picks the changes up on its next event, and
announcements go out through the outbox like every other message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.chat import registry
from bot.chat.checks import Checkup
from bot.chat.directory import ChannelDirectory
from bot.commands.binding import Binding, Refused
from bot.commands.grammar import (
    FIXED_KEYS,
    SUMMARY,
    USAGE,
    CallerPlatform,
    Command,
    CommandError,
    Help,
    ListOverrides,
    Mute,
    Replay,
    Reroute,
    SendTest,
    Status,
    Unmute,
    Unroute,
    Vocabulary,
    Why,
    parse,
)
from bot.commands.permissions import Caller, denial, unmute_denial
from bot.config.settings import Settings
from bot.core.durations import format_duration
from bot.pipeline.history import history_lines
from bot.pipeline.notices import end_mute, notice, notice_destination, started_message
from bot.pipeline.overrides import Destination, Selector, destination_for, in_force, reaches
from bot.pipeline.replay import ReplayError, replay
from bot.render.renderer import Message
from bot.store import DeliveryRecord, EventRecord, MuteRecord, RerouteRecord, Store

log = logging.getLogger("bot.commands")

DEFAULT_MUTE_SECONDS = 3600.0
MAX_TABLE_ROWS = 25


@dataclass(frozen=True)
class Reply:
    """What the person who typed the command sees (only they see it)."""

    text: str
    table: tuple[tuple[str, ...], ...] = ()
    """Rows, the first one the header; shown in monospace so columns line up."""
    ok: bool = True

    def table_text(self) -> str:
        if not self.table:
            return ""
        widths = [max(len(row[i]) for row in self.table) for i in range(len(self.table[0]))]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in self.table
        )


def _nothing() -> None:
    return None


def _not_counted(platform: str, reason: str) -> None:
    return None


def _ago(seconds: float) -> str:
    return f"{format_duration(max(seconds, 0))} ago"


async def answered(work: Awaitable[Reply], **context: Any) -> Reply:
    """A command's reply, or, when it raised unexpectedly, a reply saying so: whoever typed
    it always gets an answer, and the log gets the trace (with ``context``). Every chat's
    command front end awaits its command through this."""
    try:
        return await work
    except Exception as exc:
        log.exception("command failed", extra=context)
        return Reply(f"the command failed ({type(exc).__name__}); the bot's log says more")


class CommandCore:
    """parse -> authorize -> apply -> reply, shared by every front end."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        nudge: Callable[[], None] = _nothing,
        clock: Callable[[], float] = time.time,
        directory: ChannelDirectory | None = None,
        bindings: Mapping[str, Binding] | None = None,
        refused: Refused = _not_counted,
        checkup: Checkup | None = None,
    ) -> None:
        self.settings = settings
        self.checkup = checkup
        """The running bot's chat checks; none from the command line, which has no bot."""
        self.store = store
        self.nudge = nudge
        self.directory = directory
        self.clock = clock
        self.bindings: Mapping[str, Binding] = bindings or {}
        """Per chat platform, the workspaces whose commands are accepted."""
        self.refused = refused
        self._actions: dict[type[Any], Callable[[Any, Caller, float], Awaitable[Reply]]] = {
            Mute: self._mute,
            Unmute: self._unmute,
            Reroute: self._reroute,
            Unroute: self._unroute,
            ListOverrides: self._list,
            Status: self._status,
            Why: self._why,
            Replay: self._replay,
            SendTest: self._test,
            Help: self._help,
        }

    def vocabulary(self, platform: CallerPlatform) -> Vocabulary:
        route_keys = {
            key
            for route in self.settings.routes
            for key in (*route.match, *route.exclude)
            if key not in FIXED_KEYS
        }
        return Vocabulary(
            sources=tuple(self.settings.sources),
            targets=self.settings.targets,
            platform=platform,
            label_keys=frozenset(route_keys),
        )

    async def run(self, text: str, caller: Caller) -> Reply:
        """Run a command as typed (Slack, the CLI)."""
        if (refused := await self.unbound(caller)) is not None:
            return refused
        try:
            command = parse(text, self.vocabulary(caller.platform))
        except CommandError as exc:
            return Reply(str(exc), ok=False)
        return await self._authorized(command, caller)

    async def execute(self, command: Command, caller: Caller) -> Reply:
        """Run a parsed command (Discord builds it from options)."""
        if (refused := await self.unbound(caller)) is not None:
            return refused
        return await self._authorized(command, caller)

    async def unbound(self, caller: Caller) -> Reply | None:
        """A refusal when ``caller`` is not in a workspace this bot takes commands from;
        checked before anything else, so an outsider learns nothing from a parse error."""
        if caller.platform == "cli":
            return None
        binding = self.bindings.get(caller.platform)
        if binding is None:
            refusal: tuple[str, str] | None = (
                "no binding",
                f"commands from {caller.platform} are not accepted here",
            )
        else:
            refusal = await binding.refusal(caller.workspace)
        if refusal is None:
            return None
        reason, text = refusal
        log.warning(
            "command refused",
            extra={"platform": caller.platform, "workspace": caller.workspace, "reason": reason},
        )
        self.refused(caller.platform, reason)
        return Reply(text, ok=False)

    async def _authorized(self, command: Command, caller: Caller) -> Reply:
        refused = denial(command, caller, self.settings.commands.admins)
        if refused:
            log.info(
                "command denied", extra={"user": caller.creator, "command": type(command).__name__}
            )
            return Reply(refused, ok=False)
        try:
            reply = await self._actions[type(command)](command, caller, self.clock())
        except CommandError as exc:
            return Reply(str(exc), ok=False)
        log.info(
            "command",
            extra={"user": caller.creator, "command": type(command).__name__, "ok": reply.ok},
        )
        return reply

    async def _check_destination(self, where: Destination, caller: Caller) -> None:
        """A route or test goes to a configured target, or to a channel of the caller's
        own workspace: never into a guild or workspace the caller merely names."""
        if where.target or caller.platform == "cli":
            return
        if where.platform != caller.platform:
            raise CommandError(
                f"{where} is a {where.platform} channel no target names: from "
                f"{caller.platform}, name a configured target instead"
            )
        binding = self.bindings.get(caller.platform)
        if binding is None or not await binding.same_home(where.address, caller.workspace):
            noun = binding.workspaces.noun if binding else "workspace"
            raise CommandError(
                f"{where} is not a channel of this {noun} (or cannot be checked): "
                "name a configured target or a channel here"
            )

    # -- mute and unmute --------------------------------------------------------------

    def _scope(self, command: Mute, caller: Caller) -> tuple[str, str, str]:
        """(platform, channel, channel name) a mute is set in."""
        if command.place is not None:
            address = command.place.address
            name = address[1:] if address.startswith("#") else ""
            return command.place.platform, address, name
        if caller.platform == "cli":
            return "", "", ""
        return caller.platform, caller.channel, caller.channel_name

    async def _bound_threads(self, selector: Selector, now: float) -> list[str]:
        since = now - self.settings.store.retention_days * 86400
        open_now = await self.store.open_threads(since)
        keys = [r.thread_key for r in open_now if r.thread_key and selector.matches_record(r)]
        if not keys:
            raise CommandError(
                f"nothing open matches `{selector}` right now: `until resolved` binds to "
                "alerts or incidents already open; use `for <duration>` instead"
            )
        return keys

    async def _mute(self, command: Mute, caller: Caller, now: float) -> Reply:
        platform, channel, channel_name = self._scope(command, caller)
        threads = await self._bound_threads(command.selector, now) if command.until_resolved else []
        duration = command.duration
        if duration is None and not threads:
            duration = DEFAULT_MUTE_SECONDS
        record = MuteRecord(
            selector=command.selector.terms,
            platform=platform,
            channel=channel,
            channel_name=channel_name,
            everywhere=command.everywhere,
            threads=threads,
            reason=command.reason,
            creator=caller.creator,
            created_at=now,
            expires_at=now + duration if duration is not None else None,
        )
        mute = replace(record, id=await self.store.add_mute(record))
        where = notice_destination(mute, self.settings, self.directory)
        if where is not None:
            message = started_message(mute, where.platform)
            await self.store.enqueue([notice(f"m{mute.id}.started", where, message, now)], now)
            self.nudge()
        scope = "everywhere" if mute.everywhere else f"in {where or channel or 'this channel'}"
        if threads:
            until = f"until {len(threads)} open conversation(s) resolve"
        else:
            default = " (the default: say `for 2h` or `until resolved`)"
            until = f"for {format_duration(duration or 0)}{'' if command.duration else default}"
        because = f" because {mute.reason}" if mute.reason else ""
        lines = [
            f"Muted m{mute.id}: `{command.selector}` {scope} {until}{because}.",
            f"Matching events are kept, not posted; `unmute m{mute.id}` lifts it early.",
            *(f"Note: {note}" for note in command.notes),
        ]
        return Reply("\n".join(lines))

    async def _unmute(self, command: Unmute, caller: Caller, now: float) -> Reply:
        mute = await self.store.get_mute(command.id)
        if mute is None:
            raise CommandError(f"no mute m{command.id} (`list` shows the ones in force)")
        if mute.ended_at is not None:
            raise CommandError(f"m{mute.id} already ended {_ago(now - mute.ended_at)}")
        refused = unmute_denial(mute, caller, self.settings.commands.admins)
        if refused:
            return Reply(refused, ok=False)
        ended = await end_mute(
            self.store, self.settings, mute.id, now, caller.creator, "unmuted", self.directory
        )
        if ended is None:
            raise CommandError(f"m{mute.id} ended a moment ago")
        self.nudge()
        where = notice_destination(mute, self.settings, self.directory)
        posted = f"; the digest goes to {where}" if where else ""
        return Reply(f"Unmuted m{mute.id} (`{Selector(mute.selector)}`): {ended[1]}{posted}.")

    # -- route and unroute ------------------------------------------------------------

    async def _reroute(self, command: Reroute, caller: Caller, now: float) -> Reply:
        where = command.destination
        await self._check_destination(where, caller)
        record = RerouteRecord(
            selector=command.selector.terms,
            target=where.target,
            platform=where.platform,
            address=where.address,
            label=str(where),
            creator=caller.creator,
            created_at=now,
            expires_at=now + command.duration if command.duration else None,
        )
        reroute_id = await self.store.add_reroute(record)
        until = (
            f"for {format_duration(command.duration)}"
            if command.duration
            else f"until `unroute r{reroute_id}`"
        )
        lines = [f"Rerouted r{reroute_id}: `{command.selector}` now goes to {where} {until}."]
        if not self._configured(where.platform):
            lines.append(
                f"Note: {where.platform} is not configured here, so those messages wait as dead "
                "letters until it is."
            )
        lines.extend(f"Note: {note}" for note in command.notes)
        return Reply("\n".join(lines))

    def _configured(self, platform: str) -> bool:
        known = registry.PLATFORMS.get(platform)
        return known is not None and known.configured(self.settings)

    async def _unroute(self, command: Unroute, caller: Caller, now: float) -> Reply:
        reroute = await self.store.get_reroute(command.id)
        if reroute is None:
            raise CommandError(f"no reroute r{command.id} (`list` shows the ones in force)")
        ended = await self.store.end_reroute(command.id, now, caller.creator)
        if ended is None:
            raise CommandError(f"r{command.id} already ended")
        return Reply(
            f"Removed r{command.id}: `{Selector(reroute.selector)}` follows the routes again."
        )

    # -- reading ------------------------------------------------------------------------

    async def _list(self, command: ListOverrides, caller: Caller, now: float) -> Reply:
        mutes = in_force(await self.store.live_mutes(), now)
        reroutes = in_force(await self.store.live_reroutes(), now)
        if not mutes and not reroutes:
            return Reply("No mutes or reroutes in force.")
        rows: list[tuple[str, ...]] = [("ID", "WHAT", "WHERE", "BY", "REASON", "ENDS")]
        for mute in mutes:
            where = "everywhere" if mute.everywhere else _channel_label(mute)
            rows.append(
                (
                    f"m{mute.id}",
                    str(Selector(mute.selector)),
                    where,
                    _who(mute.creator),
                    mute.reason or "-",
                    _ends(mute.expires_at, now, len(mute.threads)),
                )
            )
        for reroute in reroutes:
            rows.append(
                (
                    f"r{reroute.id}",
                    str(Selector(reroute.selector)),
                    f"→ {reroute.label or reroute.target or reroute.address}",
                    _who(reroute.creator),
                    "-",
                    _ends(reroute.expires_at, now, 0),
                )
            )
        shown = rows[: MAX_TABLE_ROWS + 1]
        more = len(rows) - len(shown)
        text = f"{len(mutes)} mute(s), {len(reroutes)} reroute(s) in force"
        return Reply(text + (f" ({more} more not shown)" if more else "") + ":", tuple(shown))

    async def _status(self, command: Status, caller: Caller, now: float) -> Reply:
        counts = await self.store.counts()
        mutes = in_force(await self.store.live_mutes(), now)
        reroutes = in_force(await self.store.live_reroutes(), now)
        lines = [
            f"Queue: {counts.get('inbox_new', 0)} request(s) to normalize, "
            f"{counts.get('deliveries_pending', 0)} message(s) to post.",
            f"Delivered {counts.get('deliveries_sent', 0)}; muted (kept, not posted) "
            f"{counts.get('deliveries_muted', 0)}; dead letters "
            f"{counts.get('deliveries_dead', 0) + counts.get('inbox_dead', 0)}.",
            f"In force: {len(mutes)} mute(s), {len(reroutes)} reroute(s) (`list` shows them).",
        ]
        if self.checkup is not None:
            lines.append("Chat:")
            lines.extend(f"  {line}" for line in self.checkup.lines())
        rejected = await self.store.rejections()
        if rejected:
            lines.append("Rejected webhooks (check the sender's secret):")
            lines.extend(
                f"  {r['source']}: {r['reason']} ×{r['count']}, last {_ago(now - r['last_at'])}"
                for r in rejected[:5]
            )
        dead = await self.store.dead_letters(3)
        if dead:
            lines.append("Recent failures (`replay <id>` to try again):")
            lines.extend(f"  {d['id']} {d['target']}: {d['error']}" for d in dead)
        return Reply("\n".join(lines))

    def _shown_to(self, deliveries: list[DeliveryRecord], caller: Caller) -> bool:
        """Whether ``why`` explains an event with these deliveries to the caller: a
        channel it was meant for, or the operator at the command line, who also sees the
        events posted nowhere (ignored by default, unrouted)."""
        if caller.platform == "cli":
            return True
        return any(self._meant_here(d, caller) for d in deliveries)

    def _meant_here(self, delivery: DeliveryRecord, caller: Caller) -> bool:
        """Whether a copy was meant for the caller's channel (the CLI sees everything)."""
        if caller.platform == "cli":
            return True
        return reaches(
            delivery.platform,
            delivery.address,
            caller.platform,
            caller.channel,
            caller.channel_name,
            self.directory,
        )

    async def _why(self, command: Why, caller: Caller, now: float) -> Reply:
        """Events are explained only to the channels they were meant for: ids are
        sequential, so anyone could otherwise read every event's title."""
        ident = command.id
        if ident[:1] in "mr" and ident[1:].isdigit():
            return await self._why_override(ident, now)
        event_id = ident.split("/", 1)[0]
        if "." in event_id:
            deliveries = await self.store.deliveries_for(ident)
            event = await self.store.get_event(event_id)
            if not self._shown_to(deliveries, caller) or (event is None and not deliveries):
                raise CommandError(
                    f"no event or delivery {ident!r} meant for this channel (ids look like 12.0)"
                )
            clicks = await self._clicks([d for d in deliveries if self._meant_here(d, caller)], now)
            return Reply("\n".join([*_explain(self.settings, event, deliveries, now), *clicks]))
        if not ident.isdigit():
            raise CommandError(
                f"{ident!r} is not an id: a request (12), event (12.0) or delivery (12.0/eng)"
            )
        events = await self.store.events_of(int(ident))
        lines: list[str] = []
        for event in events:
            deliveries = await self.store.deliveries_for(event.id)
            if self._shown_to(deliveries, caller):
                lines.extend(_explain(self.settings, event, deliveries, now))
                here = [d for d in deliveries if self._meant_here(d, caller)]
                lines.extend(await self._clicks(here, now))
        if lines:
            return Reply("\n".join(lines))
        if caller.platform != "cli":
            raise CommandError(f"no request {ident} with events meant for this channel")
        if await self.store.get_inbox(int(ident)) is None:
            raise CommandError(f"no request {ident}")
        return Reply(
            f"Request {ident} produced no events yet: not normalized yet, an event type "
            "nobody renders (ignored), or it failed (`status` lists failures)."
        )

    async def _clicks(self, deliveries: list[DeliveryRecord], now: float) -> list[str]:
        """The buttons pressed on these deliveries' conversations, and what came of it."""
        lines = []
        for target, key in sorted({(d.target, d.thread_key) for d in deliveries if d.thread_key}):
            for action in await self.store.actions_of(target, key):
                who = f"{action.user_name or action.user_id} ({action.platform}:{action.user_id})"
                lines.append(
                    f"  {target}: {action.action} by {who} {_ago(now - action.created_at)}: "
                    f"{action.outcome}" + (f": {action.answer}" if action.answer else "")
                )
        return lines

    async def _why_override(self, ident: str, now: float) -> Reply:
        number = int(ident[1:])
        if ident[0] == "r":
            reroute = await self.store.get_reroute(number)
            if reroute is None:
                raise CommandError(f"no reroute {ident}")
            return Reply(
                f"{ident}: `{Selector(reroute.selector)}` -> {reroute.label or reroute.target}, "
                f"set by {_who(reroute.creator)} {_ago(now - reroute.created_at)}"
                + (f", ended {_ago(now - reroute.ended_at)}" if reroute.ended_at else "")
            )
        mute = await self.store.get_mute(number)
        if mute is None:
            raise CommandError(f"no mute {ident}")
        held = {d.event_id for d in await self.store.suppressed_by(number)}
        state = (
            f"ended {_ago(now - mute.ended_at)} ({mute.end_reason})"
            if mute.ended_at
            else f"ends {_ends(mute.expires_at, now, len(mute.threads))}"
        )
        return Reply(
            f"{ident}: `{Selector(mute.selector)}` "
            f"{'everywhere' if mute.everywhere else 'in ' + _channel_label(mute)}, "
            f"set by {_who(mute.creator)} {_ago(now - mute.created_at)}, {state}; "
            f"held back {len(held)} event(s)."
        )

    # -- acting -------------------------------------------------------------------------

    async def _replay(self, command: Replay, caller: Caller, now: float) -> Reply:
        try:
            replayed = await replay(self.store, command.id, now)
        except ReplayError as exc:
            raise CommandError(str(exc)) from None
        self.nudge()
        return Reply(f"Queued {replayed.what}; a running bot delivers it within a second.")

    async def _test(self, command: SendTest, caller: Caller, now: float) -> Reply:
        where = command.destination
        if where is None:
            where = destination_for(
                registry.caller_platform(caller.platform),
                caller.channel,
                caller.channel_name,
                self.settings.targets,
                self.directory,
            )
        else:
            await self._check_destination(where, caller)
        # The name is the caller's to choose (``<!channel>``): escaped like any payload text.
        escape = registry.formatter(where.platform).escape
        message = Message(
            title="✅ Test message from /notify",
            text=escape(
                f"Requested by {caller.user_name or caller.user}. Messages can reach {where}."
            ),
        )
        event_id = f"test.{int(now * 1000)}"
        await self.store.enqueue([notice(event_id, where, message, now)], now)
        self.nudge()
        return Reply(
            f"Test message queued for {where}; if it does not arrive, "
            f"`why {event_id}/{where.name}` says why."
        )

    async def _help(self, command: Help, caller: Caller, now: float) -> Reply:
        names = [command.topic] if command.topic else list(USAGE)
        lines = [f"`{USAGE[name]}`: {SUMMARY[name]}" for name in names]
        if not command.topic or command.topic in ("mute", "route"):
            lines += [
                "A selector is key=glob terms, all of which must match; a bare word is a source "
                "name: `github repo=acme/*`, `alertname=DiskFull`, `severity>=error`.",
                f"Durations: 30m, 2h, 1d. A mute without one lasts "
                f"{format_duration(DEFAULT_MUTE_SECONDS)}.",
            ]
        return Reply("\n".join(lines))


def _who(creator: str) -> str:
    """``slack:U123 (alice)`` -> ``alice``; ``cli:ops`` -> ``ops``."""
    rest = creator.split(":", 1)[-1]
    return rest.split(" (", 1)[1].rstrip(")") if " (" in rest else rest


def _channel_label(mute: MuteRecord) -> str:
    if mute.channel_name:
        return f"#{mute.channel_name.lstrip('#')}"
    return mute.channel or "?"


def _ends(expires_at: float | None, now: float, threads: int) -> str:
    if threads:
        return f"when {threads} conversation(s) resolve"
    if expires_at is None:
        return "never"
    return f"in {format_duration(max(expires_at - now, 0))}"


def _explain(
    settings: Settings, event: EventRecord | None, deliveries: list[DeliveryRecord], now: float
) -> list[str]:
    """An event's path in plain words: routes (as decided then, and today's where they
    differ), reroute, mutes, each delivery's fate."""
    lines: list[str] = []
    if event is not None:
        detail = event.detail
        status = f", status {event.status}" if event.status else ""
        lines.append(f"{event.id}: {event.source} {event.type} ({event.severity}{status})")
        lines.append(f"  {event.title}")
        lines.extend(f"  {line}" for line in history_lines(settings, event.decision, detail))
        for note in ("heartbeat", "ignored"):
            if detail.get(note):
                lines.append(f"  {detail[note]}")
        if detail.get("rerouted_by"):
            targets = ", ".join(detail.get("targets", []))
            lines.append(f"  rerouted by {detail['rerouted_by']} -> {targets}")
        if detail.get("group"):
            lines.append(f"  grouped: {detail['group']}")
        if detail.get("held"):
            lines.append(f"  {detail['held']}")
    for delivery in deliveries:
        lines.append(f"  {delivery.id}: {_fate(delivery)}")
    return lines


def _fate(delivery: DeliveryRecord) -> str:
    if delivery.state == "sent" and delivery.ref.get("action") == "grouped":
        return f"posted in digest {delivery.ref.get('digest')} (a burst, one message)"
    if delivery.state == "sent":
        return f"posted (attempt {delivery.attempts})"
    if delivery.state == "muted":
        return f"{delivery.last_error or 'muted'} (kept; `replay {delivery.id}` posts it)"
    if delivery.state == "dead":
        return f"dead after {delivery.attempts} attempt(s): {delivery.last_error}"
    retry = f", last error: {delivery.last_error}" if delivery.last_error else ""
    return f"waiting to be posted (attempt {delivery.attempts}{retry})"


__all__ = ["Caller", "CommandCore", "Reply"]

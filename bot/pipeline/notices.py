"""What the bot tells a channel about its own state: a mute starts, a mute ends (with one
digest of what it kept back), a test message.

Every notice is an outbox row like any webhook's delivery, so pacing, retry and dead
letters apply to it too; nothing here talks to a chat platform.
"""

from __future__ import annotations

import logging
from collections import Counter

from bot.chat import registry
from bot.chat.directory import ChannelDirectory
from bot.config.settings import Settings
from bot.core.durations import format_duration
from bot.pipeline.overrides import Destination, Selector, destination_for
from bot.render.renderer import Formatter, Message
from bot.store import DeliveryRecord, MuteRecord, Store

log = logging.getLogger("bot.mutes")

MUTED_COLOR = "#8D8D8D"
UNMUTED_COLOR = "#2EB67D"
DIGEST_LINES = 5
FIRING = ("open", "acknowledged")


def notice_destination(
    mute: MuteRecord, settings: Settings, directory: ChannelDirectory | None = None
) -> Destination | None:
    """Where a mute is announced: the channel it was set in, else ``[delivery] notify``."""
    if mute.platform in registry.PLATFORMS and mute.channel:
        return destination_for(
            mute.platform, mute.channel, mute.channel_name, settings.targets, directory
        )
    notify = settings.delivery.notify
    if notify and notify in settings.targets:
        target = settings.targets[notify]
        return Destination(target.platform, target.address, notify, notify)
    return None


def notice(event_id: str, where: Destination, message: Message, now: float) -> DeliveryRecord:
    """An outbox row that belongs to no webhook: ``<event_id>/<target>``."""
    return DeliveryRecord(
        id=f"{event_id}/{where.name}",
        event_id=event_id,
        target=where.name,
        platform=where.platform,
        address=where.address,
        message=message.model_dump(),
        lifecycle="new",
        occurred_at=now,
        created_at=now,
    )


def _scope(mute: MuteRecord) -> str:
    if mute.everywhere:
        return "in every channel"
    return "in this channel"


def _until(mute: MuteRecord) -> str:
    if len(mute.threads) == 1:
        return "until its conversation resolves"
    if mute.threads:
        return f"until {len(mute.threads)} conversations resolve"
    if mute.expires_at is None:
        return "until unmuted"
    return f"for {format_duration(mute.expires_at - mute.created_at)}"


def _formatter(platform: str) -> Formatter:
    return registry.formatter(platform)


def started_message(mute: MuteRecord, platform: str) -> Message:
    text = _formatter(platform)
    what = text.escape(str(Selector(mute.selector)))
    reason = f"\nReason: {text.escape(mute.reason)}" if mute.reason else ""
    who = text.escape(mute.creator.split(":", 1)[-1])
    return Message(
        title=f"🔕 Mute m{mute.id}: {what} {_scope(mute)} {_until(mute)}",
        text=f"Set by {who}.{reason}\nLift it with {text.code(f'/notify unmute m{mute.id}')}.",
        color=MUTED_COLOR,
        footer="Matching events are kept; a digest follows when the mute ends.",
    )


def _ended_how(mute: MuteRecord) -> str:
    if mute.end_reason == "expired":
        return "expired"
    if mute.end_reason == "resolved":
        return "ended: its conversations resolved"
    who = mute.ended_by.split(":", 1)[-1]
    return f"lifted by {who}" if who else "lifted"


def digest(suppressed: list[DeliveryRecord], states: dict[str, str | None]) -> tuple[str, str]:
    """The one-line summary and the top lines of what a mute kept back."""
    events = {d.event_id: d for d in suppressed}
    if not events:
        return "nothing was held back", ""
    count = len(events)
    threads = {d.thread_key for d in events.values() if d.thread_key}
    alerting = any(d.status for d in events.values())
    if alerting:
        firing = sum(1 for key in threads if states.get(key) in FIRING)
        summary = f"while muted: {count} alert{'s' * (count != 1)}, {firing} still firing"
    else:
        summary = f"while muted: {count} event{'s' * (count != 1)}"
    titles = Counter(str(d.message.get("title", "")) for d in events.values())
    lines = [f"{n}× {title}" if n > 1 else title for title, n in titles.most_common(DIGEST_LINES)]
    if len(titles) > DIGEST_LINES:
        lines.append(f"… and {len(titles) - DIGEST_LINES} more")
    return summary, "\n".join(lines)


def ended_message(mute: MuteRecord, platform: str, summary: str, top: str) -> Message:
    """Titles in ``top`` were rendered for their platform when they were suppressed."""
    text = _formatter(platform)
    what = text.escape(str(Selector(mute.selector)))
    how = text.escape(_ended_how(mute))
    muted_for = f"Muted for {format_duration((mute.ended_at or 0) - mute.created_at)}."
    replay_hint = " Any of them can be posted again with /notify replay <event id>."
    return Message(
        title=f"🔔 Mute m{mute.id} ({what}) {how}; {summary}",
        text=top,
        color=UNMUTED_COLOR,
        footer=text.escape(muted_for + (replay_hint if top else "")),
    )


async def end_mute(
    store: Store,
    settings: Settings,
    mute_id: int,
    now: float,
    by: str,
    reason: str,
    directory: ChannelDirectory | None = None,
) -> tuple[MuteRecord, str] | None:
    """End a live mute and queue its closing announcement with the digest.

    Returns the ended mute and the digest's summary, or None when it was not live
    (another instance or the clock ended it first: only the one that ends it announces).
    """
    mute = await store.end_mute(mute_id, now, by, reason)
    if mute is None:
        return None
    suppressed = await store.suppressed_by(mute.id)
    states = await store.thread_states(sorted({d.thread_key for d in suppressed if d.thread_key}))
    summary, top = digest(suppressed, states)
    where = notice_destination(mute, settings, directory)
    if where is not None:
        message = ended_message(mute, where.platform, summary, top)
        await store.enqueue([notice(f"m{mute.id}.ended", where, message, now)], now)
    log.info(
        "mute ended",
        extra={"mute": f"m{mute.id}", "why": reason, "by": by, "suppressed": len(suppressed)},
    )
    return mute, summary

"""Mutes and reroutes set at runtime, applied on top of the configured routes.

The normalize stage loads the ones in force for each request (they live in the store, so
every instance sees a mute the moment it is made, and an expired one stops applying at
once, before the clock task announces its end). A reroute sends a matching event to its
destination instead of the routes' targets; a mute then keeps each copy bound for a
channel it covers from being posted, recorded as a delivery in state ``muted``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from bot.chat import registry
from bot.chat.directory import ChannelDirectory
from bot.config.settings import TargetConfig
from bot.core.events import Event
from bot.pipeline.route import Condition, Decision
from bot.store import EventRecord, MuteRecord, RerouteRecord, Store

DEFAULT_LIFECYCLE = "update+thread"
Timed = TypeVar("Timed", MuteRecord, RerouteRecord)


@dataclass(frozen=True)
class Selector:
    """Space-separated ``key=glob`` terms, all of which must match (as in a route)."""

    terms: dict[str, list[str]]

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return tuple(Condition(key, tuple(patterns)) for key, patterns in self.terms.items())

    def matches(self, event: Event) -> bool:
        return all(condition.holds(event) for condition in self.conditions)

    def matches_record(self, record: EventRecord) -> bool:
        return self.matches(Event.model_validate(record.detail))

    def __str__(self) -> str:
        return " ".join(
            f"{key}{'' if p.startswith('>=') else '='}{p}"
            for key, patterns in self.terms.items()
            for p in patterns
        )


@dataclass(frozen=True)
class Destination:
    """A place to post: a configured target, or a bare channel no target names."""

    platform: str
    address: str
    target: str = ""
    label: str = ""

    @property
    def name(self) -> str:
        """The delivery id's target part (``<event>/<name>``)."""
        return self.target or f"{self.platform}:{self.address}"

    def __str__(self) -> str:
        return self.label or self.target or self.address


def channel_forms(platform: str, channel: str, channel_name: str) -> set[str]:
    """Every way a target may name one channel: its id, and ``#name`` on a platform
    whose targets name channels so (Slack)."""
    forms = {channel} if channel else set()
    known = registry.PLATFORMS.get(platform)  # a mute from the command line has none
    if known is not None and known.names_channels and channel_name:
        forms.add(f"#{channel_name.lstrip('#')}")
    return forms


def destination_for(
    platform: str,
    channel: str,
    channel_name: str,
    targets: Mapping[str, TargetConfig],
    directory: ChannelDirectory | None = None,
) -> Destination:
    """The configured target that posts into a channel, else the bare channel."""
    forms = channel_forms(platform, channel, channel_name)
    for name, target in targets.items():
        if target.platform == platform and _posts_into(target.address, forms, directory):
            return Destination(platform, target.address, name, _label(platform, channel_name))
    return Destination(platform, channel, "", _label(platform, channel_name) or channel)


def _label(platform: str, channel_name: str) -> str:
    return f"#{channel_name.lstrip('#')}" if channel_name else ""


def covers(
    mute: MuteRecord, platform: str, address: str, directory: ChannelDirectory | None = None
) -> bool:
    """Whether a mute applies to copies posted at ``address``: its channel, or everywhere."""
    if mute.everywhere:
        return True
    return reaches(platform, address, mute.platform, mute.channel, mute.channel_name, directory)


def reaches(
    platform: str,
    address: str,
    channel_platform: str,
    channel: str,
    channel_name: str,
    directory: ChannelDirectory | None = None,
) -> bool:
    """Whether a copy posted at ``address`` on ``platform`` lands in that channel."""
    forms = channel_forms(channel_platform, channel, channel_name)
    return platform == channel_platform and _posts_into(address, forms, directory)


def _posts_into(address: str, forms: set[str], directory: ChannelDirectory | None) -> bool:
    """An address names the channel itself, or (a webhook) is known to post into it."""
    if address in forms:
        return True
    return directory is not None and directory.channel_of(address) in forms


@dataclass(frozen=True)
class Placement:
    """One copy of an event after runtime overrides: where it goes, and whether it waits."""

    destination: Destination
    lifecycle: str
    route: int | None
    muted_by: MuteRecord | None = None
    rerouted_by: RerouteRecord | None = None

    @property
    def note(self) -> str | None:
        if self.muted_by is None:
            return None
        reason = f" because {self.muted_by.reason}" if self.muted_by.reason else ""
        return f"muted by m{self.muted_by.id}{reason}"


@dataclass
class Overrides:
    """The mutes and reroutes in force at one moment."""

    mutes: list[MuteRecord] = field(default_factory=list)
    reroutes: list[RerouteRecord] = field(default_factory=list)
    open_threads: dict[int, set[str]] = field(default_factory=dict)
    """For ``until resolved`` mutes: the bound conversations not resolved yet."""
    directory: ChannelDirectory | None = None

    def place(
        self, event: Event, decisions: list[Decision], targets: Mapping[str, TargetConfig]
    ) -> list[Placement]:
        placements = self._reroute(event, decisions) or [
            Placement(
                Destination(targets[d.target].platform, targets[d.target].address, d.target),
                d.lifecycle,
                d.route,
            )
            for d in decisions
        ]
        return [self._mute(event, placement) for placement in placements]

    def _reroute(self, event: Event, decisions: list[Decision]) -> list[Placement]:
        for reroute in reversed(self.reroutes):  # the newest wins
            if Selector(reroute.selector).matches(event):
                lifecycle = decisions[0].lifecycle if decisions else DEFAULT_LIFECYCLE
                where = Destination(
                    reroute.platform, reroute.address, reroute.target, reroute.label
                )
                return [Placement(where, lifecycle, None, rerouted_by=reroute)]
        return []

    def _mute(self, event: Event, placement: Placement) -> Placement:
        where = placement.destination
        for mute in self.mutes:
            if not covers(mute, where.platform, where.address, self.directory):
                continue
            if mute.threads and not self._in_open_thread(mute, event):
                continue
            if Selector(mute.selector).matches(event):
                return Placement(
                    where, placement.lifecycle, placement.route, mute, placement.rerouted_by
                )
        return placement

    def _in_open_thread(self, mute: MuteRecord, event: Event) -> bool:
        # The resolution itself is posted: it ends the mute and tells the channel.
        open_keys = self.open_threads.get(mute.id, set())
        return event.thread_key in open_keys and event.status != "resolved"


def in_force(records: Iterable[Timed], now: float) -> list[Timed]:
    """Live records whose expiry has not passed."""
    return [r for r in records if r.expires_at is None or r.expires_at > now]


async def load_overrides(
    store: Store, now: float, directory: ChannelDirectory | None = None
) -> Overrides:
    """The overrides in force at ``now``, read from the store."""
    mutes = in_force(await store.live_mutes(), now)
    reroutes = in_force(await store.live_reroutes(), now)
    bound = [mute for mute in mutes if mute.threads]
    states = await store.thread_states(sorted({key for m in bound for key in m.threads}))
    open_threads = {
        mute.id: {key for key in mute.threads if states.get(key) != "resolved"} for mute in bound
    }
    return Overrides(mutes, reroutes, open_threads, directory)

"""Parse: the text after ``/notify`` becomes one ``Command``, or a ``CommandError`` whose
message says what to write instead (``unknown key 'sevrity' — did you mean 'severity'?``).

Both front ends and the CLI end here: Slack and the CLI send text, Discord sends options
that ``bot.chat.discord.commands`` turns back into the same pieces.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.chat import registry
from bot.chat.platform import Platform
from bot.config.settings import TargetConfig
from bot.core.durations import format_duration, parse_duration
from bot.core.errors import BotError
from bot.core.events import MATCH_FIELDS, check_severity
from bot.pipeline.overrides import Destination, Selector, destination_for

CallerPlatform = str
"""A registered chat platform's name, or ``"cli"`` for the command line."""

FIXED_KEYS = MATCH_FIELDS
WELL_KNOWN_LABELS = (
    "repo",
    "branch",
    "tag",
    "service",
    "alertname",
    "env",
    "environment",
    "instance",
    "job",
    "team",
    "monitor",
    "author",
)
MUTE_KEYWORDS = frozenset({"for", "until", "because", "everywhere", "in"})
ROUTE_KEYWORDS = frozenset({"to", "for"})
MAX_DURATION = 90 * 86400.0

_TERM = re.compile(r"^([A-Za-z_][\w.-]*)(>=|=)(.*)$")
_ID = re.compile(r"^#?([mr]?)(\d+)$", re.IGNORECASE)


_Parser = Callable[[list[str], "Vocabulary"], "Command"]


class CommandError(BotError):
    """The command cannot be run as written; the message says how to fix it."""


# -- the commands -----------------------------------------------------------------------


@dataclass(frozen=True)
class Mute:
    selector: Selector
    duration: float | None = None
    until_resolved: bool = False
    reason: str = ""
    everywhere: bool = False
    place: Destination | None = None
    """Where, from the CLI (``in <target>``); chat mutes cover the channel they come from."""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unmute:
    id: int


@dataclass(frozen=True)
class Reroute:
    selector: Selector
    destination: Destination
    duration: float | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unroute:
    id: int


@dataclass(frozen=True)
class ListOverrides:
    pass


@dataclass(frozen=True)
class Status:
    pass


@dataclass(frozen=True)
class Why:
    id: str


@dataclass(frozen=True)
class Replay:
    id: str


@dataclass(frozen=True)
class SendTest:
    destination: Destination | None = None
    """None: the channel the command came from."""


@dataclass(frozen=True)
class Help:
    topic: str = ""


Command = (
    Mute | Unmute | Reroute | Unroute | ListOverrides | Status | Why | Replay | SendTest | Help
)

USAGE: dict[str, str] = {
    "mute": "mute <selector> [for <duration> | until resolved] [because <reason>] [everywhere]",
    "unmute": "unmute <id>",
    "route": "route <selector> to <#channel or target> [for <duration>]",
    "unroute": "unroute <id>",
    "list": "list",
    "status": "status",
    "why": "why <event id>",
    "replay": "replay <event id>",
    "test": "test [<#channel or target>]",
    "help": "help [<command>]",
}
SUMMARY: dict[str, str] = {
    "mute": "stop posting matching events in this channel (everywhere: in all channels)",
    "unmute": "lift a mute; a digest of what it kept back is posted",
    "route": "send matching events to another channel instead",
    "unroute": "remove a reroute",
    "list": "mutes and reroutes in force, with ids, who set them, reason, expiry",
    "status": "queues, recent failures, dead letters, rejected webhooks",
    "why": "how an event was routed, muted or why it failed",
    "replay": "deliver an event again with today's rules",
    "test": "post a test message",
    "help": "this text",
}


@dataclass(frozen=True)
class Vocabulary:
    """The names a command may use, for checking and for did-you-mean suggestions."""

    sources: tuple[str, ...]
    targets: Mapping[str, TargetConfig]
    platform: CallerPlatform
    label_keys: frozenset[str] = field(default_factory=frozenset)

    @property
    def keys(self) -> list[str]:
        return [*FIXED_KEYS, *sorted(self.label_keys | set(WELL_KNOWN_LABELS))]


# -- parsing ----------------------------------------------------------------------------


def tokens(text: str) -> list[str]:
    """Words, with quoted phrases kept whole; an apostrophe in a reason is just a letter."""
    text = text.replace("“", '"').replace("”", '"').replace("‘", "'").replace("’", "'")
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def parse(text: str, vocabulary: Vocabulary) -> Command:
    words = tokens(text)
    if not words:
        return Help()
    name, rest = words[0].lower(), words[1:]
    parser = _PARSERS.get(name)
    if parser is None:
        raise CommandError(
            f"unknown command {name!r}{_did_you_mean(name, list(USAGE))} (try `help`)"
        )
    return parser(rest, vocabulary)


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" — did you mean {close[0]!r}?" if close else ""


def _usage(name: str) -> str:
    return f"usage: `{USAGE[name]}`"


def parse_selector(words: list[str], vocabulary: Vocabulary) -> tuple[Selector, tuple[str, ...]]:
    """``key=glob`` terms (a bare word is a source name); returns the selector and notes."""
    terms: dict[str, list[str]] = {}
    notes: list[str] = []
    for word in words:
        match = _TERM.match(word)
        if match is None:
            key, value = "source", _source(word, vocabulary)
        else:
            key, operator, value = match.group(1), match.group(2), match.group(3)
            key = _key(key, vocabulary, notes)
            if not value:
                raise CommandError(f"`{word}` needs a value after {operator!r}, e.g. `{key}=x*`")
            if operator == ">=":
                if key != "severity":
                    raise CommandError(f"`>=` works only with severity, not {key!r}")
                value = f">={value}"
            if key == "severity":
                _check_severity(value)
        terms.setdefault(key, []).append(value)
    return Selector(terms), tuple(notes)


def _source(word: str, vocabulary: Vocabulary) -> str:
    if word in vocabulary.sources or any(c in word for c in "*?["):
        return word
    known = ", ".join(vocabulary.sources) or "none configured"
    raise CommandError(
        f"unknown source {word!r}{_did_you_mean(word, list(vocabulary.sources))} "
        f"(sources: {known}; other terms are key=glob, e.g. repo=acme/*)"
    )


def _key(key: str, vocabulary: Vocabulary, notes: list[str]) -> str:
    known = vocabulary.keys
    if key in known:
        return key
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    if close:
        raise CommandError(f"unknown key {key!r} — did you mean {close[0]!r}?")
    notes.append(f"no route or known event uses the label `{key}` yet; check the spelling")
    return key


def _check_severity(value: str) -> None:
    try:
        check_severity(value.removeprefix(">="))  # the message names the level alone
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def parse_duration_word(word: str) -> float:
    try:
        seconds = parse_duration(word)
    except ValueError:
        raise CommandError(f"bad duration {word!r}: use e.g. 30m, 2h, 1d") from None
    if seconds <= 0:
        raise CommandError(f"duration {word!r} is not in the future: use e.g. 30m, 2h, 1d")
    if seconds > MAX_DURATION:
        raise CommandError(f"{word} is longer than {format_duration(MAX_DURATION)}: unmute by hand")
    return seconds


def parse_destination(word: str, vocabulary: Vocabulary) -> Destination:
    """A channel mention (``<#C123|name>`` from Slack, ``<#123>`` from Discord), a
    ``#name``, or the name of a configured target."""
    for platform in _mention_readers(vocabulary.platform):
        match = platform.mention.match(word) if platform.mention else None
        if match is not None:
            name = match.group(2) if match.re.groups > 1 else ""
            return destination_for(platform.name, match.group(1), name or "", vocabulary.targets)
    if word.startswith("#") and len(word) > 1:
        home = registry.caller_platform(vocabulary.platform)
        return destination_for(home, word, word[1:], vocabulary.targets)
    target = vocabulary.targets.get(word)
    if target is not None:
        return Destination(target.platform, target.address, word, word)
    names = sorted(vocabulary.targets)
    raise CommandError(
        f"unknown target {word!r}{_did_you_mean(word, names)} "
        f"(targets: {', '.join(names) or 'none configured'}; or a #channel)"
    )


def _mention_readers(caller: CallerPlatform) -> list[Platform]:
    """The caller's own platform reads a mention first; then the others, the one with
    the highest ``mention_precedence`` first."""
    platforms = list(registry.PLATFORMS.values())
    return sorted(platforms, key=lambda p: (p.name != caller, -p.mention_precedence))


def parse_id(word: str, kind: Literal["m", "r"]) -> int:
    match = _ID.match(word)
    if match is None:
        raise CommandError(f"{word!r} is not an id: use the one `list` shows, e.g. {kind}3")
    prefix = match.group(1).lower()
    if prefix and prefix != kind:
        other = "unroute" if prefix == "r" else "unmute"
        raise CommandError(
            f"{word} is a {'reroute' if prefix == 'r' else 'mute'}: use `{other} {word}`"
        )
    return int(match.group(2))


def _split(words: list[str], keywords: frozenset[str]) -> tuple[list[str], list[str]]:
    for index, word in enumerate(words):
        if word.lower() in keywords:
            return words[:index], words[index:]
    return words, []


def _parse_mute(words: list[str], vocabulary: Vocabulary) -> Command:
    head, tail = _split(words, MUTE_KEYWORDS)
    if not head:
        raise CommandError(
            "what to mute? e.g. `mute alertname=DiskFull for 2h` (`mute *` mutes everything); "
            + _usage("mute")
        )
    selector, notes = parse_selector(head, vocabulary)
    duration: float | None = None
    until_resolved = everywhere = False
    reason = ""
    place: Destination | None = None
    while tail:
        word = tail.pop(0).lower()
        if word == "for":
            if not tail:
                raise CommandError("`for` needs a duration, e.g. `for 2h`")
            duration = parse_duration_word(tail.pop(0))
        elif word == "until":
            if not tail or tail.pop(0).lower() != "resolved":
                raise CommandError("`until` takes `resolved`: `mute ... until resolved`")
            until_resolved = True
        elif word == "because":
            if tail and tail[-1].lower() == "everywhere":
                everywhere = True
                tail.pop()
            if not tail:
                raise CommandError("`because` needs a reason, e.g. `because deploy window`")
            reason, tail = " ".join(tail), []
        elif word == "everywhere":
            everywhere = True
        elif word == "in":
            if vocabulary.platform != "cli":
                raise CommandError(
                    "a mute covers the channel it is typed in: type it there, or add `everywhere`"
                )
            if not tail:
                raise CommandError("`in` needs a target, e.g. `in eng`")
            place = parse_destination(tail.pop(0), vocabulary)
        else:
            raise CommandError(f"unexpected {word!r}; {_usage('mute')}")
    if duration is not None and until_resolved:
        raise CommandError("say either `for <duration>` or `until resolved`, not both")
    if everywhere and place:
        raise CommandError("say either `in <target>` or `everywhere`, not both")
    if vocabulary.platform == "cli" and not (everywhere or place):
        raise CommandError("from the command line, say where: `in <target>` or `everywhere`")
    return Mute(selector, duration, until_resolved, reason, everywhere, place, notes)


def _parse_route(words: list[str], vocabulary: Vocabulary) -> Command:
    head, tail = _split(words, frozenset({"to"}))
    if not head or not tail:
        raise CommandError(
            "route what where? e.g. `route github repo=acme/web to #web-team`; " + _usage("route")
        )
    selector, notes = parse_selector(head, vocabulary)
    tail.pop(0)
    if not tail:
        raise CommandError("`to` needs a #channel or a target name")
    destination = parse_destination(tail.pop(0), vocabulary)
    duration = None
    if tail:
        if tail[0].lower() != "for" or len(tail) != 2:
            raise CommandError(f"unexpected {' '.join(tail)!r}; {_usage('route')}")
        duration = parse_duration_word(tail[1])
    return Reroute(selector, destination, duration, notes)


def _one_word(name: str, words: list[str]) -> str:
    if len(words) != 1:
        raise CommandError(_usage(name))
    return words[0]


def _parse_test(words: list[str], vocabulary: Vocabulary) -> Command:
    if not words:
        if vocabulary.platform == "cli":
            raise CommandError("from the command line, name the target: `test <target>`")
        return SendTest()
    return SendTest(parse_destination(_one_word("test", words), vocabulary))


def _no_arguments(command: Command, name: str) -> _Parser:
    def parse_none(words: list[str], vocabulary: Vocabulary) -> Command:
        if words:
            raise CommandError(f"`{name}` takes no arguments")
        return command

    return parse_none


def _parse_help(words: list[str], vocabulary: Vocabulary) -> Command:
    topic = words[0].lower() if words else ""
    if topic and topic not in USAGE:
        raise CommandError(f"no command {topic!r}{_did_you_mean(topic, list(USAGE))}")
    return Help(topic)


_PARSERS: dict[str, _Parser] = {
    "mute": _parse_mute,
    "unmute": lambda w, v: Unmute(parse_id(_one_word("unmute", w), "m")),
    "route": _parse_route,
    "unroute": lambda w, v: Unroute(parse_id(_one_word("unroute", w), "r")),
    "list": _no_arguments(ListOverrides(), "list"),
    "status": _no_arguments(Status(), "status"),
    "why": lambda w, v: Why(_one_word("why", w)),
    "replay": lambda w, v: Replay(_one_word("replay", w)),
    "test": _parse_test,
    "help": _parse_help,
}

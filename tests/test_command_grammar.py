"""The command grammar: what people type, and the errors that tell them what to type."""

from __future__ import annotations

import pytest

from bot.commands.grammar import (
    CommandError,
    Mute,
    Reroute,
    SendTest,
    Unmute,
    Vocabulary,
    parse,
)
from bot.config.settings import TargetConfig

TARGETS = {
    "eng": TargetConfig(slack="#eng"),
    "ops": TargetConfig(slack="COPS"),
    "alerts": TargetConfig(discord="111222333"),
}


def vocabulary(platform: str = "slack") -> Vocabulary:
    return Vocabulary(("github", "prometheus"), TARGETS, platform)  # type: ignore[arg-type]


def test_mute_with_every_option():
    command = parse(
        "mute alertname=Disk* severity>=error for 1h30m because deploy window everywhere",
        vocabulary(),
    )
    assert command == Mute(
        selector=command.selector,
        duration=5400,
        reason="deploy window",
        everywhere=True,
    )
    assert command.selector.terms == {"alertname": ["Disk*"], "severity": [">=error"]}


def test_bare_words_are_sources_and_quotes_keep_a_reason_whole():
    command = parse('mute github repo=acme/web because "outage everywhere"', vocabulary())
    assert isinstance(command, Mute)
    assert command.selector.terms == {"source": ["github"], "repo": ["acme/web"]}
    assert command.reason == "outage everywhere" and not command.everywhere
    command = parse("mute github because we're deploying", vocabulary())
    assert command.reason == "we're deploying"


def test_until_resolved():
    command = parse("mute prometheus until resolved", vocabulary())
    assert isinstance(command, Mute) and command.until_resolved and command.duration is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("mute sevrity=error", "unknown key 'sevrity' — did you mean 'severity'?"),
        ("mute alertnme=x", "did you mean 'alertname'?"),
        ("mute githb", "unknown source 'githb' — did you mean 'github'?"),
        ("mute github for 2x", "bad duration '2x': use e.g. 30m, 2h, 1d"),
        ("mute github for", "`for` needs a duration"),
        ("mute github for 2h until resolved", "not both"),
        ("mute github until fixed", "`until` takes `resolved`"),
        ("mute severity=urgent", "severity 'urgent' is not one of info, warning, error, critical"),
        ("mute repo>=2", "`>=` works only with severity"),
        ("mute for 2h", "what to mute?"),
        ("mute github in eng", "type it there, or add `everywhere`"),
        ("mtue github", "unknown command 'mtue' — did you mean 'mute'?"),
        ("route github to engg", "unknown target 'engg' — did you mean 'eng'?"),
        ("route github", "route what where?"),
        ("unmute r3", "r3 is a reroute: use `unroute r3`"),
        ("unmute soon", "'soon' is not an id"),
        ("list all", "`list` takes no arguments"),
    ],
)
def test_errors_say_what_to_write(text, error):
    with pytest.raises(CommandError) as raised:
        parse(text, vocabulary())
    assert error in str(raised.value)


def test_unknown_label_keys_are_allowed_with_a_note():
    command = parse("mute customer=acme", vocabulary())
    assert isinstance(command, Mute)
    assert "customer" in command.notes[0]


def test_destinations_resolve_channels_to_configured_targets():
    slack_channel = parse("route github to <#C0WEB|web-team>", vocabulary())
    assert isinstance(slack_channel, Reroute)
    assert (slack_channel.destination.platform, slack_channel.destination.address) == (
        "slack",
        "C0WEB",
    )
    assert str(slack_channel.destination) == "#web-team"
    by_name = parse("route github to <#C9|eng>", vocabulary()).destination  # type: ignore[union-attr]
    assert by_name.target == "eng" and by_name.address == "#eng"
    by_id = parse("route github to <#COPS|ops-room>", vocabulary()).destination  # type: ignore[union-attr]
    assert by_id.target == "ops"
    discord = parse("test <#111222333>", vocabulary("discord"))
    assert isinstance(discord, SendTest) and discord.destination is not None
    assert discord.destination.target == "alerts"


def test_unmute_accepts_the_ids_people_copy():
    for word in ("m3", "M3", "3", "#3"):
        assert parse(f"unmute {word}", vocabulary()) == Unmute(3)


def test_the_cli_must_say_where_a_mute_applies():
    with pytest.raises(CommandError, match="say where"):
        parse("mute github for 1h", vocabulary("cli"))
    command = parse("mute github in eng for 1h", vocabulary("cli"))
    assert isinstance(command, Mute) and command.place is not None
    assert command.place.target == "eng"

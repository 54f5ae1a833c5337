"""No noise in any sample's message: every field says something the headline and the
title do not, none is empty, "None" or raw JSON, and a raw Stripe id shows only as the
label of a link to it. Checked on what the Slack and Discord adapters send."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.chat.discord.markup import visible
from bot.chat.slack.markup import SlackMarkup
from tests.test_golden import SAMPLES, rendered

_SLACK_LINK = re.compile(r"<[^|<>]*\|([^<>]*)>")
_RAW_ID = re.compile(r"\b(?:cus|in|ch|pi|sub)_[A-Za-z0-9]{8,}")
EMPTY = {"", "none", "null", "[]", "{}", "n/a"}


def slack_fields(body: dict[str, Any]) -> list[tuple[str, str]]:
    fields = []
    for attachment in body.get("attachments", []):
        for block in attachment["blocks"]:
            for field in block.get("fields", []):
                name, _, value = field["text"].partition("\n")
                fields.append((name.strip("*"), value))
    return fields


def plain(slack_text: str) -> str:
    """Slack mrkdwn as read: a link is its label, no code or bold markers."""
    return SlackMarkup().unescape(_SLACK_LINK.sub(r"\1", slack_text)).replace("`", "")


def messages_of(provider: str, event: str) -> list[tuple[str, dict[str, Any]]]:
    """The sample's messages by name, rendered when a test asks (not at collection, where
    every worker would render every sample whatever tests it is given)."""
    return [
        (f"{provider}/{event}:{message['event']}", message)
        for message in rendered(provider, event)["messages"]
        if "slack" in message
    ]


each_sample = pytest.mark.parametrize(("provider", "event"), SAMPLES)


@each_sample
def test_no_field_repeats_the_headline_or_the_title_or_says_nothing(provider, event):
    for name, message in messages_of(provider, event):
        slack = message["slack"]
        if "attachments" not in slack:
            continue
        headline = plain(slack["text"]).lower()
        title = message["discord"]["embeds"][0].get("title", "").lower()
        for field, value in slack_fields(slack):
            shown = plain(value).strip()
            assert shown.lower() not in EMPTY, f"{name}: {field} is empty"
            assert not shown.startswith(("{", "[")), f"{name}: {field} is raw JSON: {shown}"
            if len(shown) >= 4:  # a short value (1, P1) may well appear in a sentence
                # In the headline as a whole name: "Default" is not "Default Service".
                named = re.compile(rf"(?<!\w){re.escape(shown.lower())}(?!\w| \w)")
                assert not named.search(headline), f"{name}: {field} repeats the headline"
                assert shown.lower() not in title, f"{name}: {field} repeats the title"


@each_sample
def test_a_raw_id_shows_only_as_a_link_to_it(provider, event):
    for name, message in messages_of(provider, event):
        shown = message["slack"]["text"] + "".join(
            block.get("text", {}).get("text", "")
            + "".join(f["text"] for f in block.get("fields", []))
            for attachment in message["slack"].get("attachments", [])
            for block in attachment["blocks"]
        )
        outside_links = _SLACK_LINK.sub("", re.sub(r"<https?://[^|>]*>", "", shown))
        assert _RAW_ID.findall(outside_links) == [], name


@each_sample
def test_slack_context_says_when(provider, event):
    for name, message in messages_of(provider, event):
        for attachment in message["slack"].get("attachments", []):
            [context] = [b for b in attachment["blocks"] if b["type"] == "context"]
            assert "<!date^" in context["elements"][0]["text"], name


@each_sample
def test_a_short_discord_field_is_inline_however_long_its_link(provider, event):
    for name, message in messages_of(provider, event):
        for field in message["discord"]["embeds"][0].get("fields", []):
            if len(visible(field["value"])) <= 20:  # "receipt", "in 12 minutes", "Default"
                assert field["inline"], (name, field)


@each_sample
def test_no_card_says_its_title_or_its_headline_again_as_its_text(provider, event):
    """The description under the title says something new (a workflow run's display
    title is its card's title, not its text too)."""
    for name, message in messages_of(provider, event):
        embed = message["discord"]["embeds"][0]
        if not embed.get("title"):
            continue
        title = embed["title"].strip().lower()
        headline = embed.get("author", {}).get("name", "").strip().lower()
        first_line = embed.get("description", "").split("\n", 1)[0].strip().lower()
        if first_line:
            assert first_line not in (title, headline), f"{name}: the text repeats the title"

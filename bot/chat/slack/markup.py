"""Slack's mrkdwn: ``&<>`` are the only characters that must be escaped, and links,
dates and mentions are all ``<...>`` tags."""

from __future__ import annotations


class SlackMarkup:
    def escape(self, text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def unescape(self, text: str) -> str:
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def link(self, address: str, label: str) -> str:
        return f"<{address}|{label}>"

    def bold(self, inner: str) -> str:
        return f"*{inner}*"

    def code(self, inner: str) -> str:
        # Slack still reads <!channel> and &entities inside backticks.
        return f"`{self.escape(inner)}`"

    def time(self, stamp: int, fallback: str) -> str:
        return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{fallback}>"

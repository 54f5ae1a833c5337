"""Jinja2 templates turn an Event into a platform-neutral Message.

Templates are written once for both platforms: markup comes only from the filters
(``link``, ``bold``, ``code``, ``time``), which format for the platform being rendered,
and the sandbox's ``finalize`` escapes every other value, so payload text can neither
ping a channel nor break the layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from jinja2 import (
    ChainableUndefined,
    ChoiceLoader,
    FileSystemLoader,
    Template,
    Undefined,
)
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel

from bot.core.events import Event
from bot.core.times import parse_time

Platform = Literal["slack", "discord"]


def _default_templates() -> Path:
    """The bundled templates: ``bot/templates`` in an installed wheel, else the checkout's
    top-level ``templates/`` (a source tree or an editable install, where they live)."""
    package = Path(__file__).resolve().parents[1]
    bundled = package / "templates"
    return bundled if bundled.is_dir() else package.parent / "templates"


DEFAULT_TEMPLATES = _default_templates()
BLOCKS = ("title", "url", "text", "fields", "color", "footer")

SEVERITY_COLORS = {
    "info": "#439FE0",
    "warning": "#ECB22E",
    "error": "#E01E5A",
    "critical": "#8B0000",
}
RESOLVED_COLOR = "#2EB67D"


class Field(BaseModel):
    name: str
    value: str


class Message(BaseModel):
    """What an adapter posts: text is already formatted for its platform; ``url`` and
    ``color`` are raw values."""

    title: str
    url: str | None = None
    text: str = ""
    fields: list[Field] = []
    color: str = SEVERITY_COLORS["info"]
    footer: str = ""
    timestamp: float | None = None

    def fallback(self) -> str:
        """Plain one-line summary for notifications and clients without rich layout."""
        return self.title


class Formatted(str):
    """Text already formatted for the platform; ``finalize`` leaves it alone."""

    __slots__ = ()


@dataclass(frozen=True)
class Formatter:
    """The markup of one platform."""

    platform: Platform

    def escape(self, text: str) -> str:
        if self.platform == "slack":
            return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return _escape_discord(text)

    def unescape(self, text: str) -> str:
        """The raw value behind escaped text: for blocks that are not shown as text (the
        url, the colour) and for places a platform shows without markup."""
        if self.platform == "slack":
            return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        return _DISCORD_ESCAPED.sub(r"\1", text.replace("@\u200b", "@"))

    def _text(self, value: Any) -> str:
        return value if isinstance(value, Formatted) else self.escape(str(value))

    def link(self, url: Any, text: Any = None) -> Formatted:
        label = self._text(text if text is not None else url)
        address = str(url or "")
        if not address.startswith(("https://", "http://")):
            return Formatted(label)
        if self.platform == "slack":
            return Formatted(f"<{slack_link_address(address)}|{label}>")
        address = address.replace(")", "%29").replace(" ", "%20")
        return Formatted(f"[{label.replace(']', '')}]({address})")

    def bold(self, text: Any) -> Formatted:
        marker = "*" if self.platform == "slack" else "**"
        inner = self._text(text).strip()
        return Formatted(f"{marker}{inner}{marker}" if inner else "")

    def code(self, text: Any) -> Formatted:
        # Slack still reads <!channel> and &entities inside backticks; Discord shows a
        # code span literally, so there only the backtick that would end it is replaced.
        inner = str(text).replace("`", "ˋ")
        if self.platform == "slack":
            inner = self.escape(inner)
        return Formatted(f"`{inner}`" if inner else "")

    def time(self, value: Any) -> Formatted:
        moment = parse_time(value)
        if moment is None:
            return Formatted(self.escape(str(value)))
        stamp = int(moment.timestamp())
        fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
        if self.platform == "slack":
            return Formatted(f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{fallback}>")
        return Formatted(f"<t:{stamp}:R>")

    def finalize(self, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, Formatted | int | float):
            return value
        if isinstance(value, Undefined):
            return ""
        return self.escape(str(value))


_DISCORD_INLINE = re.compile(r"([\\*_~`|\[\]]|<(?=[@#:!]|a:|t:))")
_DISCORD_LINE_START = re.compile(r"^(\s*)([#>-])", re.MULTILINE)
_DISCORD_ESCAPED = re.compile(r"\\([\\*_~`|\[\]<#>-])")


def slack_link_address(url: str) -> str:
    """A URL made safe inside Slack's ``<url|label>`` (``|`` and ``>`` would end it)."""
    return url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")


def _escape_discord(text: str) -> str:
    # Inline markdown is escaped everywhere, block markers (headings, quotes, lists) only
    # at line starts. Mentions are made inert by allowed_mentions at send time; the `<`
    # of Discord's tags (`<@123>`, `<#1>`, `<:emoji:1>`, `<t:1>`) is escaped so they show
    # as typed, and `@everyone` gets a zero-width space so it does not even look live.
    escaped = _DISCORD_LINE_START.sub(r"\1\\\2", _DISCORD_INLINE.sub(r"\\\1", text))
    return escaped.replace("@everyone", "@\u200beveryone").replace("@here", "@\u200bhere")


def _truncate(text: Any, length: int = 200) -> str:
    value = str(text)
    return value if len(value) <= length else value[: length - 1] + "…"


class Renderer:
    """One sandboxed environment per platform; templates are compiled once and cached."""

    def __init__(self, user_dir: str = "") -> None:
        loaders = [FileSystemLoader(user_dir)] if user_dir else []
        loaders.append(FileSystemLoader(str(DEFAULT_TEMPLATES)))
        self._envs = {p: self._environment(ChoiceLoader(loaders), p) for p in ("slack", "discord")}
        self._chosen: dict[tuple[str, str, str], Template] = {}

    @staticmethod
    def _environment(loader: ChoiceLoader, platform: Platform) -> SandboxedEnvironment:
        formatter = Formatter(platform)
        env = SandboxedEnvironment(
            loader=loader,
            autoescape=False,
            finalize=formatter.finalize,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=ChainableUndefined,
        )
        env.filters.update(
            link=formatter.link,
            bold=formatter.bold,
            code=formatter.code,
            time=formatter.time,
            truncate_text=_truncate,
        )
        env.globals.update(severity_colors=SEVERITY_COLORS, resolved_color=RESOLVED_COLOR)
        return env

    def template_names(self, event: Event, platform: Platform) -> list[str]:
        provider, family = event.provider, event.family
        return [
            f"{provider}/{family}.{platform}.j2",
            f"{provider}/{family}.j2",
            f"{provider}/default.{platform}.j2",
            f"{provider}/default.j2",
            f"default.{platform}.j2",
            "default.j2",
        ]

    def template_for(self, event: Event, platform: Platform) -> Template:
        key = (event.provider, event.family, platform)
        if key not in self._chosen:
            names = self.template_names(event, platform)
            self._chosen[key] = self._envs[platform].select_template(names)
        return self._chosen[key]

    def render(self, event: Event, platform: Platform) -> Message:
        """Never raises: a failing template still produces a message saying so."""
        template_name = "?"
        try:
            template = self.template_for(event, platform)
            template_name = template.name or "?"
            context = template.new_context({"event": event, "payload": event.payload})
            # Running the root resolves `extends`, so context.blocks holds every block,
            # the most derived first; each block is then rendered on its own.
            for _ in template.root_render_func(context):
                pass
            parts = {
                name: "".join(context.blocks[name][0](context)).strip()
                for name in BLOCKS
                if name in context.blocks
            }
            formatter = Formatter(platform)
            return Message(
                title=_one_line(parts.get("title") or formatter.escape(event.title)),
                url=formatter.unescape(parts.get("url", "")) or None,
                text=parts.get("text", ""),
                fields=_fields(parts.get("fields", "")),
                color=formatter.unescape(parts.get("color", "")) or SEVERITY_COLORS["info"],
                footer=parts.get("footer", ""),
                timestamp=event.occurred_at.timestamp(),
            )
        except Exception as exc:  # a template is user code: any failure still posts
            formatter = Formatter(platform)
            return Message(
                title=formatter.escape(event.title),
                url=event.url,
                text=formatter.escape(f"event received; template {template_name} failed: {exc}"),
                color=SEVERITY_COLORS["warning"],
                footer=formatter.escape(event.source),
                timestamp=event.occurred_at.timestamp(),
            )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _fields(block: str) -> list[Field]:
    fields = []
    for line in block.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() and value.strip():
            fields.append(Field(name=name.strip(), value=value.strip()))
    return fields

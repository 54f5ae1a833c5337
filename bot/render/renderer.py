"""Jinja2 templates turn an Event into a platform-neutral Message.

Templates are written once for both platforms: markup comes only from the filters
(``link``, ``bold``, ``code``, ``time``), which format for the platform being rendered,
and the sandbox's ``finalize`` escapes every other value, so payload text can neither
ping a channel nor break the layout.

Link buttons are not text: a template's ``links`` block calls ``button(label, url)``,
which checks the URL whole and records the button on the render, so nothing a payload
puts in a URL or a label (a newline, a second ``Label: url``) can make another button.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from jinja2 import (
    BytecodeCache,
    ChainableUndefined,
    ChoiceLoader,
    FileSystemLoader,
    Template,
    Undefined,
    pass_context,
)
from jinja2.bccache import Bucket
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, field_validator, model_validator

from bot.core.durations import format_duration
from bot.core.events import Event
from bot.core.links import safe_url
from bot.core.text import shorten
from bot.core.times import parse_time
from bot.render.outcomes import look, outcome_of
from bot.render.readings import readings


def _default_templates() -> Path:
    """The bundled templates: ``bot/templates`` in an installed wheel, else the checkout's
    top-level ``templates/`` (a source tree or an editable install, where they live)."""
    package = Path(__file__).resolve().parents[1]
    bundled = package / "templates"
    return bundled if bundled.is_dir() else package.parent / "templates"


DEFAULT_TEMPLATES = _default_templates()
BLOCKS = (
    "headline",
    "outcome",
    "title",
    "url",
    "text",
    "fields",
    "color",
    "footer",
    "reply",
    "elapsed",
    "line",
)
LINKS_BLOCK = "links"
"""Rendered for its ``button(...)`` calls only: what it prints is thrown away."""

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


class Button(BaseModel):
    """A button that acts on the source (Acknowledge, Silence 1h): ``action`` names it to
    the action core, ``value`` is the delivery whose message carries it."""

    action: str
    label: str
    value: str
    style: str = ""
    """``primary``, ``danger`` or empty: a hint each platform maps to its own colours."""


LABEL_LIMIT = 75
"""Slack's limit for a button's text, the lowest of the platforms (Discord's is 80)."""
MAX_LINKS = 25
"""No platform shows more buttons than this (Slack's actions block, Discord's 5 rows of 5);
each adapter cuts further to its own limit."""


LINK_SEPARATOR = " · "


class LinkButton(BaseModel):
    """A button that opens a page about the event (Checks, Runbook, Dashboard): ``label``
    is plain text (each platform shows it as typed, never as markup), ``url`` passed
    ``safe_url``."""

    label: str
    url: str


class Message(BaseModel):
    """What an adapter posts: text is already formatted for its platform; ``url`` and
    ``color`` are raw values.

    ``headline`` is the first line a person reads (the notification): what happened, to
    what, by whom and how bad, after one status emoji. ``title`` is the object it
    happened to, shown once. ``reply`` is the one line a thread reply says.
    """

    headline: str = ""
    title: str
    url: str | None = None
    text: str = ""
    fields: list[Field] = []
    color: str = SEVERITY_COLORS["info"]
    footer: str = ""
    timestamp: float | None = None
    reply: str = ""
    actions: list[Button] = []
    """What can be done from the message now; the planner and the action core set it."""
    links: list[LinkButton] = []
    """Pages about the event, from the template's ``links`` block; shown after the
    action buttons, and kept once the conversation is over."""
    elapsed: str = ""
    """How a reply says the time since its conversation started: ``{elapsed}`` stands
    for it (``{elapsed} after trigger``). Only the conversation knows the start."""
    outcome: str = ""
    """How the event ended (``failed``, ``succeeded``...: ``bot/render/outcomes.py``), so
    an edit can tell what its conversation went through."""
    line: str = ""
    """The event as one line of a digest listing its siblings: what tells it apart
    (``CPU core temperature is 34.75C · host=node-7``); the title when empty."""

    @field_validator("url")
    @classmethod
    def _linkable(cls, url: str | None) -> str | None:
        """Whoever builds a message, its link passed ``safe_url`` (else there is none)."""
        return safe_url(url) if url else None

    @model_validator(mode="after")
    def _useful_links(self) -> Message:
        """Whoever builds a message, each link button passed ``safe_url``, has a label,
        and adds something: not the title's link again, not a second button to one page."""
        seen = {self.url} if self.url else set()
        kept = []
        for button in self.links:
            address, label = safe_url(button.url), _one_line(button.label)
            if address is None or not label or address in seen:
                continue
            seen.add(address)
            kept.append(LinkButton(label=shorten(label, LABEL_LIMIT), url=address))
        self.links = kept[:MAX_LINKS]
        return self

    def unlinked(self, links: list[LinkButton]) -> list[LinkButton]:
        """Of ``links``, those whose page the text and fields do not link already: what a
        platform that cannot show them as buttons adds as text."""
        shown = "\n".join([self.text, *(f.value for f in self.fields)])
        return [b for b in links if not any(b.url + end in shown for end in '|)">')]

    def fallback(self) -> str:
        """Plain one-line summary for notifications and clients without rich layout."""
        return self.headline or self.title


class Formatted(str):
    """Text already formatted for the platform; ``finalize`` leaves it alone."""

    __slots__ = ()


class Markup(Protocol):
    """How one chat platform writes text (``bot/chat/<platform>/markup.py``).

    ``Formatter`` does what every platform shares (text already formatted passes, a
    non-web link is its label, empty text shows nothing, times are parsed), so a
    markup only spells: it is handed text it may trust as described.
    """

    def escape(self, text: str) -> str:
        """Payload text made inert: it shows as typed, pings nobody, breaks no layout."""

    def unescape(self, text: str) -> str:
        """The raw value behind escaped text: for blocks that are not shown as text (the
        url, the colour) and for places a platform shows without markup."""

    def link(self, address: str, label: str) -> str:
        """A link to ``address`` (it passed ``safe_url``) showing ``label`` (escaped)."""

    def bold(self, inner: str) -> str:
        """``inner`` (escaped, stripped, not empty) in bold."""

    def code(self, inner: str) -> str:
        """A code span of raw ``inner`` (not empty; its backticks already replaced)."""

    def time(self, stamp: int, fallback: str) -> str:
        """A moment (Unix seconds), shown in the reader's zone where the platform can;
        ``fallback`` is the same moment written in UTC."""


@dataclass(frozen=True)
class Formatter:
    """The template filters and ``finalize`` of one platform, over its markup."""

    markup: Markup

    def escape(self, text: str) -> str:
        return self.markup.escape(text)

    def unescape(self, text: str) -> str:
        return self.markup.unescape(text)

    def _text(self, value: Any) -> str:
        return value if isinstance(value, Formatted) else self.escape(str(value))

    def link(self, url: Any, text: Any = None) -> Formatted:
        label = self._text(text if text is not None else url)
        address = safe_url(str(url or ""))
        if address is None:
            return Formatted(label)
        return Formatted(self.markup.link(address, label))

    def links(self, buttons: list[LinkButton], limit: int, size: Callable[[str], int] = len) -> str:
        """Link buttons a platform cannot show as buttons, as links in a line (labels
        escaped: plain text, never markup): as many whole links as fit in ``limit``
        (by ``size``), since a link cut short would show its markup."""
        kept: list[str] = []
        for button in buttons:
            link = self.link(button.url, button.label)
            if size(LINK_SEPARATOR.join([*kept, link])) > limit:
                break
            kept.append(link)
        return LINK_SEPARATOR.join(kept)

    def bold(self, text: Any) -> Formatted:
        inner = self._text(text).strip()
        return Formatted(self.markup.bold(inner) if inner else "")

    def code(self, text: Any) -> Formatted:
        inner = str(text).replace("`", "ˋ")
        return Formatted(self.markup.code(inner) if inner else "")

    def time(self, value: Any) -> Formatted:
        moment = parse_time(value)
        if moment is None:
            return Formatted(self.escape(str(value)))
        fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
        return Formatted(self.markup.time(int(moment.timestamp()), fallback))

    def finalize(self, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, Formatted | int | float):
            return value
        if isinstance(value, Undefined):
            return ""
        return self.escape(str(value))


RECORDER = "__link_buttons__"
"""The context variable holding one render's ``Recorder``."""


class Recorder:
    """The link buttons one render declared. Its only state is private, which the
    sandbox keeps templates from touching: a button is added through ``button`` alone."""

    __slots__ = ("_buttons",)

    def __init__(self) -> None:
        self._buttons: list[LinkButton] = []

    def add(self, button: LinkButton) -> None:
        self._buttons.append(button)

    def take(self) -> list[LinkButton]:
        taken, self._buttons = self._buttons, []
        return taken


def _button_for(formatter: Formatter) -> Any:
    @pass_context
    def button(context: Context, label: Any, url: Any) -> str:
        """``{{ button("Runbook", annotations.runbook_url) }}`` in the ``links`` block: a
        link button when ``url`` as a whole is a web address (``safe_url``, before
        anything could split it), else none. ``label`` is plain text: markup from a
        filter is undone, and no newline or markup in it makes a second button."""
        recorder = context.get(RECORDER)
        address = "" if isinstance(url, Undefined) or url is None else str(url)
        checked = safe_url(address)
        text = "" if isinstance(label, Undefined) or label is None else str(label)
        if isinstance(label, Formatted):
            text = formatter.unescape(text)
        text = _one_line(text)
        if isinstance(recorder, Recorder) and checked is not None and text:
            recorder.add(LinkButton(label=text, url=checked))
        return ""

    return button


def _truncate(text: Any, length: int = 200) -> str:
    return shorten(str(text), length)


def _duration(start: Any, end: Any) -> str:
    """How long from ``start`` to ``end`` (``3m 12s``), or empty when either is unreadable
    or the order is wrong: a reply says how long only when it knows."""
    began, ended = parse_time(start), parse_time(end)
    if began is None or ended is None or ended < began:
        return ""
    return format_duration((ended - began).total_seconds())


class _CompiledTemplates(BytecodeCache):
    """Compiled templates kept for the life of the process, keyed by file and source
    checksum: every environment (one per platform, and one set per renderer that ``explain``,
    the gallery or a test starts) loads a template's code instead of compiling it again,
    which costs about 30 ms a template. Every environment is built alike (``_environment``),
    so their compiled code is the same."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if (code := self._code.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledTemplates()


class Renderer:
    """One sandboxed environment per platform; templates are compiled once and cached.

    ``markups`` names the platforms (the chat registry's, handed in: rendering knows no
    platform by name, so a new one needs no change here).
    """

    def __init__(self, user_dir: str = "", *, markups: Mapping[str, Markup]) -> None:
        loaders = [FileSystemLoader(user_dir)] if user_dir else []
        loaders.append(FileSystemLoader(str(DEFAULT_TEMPLATES)))
        self._formatters = {name: Formatter(markup) for name, markup in markups.items()}
        self._envs = {
            name: self._environment(ChoiceLoader(loaders), formatter)
            for name, formatter in self._formatters.items()
        }
        self._chosen: dict[tuple[str, str, str], Template] = {}

    @staticmethod
    def _environment(loader: ChoiceLoader, formatter: Formatter) -> SandboxedEnvironment:
        env = SandboxedEnvironment(
            loader=loader,
            autoescape=False,
            finalize=formatter.finalize,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=ChainableUndefined,
            bytecode_cache=_COMPILED,
            # Templates are read once, at start: checking every file's mtime on each
            # render (each extends and import) was about 3% of planning an event.
            auto_reload=False,
        )
        env.filters.update(
            link=formatter.link,
            bold=formatter.bold,
            code=formatter.code,
            time=formatter.time,
            truncate_text=_truncate,
            duration=_duration,
            readings=readings,
        )
        env.globals.update(
            severity_colors=SEVERITY_COLORS,
            resolved_color=RESOLVED_COLOR,
            button=_button_for(formatter),
        )
        return env

    def template_names(self, event: Event, platform: str) -> list[str]:
        provider, family = event.provider, event.family
        return [
            f"{provider}/{family}.{platform}.j2",
            f"{provider}/{family}.j2",
            f"{provider}/default.{platform}.j2",
            f"{provider}/default.j2",
            f"default.{platform}.j2",
            "default.j2",
        ]

    def template_for(self, event: Event, platform: str) -> Template:
        key = (event.provider, event.family, platform)
        if key not in self._chosen:
            names = self.template_names(event, platform)
            self._chosen[key] = self._envs[platform].select_template(names)
        return self._chosen[key]

    def render(self, event: Event, platform: str) -> Message:
        """Never raises: a failing template still produces a message saying so."""
        template_name = "?"
        try:
            template = self.template_for(event, platform)
            template_name = template.name or "?"
            recorder = Recorder()
            context = template.new_context(
                {"event": event, "payload": event.payload, RECORDER: recorder}
            )
            # Running the root resolves `extends`, so context.blocks holds every block,
            # the most derived first; each block is then rendered on its own.
            for _ in template.root_render_func(context):
                pass
            parts = {
                name: "".join(context.blocks[name][0](context)).strip()
                for name in BLOCKS
                if name in context.blocks
            }
            recorder.take()  # what the root render and the other blocks declared
            if LINKS_BLOCK in context.blocks:
                for _ in context.blocks[LINKS_BLOCK][0](context):
                    pass
            links = recorder.take()
            formatter = self._formatters[platform]
            outcome = parts.get("outcome") or outcome_of(event)
            seen = look(event.severity, event.status, outcome)
            headline = _one_line(parts.get("headline", ""))
            reply = _one_line(parts.get("reply", "")) or headline
            return Message(
                headline=f"{seen.emoji} {headline}" if headline else "",
                reply=f"{seen.emoji} {reply}" if reply else "",
                elapsed=_one_line(formatter.unescape(parts.get("elapsed", ""))),
                title=_one_line(parts.get("title") or formatter.escape(event.title)),
                url=formatter.unescape(parts.get("url", "")) or None,
                text=parts.get("text", ""),
                fields=_fields(parts.get("fields", "")),
                color=formatter.unescape(parts.get("color", "")) or seen.color,
                footer=parts.get("footer", ""),
                timestamp=event.occurred_at.timestamp(),
                line=_one_line(parts.get("line", "")),
                outcome=outcome,
                links=links,
            )
        except Exception as exc:  # a template is user code: any failure still posts
            formatter = self._formatters[platform]
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

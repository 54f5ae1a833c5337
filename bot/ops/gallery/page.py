"""The gallery page: each platform's channels, drawn from the calls recorded for them.

A channel is the calls one lifecycle (or one sample) made; the platform's preview reads
them as messages (the first post, its edits, its thread) and draws each body. The page
only arranges them: the final state of each message marked edited, its earlier
versions folded under it, its thread replies beneath (or after it, on platforms
without threads). The page runs no script, and its policy forbids any.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from bot.chat import registry
from bot.chat.preview import Call, Preview, Shown

POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"


@dataclass(frozen=True)
class Channel:
    id: str
    """The element's id (``slack-incident``): a link target and a picture's name."""
    title: str
    note: str
    calls: list[Call]


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    channels: list[Channel]


@dataclass
class Gallery:
    platforms: list[tuple[str, str, list[Section]]] = field(default_factory=list)
    """``(platform, client name, sections)``, in the registry's order."""

    def add(self, platform: str, client: str, sections: list[Section]) -> None:
        self.platforms.append((platform, client, sections))

    def channel_ids(self) -> list[str]:
        return [c.id for _, _, sections in self.platforms for s in sections for c in s.channels]

    def html(self, title: str = "Gallery", back: str = "") -> str:
        """The page; ``back`` is a link home (the inspector), if any."""
        styles = "".join(
            p.preview.style for p in registry.PLATFORMS.values() if p.preview is not None
        )
        links = [f'<a href="#{_e(name)}">{_e(client)}</a>' for name, client, _ in self.platforms]
        if back:
            links.insert(0, f'<a href="{_e(back)}">← back</a>')
        nav = " · ".join(links)
        body = "".join(
            _platform(name, client, sections) for name, client, sections in self.platforms
        )
        return (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
            f"<title>{_e(title)}</title><style>{PAGE_STYLE}{styles}</style></head>"
            f"<body><header><h1>{_e(title)}</h1><nav>{nav}</nav></header>{body}</body></html>\n"
        )


def _e(value: str) -> str:
    return html.escape(value, quote=True)


def _platform(name: str, client: str, sections: list[Section]) -> str:
    preview = registry.PLATFORMS[name].preview if name in registry.PLATFORMS else None
    if preview is None:
        inner = (
            f'<p class="missing">{_e(client)} has no preview yet: its folder needs a '
            "preview.py (see bot/chat/preview.py).</p>"
        )
    else:
        inner = "".join(_section(name, preview, section) for section in sections)
    return (
        f'<section class="platform" id="{_e(name)}" data-platform="{_e(name)}">'
        f"<h2>{_e(client)}</h2>{inner}</section>"
    )


def _section(name: str, preview: Preview, section: Section) -> str:
    channels = "".join(channel_html(name, preview, c) for c in section.channels)
    return f'<div class="group" id="{_e(section.id)}"><h3>{_e(section.title)}</h3>{channels}</div>'


def channel_html(name: str, preview: Preview, channel: Channel) -> str:
    """One channel: its caption, then every message its calls made, as the client shows."""
    messages = "".join(_message(preview, shown) for shown in preview.read(channel.calls))
    note = f'<p class="note">{_e(channel.note)}</p>' if channel.note else ""
    return (
        f'<article class="channel-box" id="{_e(channel.id)}"><h4>{_e(channel.title)}</h4>'
        f'{note}<div class="channel {_e(name)}">{messages}</div></article>'
    )


def _message(preview: Preview, shown: Shown) -> str:
    drawn = preview.draw(shown.current, bool(shown.edits))
    versions = ""
    if shown.edits:
        earlier = [shown.posted, *shown.edits[:-1]]
        folded = "".join(
            f'<div class="version"><div class="version-label">version {n}</div>'
            f"{preview.draw(body, n > 1)}</div>"
            for n, body in enumerate(earlier, start=1)
        )
        count = len(shown.edits)
        versions = (
            f'<details class="versions"><summary>edited {count} time{"s" if count > 1 else ""}'
            f" — earlier versions</summary>{folded}</details>"
        )
    replies = "".join(preview.draw(body, False) for body in shown.replies)
    if shown.replies and preview.threads:
        count = len(shown.replies)
        replies = (
            f'<div class="thread"><div class="thread-count">{count} '
            f"{'replies' if count > 1 else 'reply'} in the thread</div>{replies}</div>"
        )
    return f'<div class="shown">{drawn}{versions}{replies}</div>'


PAGE_STYLE = """
body { margin:0; background:#eceff1; font-family:system-ui,-apple-system,"Segoe UI",Roboto,
  Arial,sans-serif; color:#222; }
header { padding:16px 24px; background:#263238; color:#fff; }
header h1 { margin:0 0 4px; font-size:20px; }
header nav a { color:#b3e5fc; }
.platform { padding:8px 24px 24px; }
.platform > h2 { font-size:22px; margin:16px 0 8px; }
.group > h3 { font-size:16px; margin:16px 0 8px; color:#37474f; text-transform:capitalize; }
.channel-box { background:#fff; border-radius:8px; margin:0 0 16px; max-width:820px;
  overflow:hidden; box-shadow:0 1px 3px rgba(0,0,0,.15); }
.channel-box > h4 { margin:0; padding:8px 16px; font-size:13px; background:#cfd8dc;
  color:#263238; font-family:ui-monospace,Menlo,monospace; }
.note { margin:0; padding:6px 16px; font-size:13px; color:#455a64; background:#eceff1; }
.channel { padding:8px 0; overflow-wrap:anywhere; }
.channel:empty { display:none; }
.thread { margin:2px 0 6px 64px; border-left:2px solid rgba(128,128,128,.35); }
.thread-count { font-size:12px; font-weight:700; padding:2px 16px; opacity:.75; }
.versions { margin:0 16px 4px 64px; font-size:12px; opacity:.85; }
.versions summary { cursor:pointer; }
.version { border:1px dashed rgba(128,128,128,.5); margin:4px 0; border-radius:4px; }
.version-label { font-size:11px; padding:2px 8px; opacity:.7; }
.missing { background:#fff3e0; padding:8px 16px; border-radius:4px; }
"""

"""Discord in the gallery: REST calls of a bot channel target recorded, and drawn as the
Discord client shows them (the embed's colour bar, author line, linked title, inline
fields three to a row, footer, buttons, "(edited)", the thread started from the message).
"""

from __future__ import annotations

import re
from typing import Any

from bot.chat.preview import (
    Answer,
    Call,
    Preview,
    Shown,
    buttons,
    colour,
    link,
    markdown,
    moment,
    text,
)

CHANNEL = "1001"
PUBLIC_KEY = "0" * 64
_MESSAGES = re.compile(r"^/channels/(\d+)/messages$")
_MESSAGE = re.compile(r"^/channels/(\d+)/messages/(\d+)$")
_THREAD = re.compile(r"^/channels/(\d+)/messages/(\d+)/threads$")
BUTTON_KINDS: dict[object, str] = {1: "primary", 3: "success", 4: "danger", 5: "link"}
"""Discord's button styles, as the gallery colours them (5 is a link button)."""


def _fields(fields: list[Any]) -> str:
    cells = []
    for f in fields:
        if not isinstance(f, dict):
            continue
        wide = "" if f.get("inline") else " discord-wide"
        cells.append(
            f'<div class="discord-field{wide}"><div class="discord-field-name">'
            f"{markdown(str(f.get('name', '')))}</div>"
            f"<div>{markdown(str(f.get('value', '')))}</div></div>"
        )
    return f'<div class="discord-fields">{"".join(cells)}</div>' if cells else ""


def _embed(embed: Any) -> str:
    if not isinstance(embed, dict):
        return ""
    parts = []
    author = embed.get("author")
    if isinstance(author, dict) and author.get("name"):
        parts.append(f'<div class="discord-author">{text(author["name"])}</div>')
    if embed.get("title"):
        title = markdown(str(embed["title"]))
        parts.append(f'<div class="discord-title">{link(embed.get("url"), title)}</div>')
    if embed.get("description"):
        parts.append(
            f'<div class="discord-description">{markdown(str(embed["description"]))}</div>'
        )
    parts.append(_fields(embed.get("fields") or []))
    footer = embed.get("footer")
    footer_text = footer.get("text", "") if isinstance(footer, dict) else ""
    when = moment(embed["timestamp"]) if embed.get("timestamp") else ""
    if footer_text or when:
        shown = " • ".join(text(p) for p in (footer_text, when) if p)
        parts.append(f'<div class="discord-footer">{shown}</div>')
    bar = colour(embed.get("color"))
    return f'<div class="discord-embed" style="border-left-color:{bar}">{"".join(parts)}</div>'


def _components(rows: list[Any]) -> str:
    drawn = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        labels = []
        for b in row.get("components") or []:
            if not isinstance(b, dict):
                continue
            kind = BUTTON_KINDS.get(b.get("style"), "")
            labels.append((str(b.get("label", "")), str(b.get("url", "")), kind))
        drawn.append(buttons(labels, "discord"))
    return "".join(drawn)


def draw(body: Any, edited: bool) -> str:
    body = body if isinstance(body, dict) else {}
    mark = ' <span class="discord-edited">(edited)</span>' if edited else ""
    content = markdown(str(body["content"])) if body.get("content") else ""
    embeds = "".join(_embed(e) for e in body.get("embeds") or [])
    # Discord marks an edit after the text; a message of embeds only, beside the name.
    named, shown = (
        ("", f'<div class="discord-content">{content}{mark}</div>')
        if content
        else (
            mark,
            "",
        )
    )
    return (
        '<div class="discord-message"><div class="discord-avatar">B</div><div class="discord-main">'
        f'<div class="discord-name">ChatOps Bot <span class="discord-bot">BOT</span>{named}</div>'
        f"{shown}{embeds}"
        f"{_components(body.get('components') or [])}</div></div>"
    )


def answer(call: Call, number: int) -> Answer:
    """A message's id is new on create, kept on an edit; a thread's id is its message's."""
    if match := _THREAD.match(call.path):
        return 201, {"id": match[2], "type": 11}
    if match := _MESSAGE.match(call.path):
        return 200, {"id": match[2], "channel_id": match[1]}
    channel = match[1] if (match := _MESSAGES.match(call.path)) else CHANNEL
    return 200, {"id": str(900_000 + number), "channel_id": channel}


def read(calls: list[Call]) -> list[Shown]:
    shown: dict[str, Shown] = {}
    for call in calls:
        if call.method == "PATCH" and (match := _MESSAGE.match(call.path)):
            if match[2] in shown:
                shown[match[2]].edits.append(call.body)
        elif call.method == "POST" and (match := _MESSAGES.match(call.path)):
            if match[1] in shown:  # a thread's channel id is its first message's id
                shown[match[1]].replies.append(call.body)
            else:
                shown[call.answered["id"]] = Shown(call.body)
    return list(shown.values())


STYLE = """
.discord { background:#313338; color:#dbdee1; font-family:"gg sans","Noto Sans",Helvetica,Arial,
  sans-serif; font-size:16px; line-height:1.375; }
.discord-message { display:flex; gap:14px; padding:6px 16px; }
.discord-avatar { flex:none; width:40px; height:40px; border-radius:50%; background:#5865f2;
  color:#fff; font-weight:700; display:flex; align-items:center; justify-content:center; }
.discord-main { min-width:0; flex:1; }
.discord-name { color:#f2f3f5; font-weight:500; }
.discord-bot { background:#5865f2; color:#fff; font-size:10px; font-weight:600;
  border-radius:3px; padding:0 4px; vertical-align:2px; }
.discord-edited { color:#949ba4; font-size:10px; }
.discord-embed { background:#2b2d31; border-left:4px solid #1e1f22; border-radius:4px;
  padding:8px 16px 16px 12px; margin-top:4px; max-width:520px; font-size:14px; }
.discord-author { color:#f2f3f5; font-weight:600; font-size:14px; margin-top:8px; }
.discord-title { color:#f2f3f5; font-weight:600; font-size:16px; margin-top:8px; }
.discord-description { margin-top:8px; }
.discord-fields { display:grid; grid-template-columns:repeat(3, minmax(0, 1fr)); gap:8px;
  margin-top:8px; }
.discord-field { min-width:0; overflow-wrap:anywhere; }
.discord-wide { grid-column:1 / -1; }
.discord-field-name { color:#f2f3f5; font-weight:600; }
.discord-footer { color:#b5bac1; font-size:12px; margin-top:8px; }
.discord a { color:#00a8fc; text-decoration:none; }
.discord code { background:#1e1f22; border-radius:3px; padding:0 3px; font-size:85%; }
.discord-buttons { display:flex; flex-wrap:wrap; gap:8px; margin-top:8px; }
.discord-button { display:inline-block; background:#4e5058; color:#fff; border-radius:3px;
  padding:2px 16px; font-size:14px; font-weight:500; line-height:28px; }
.discord-primary { background:#5865f2; }
.discord-success { background:#248046; }
.discord-danger { background:#da373c; }
"""

PREVIEW = Preview(
    client="Discord",
    config=lambda base: {
        "discord": {"bot_token": "gallery", "public_key": PUBLIC_KEY, "api_url": base}
    },
    target=lambda base: {"discord": CHANNEL},
    answer=answer,
    read=read,
    draw=draw,
    style=STYLE,
)

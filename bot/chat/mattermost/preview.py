"""Mattermost in the gallery: REST calls of a bot account recorded, and drawn as the
Mattermost web app shows them (the post's message, the attachment's colour bar, linked
title, fields two to a row when short, footer, buttons, "Edited", replies in the thread).
"""

from __future__ import annotations

import re
from typing import Any

from bot.chat.preview import Answer, Call, Preview, Shown, buttons, colour, link, markdown, text

CHANNEL = "a" * 26
_PATCH = re.compile(r"^/api/v4/posts/([a-z0-9]+)/patch$")


def _attachment(attachment: Any) -> str:
    if not isinstance(attachment, dict):
        return ""
    parts = []
    if attachment.get("pretext"):
        parts.append(f"<div>{markdown(str(attachment['pretext']))}</div>")
    if attachment.get("title"):
        title = markdown(str(attachment["title"]))
        parts.append(
            f'<div class="mattermost-title">{link(attachment.get("title_link"), title)}</div>'
        )
    if attachment.get("text"):
        parts.append(f"<div>{markdown(str(attachment['text']))}</div>")
    cells = []
    for f in attachment.get("fields") or []:
        if not isinstance(f, dict):
            continue
        wide = "" if f.get("short") else " mattermost-wide"
        cells.append(
            f'<div class="mattermost-field{wide}"><div class="mattermost-field-name">'
            f"{text(f.get('title', ''))}</div><div>{markdown(str(f.get('value', '')))}</div></div>"
        )
    if cells:
        parts.append(f'<div class="mattermost-fields">{"".join(cells)}</div>')
    actions = [
        (str(a.get("name", "")), str(a.get("integration", {}).get("url", "")), "")
        for a in attachment.get("actions") or []
        if isinstance(a, dict) and isinstance(a.get("integration", {}), dict)
    ]
    parts.append(buttons(actions, "mattermost"))
    if attachment.get("footer"):
        parts.append(f'<div class="mattermost-footer">{text(attachment["footer"])}</div>')
    bar = colour(attachment.get("color"))
    return (
        f'<div class="mattermost-attachment" style="border-left-color:{bar}">{"".join(parts)}</div>'
    )


def draw(body: Any, edited: bool) -> str:
    body = body if isinstance(body, dict) else {}
    props = body.get("props") if isinstance(body.get("props"), dict) else {}
    mark = ' <span class="mattermost-edited">Edited</span>' if edited else ""
    message = markdown(str(body.get("message", "")))
    attachments = "".join(_attachment(a) for a in props.get("attachments") or [])
    return (
        '<div class="mattermost-post"><div class="mattermost-avatar">B</div>'
        '<div class="mattermost-main"><div class="mattermost-name">chatops-bot '
        '<span class="mattermost-bot">BOT</span></div>'
        f"<div>{message}{mark}</div>{attachments}</div></div>"
    )


def answer(call: Call, number: int) -> Answer:
    if match := _PATCH.match(call.path):
        return 200, {"id": match[1], "channel_id": CHANNEL}
    return 201, {"id": f"{number:026d}", "channel_id": CHANNEL}


def read(calls: list[Call]) -> list[Shown]:
    shown: dict[str, Shown] = {}
    for call in calls:
        body = call.body if isinstance(call.body, dict) else {}
        if call.method == "PUT" and (match := _PATCH.match(call.path)):
            if match[1] in shown:
                shown[match[1]].edits.append(body)
        elif call.method == "POST" and call.path == "/api/v4/posts":
            if body.get("root_id") in shown:
                shown[body["root_id"]].replies.append(body)
            else:
                shown[call.answered["id"]] = Shown(body)
    return list(shown.values())


STYLE = """
.mattermost { background:#fff; color:#3f4350; font-family:"Open Sans",Helvetica,Arial,
  sans-serif; font-size:14px; line-height:1.5; }
.mattermost-post { display:flex; gap:10px; padding:8px 20px; }
.mattermost-avatar { flex:none; width:32px; height:32px; border-radius:50%; background:#1e325c;
  color:#fff; font-weight:700; display:flex; align-items:center; justify-content:center; }
.mattermost-main { min-width:0; flex:1; }
.mattermost-name { font-weight:600; }
.mattermost-bot { background:rgba(63,67,80,.15); font-size:10px; font-weight:600;
  border-radius:2px; padding:0 4px; }
.mattermost-edited { color:rgba(63,67,80,.56); font-size:12px; }
.mattermost-attachment { border:1px solid rgba(63,67,80,.16); border-left:4px solid #ddd;
  border-radius:4px; padding:8px 12px; margin-top:6px; max-width:640px; }
.mattermost-title { font-weight:600; font-size:15px; }
.mattermost-fields { display:grid; grid-template-columns:1fr 1fr; gap:6px 16px; margin-top:6px; }
.mattermost-field { min-width:0; overflow-wrap:anywhere; }
.mattermost-wide { grid-column:1 / -1; }
.mattermost-field-name { font-weight:600; }
.mattermost-footer { color:rgba(63,67,80,.64); font-size:12px; margin-top:6px; }
.mattermost a { color:#1c58d9; text-decoration:none; }
.mattermost code { background:rgba(63,67,80,.08); border-radius:3px; padding:0 3px; }
.mattermost-buttons { display:flex; gap:8px; margin-top:8px; }
.mattermost-button { display:inline-block; border:1px solid #1c58d9; color:#1c58d9;
  border-radius:4px; padding:2px 12px; font-weight:600; }
"""

PREVIEW = Preview(
    client="Mattermost",
    config=lambda base: {"mattermost": {"url": base, "bot_token": "gallery"}},
    target=lambda base: {"mattermost": CHANNEL},
    answer=answer,
    read=read,
    draw=draw,
    style=STYLE,
)

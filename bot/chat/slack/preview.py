"""Slack in the gallery: Web API calls recorded, and drawn as the Slack client shows them
(the top-level ``text`` unless there are top-level blocks, each attachment's colour bar
and blocks, buttons, "(edited)", replies in the thread)."""

from __future__ import annotations

import re
from typing import Any

from bot.chat.preview import Answer, Call, Preview, Shown, Slots, buttons, colour, link, text

CHANNEL = "C0GALLERY"

_TAG = re.compile(r"<([^<>\n]+)>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_CODE = re.compile(r"`([^`\n]+)`")


def _plain(escaped: str) -> str:
    """Slack's own entities (``&lt;`` ``&gt;`` ``&amp;``) as the characters they show."""
    return escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _tag(inner: str) -> str:
    """One ``<...>`` tag as Slack shows it: a link, a date's fallback, a mention."""
    if inner.startswith("!date^"):
        return text(_plain(inner.rpartition("|")[2]))
    if inner.startswith("!"):
        name = inner[1:].split("|")[0].split("^")[0]
        return f'<span class="slack-mention">@{text(_plain(name))}</span>'
    if inner.startswith(("@", "#")):
        shown = inner.partition("|")[2] or inner[1:]
        return f'<span class="slack-mention">{text(inner[0])}{text(_plain(shown))}</span>'
    address, _, label = inner.partition("|")
    return link(_plain(address), mrkdwn(label) if label else text(_plain(address)))


def mrkdwn(source: str) -> str:
    """Slack mrkdwn as escaped HTML: tags first (a bold title is ``*<url|title>*``), then
    the markers around them."""
    slots = Slots()
    work = _TAG.sub(lambda m: slots.keep(_tag(m[1])), Slots.clean(source))
    escaped = text(_plain(work))
    escaped = _CODE.sub(r"<code>\1</code>", escaped)
    escaped = _BOLD.sub(r"<b>\1</b>", escaped)
    escaped = _ITALIC.sub(r"<i>\1</i>", escaped)
    escaped = _STRIKE.sub(r"<s>\1</s>", escaped)
    return slots.put_back(escaped).replace("\n", "<br>")


def _element(element: Any) -> str:
    if not isinstance(element, dict):
        return ""
    if element.get("type") == "mrkdwn":
        return mrkdwn(str(element.get("text", "")))
    return text(element.get("text", ""))


def _button(element: Any) -> tuple[str, str, str]:
    label = element.get("text", {}) if isinstance(element, dict) else {}
    words = label.get("text", "") if isinstance(label, dict) else ""
    return str(words), str(element.get("url", "")), str(element.get("style", ""))


def _block(block: Any) -> str:
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    if kind == "section":
        parts = []
        if isinstance(block.get("text"), dict):
            parts.append(f'<div class="slack-section">{_element(block["text"])}</div>')
        fields = [_element(f) for f in block.get("fields", []) or []]
        if fields:
            cells = "".join(f'<div class="slack-field">{f}</div>' for f in fields)
            parts.append(f'<div class="slack-fields">{cells}</div>')
        if isinstance(block.get("accessory"), dict) and block["accessory"].get("type") == "button":
            parts.append(buttons([_button(block["accessory"])], "slack"))
        return "".join(parts)
    if kind == "header":
        return f'<div class="slack-header">{_element(block.get("text"))}</div>'
    if kind == "context":
        inner = " ".join(_element(e) for e in block.get("elements", []) or [])
        return f'<div class="slack-context">{inner}</div>'
    if kind == "actions":
        return buttons([_button(e) for e in block.get("elements", []) or []], "slack")
    if kind == "divider":
        return '<hr class="slack-divider">'
    return ""


def draw(body: Any, edited: bool) -> str:
    body = body if isinstance(body, dict) else {}
    blocks = body.get("blocks") or []
    mark = ' <span class="slack-edited">(edited)</span>' if edited else ""
    parts: list[str] = []
    if blocks:
        parts.extend(_block(b) for b in blocks)
        if mark:
            parts.append(mark)
    elif body.get("text"):
        parts.append(f'<div class="slack-text">{mrkdwn(str(body["text"]))}{mark}</div>')
    for attachment in body.get("attachments") or []:
        if not isinstance(attachment, dict):
            continue
        inner = "".join(_block(b) for b in attachment.get("blocks") or [])
        bar = colour(attachment.get("color"))
        parts.append(f'<div class="slack-attachment" style="border-left-color:{bar}">{inner}</div>')
    return (
        '<div class="slack-message"><div class="slack-avatar">B</div><div class="slack-main">'
        '<div class="slack-name">ChatOps Bot <span class="slack-app">APP</span></div>'
        f"{''.join(parts)}</div></div>"
    )


def answer(call: Call, number: int) -> Answer:
    """``chat.postMessage`` makes a message (``ts``); ``chat.update`` keeps its ``ts``."""
    body = call.body if isinstance(call.body, dict) else {}
    ts = str(body.get("ts") or f"{1_700_000_000 + number}.000100")
    return 200, {"ok": True, "channel": CHANNEL, "ts": ts}


def read(calls: list[Call]) -> list[Shown]:
    shown: dict[str, Shown] = {}
    for call in calls:
        body = call.body if isinstance(call.body, dict) else {}
        if call.path.endswith("chat.update") and body.get("ts") in shown:
            shown[body["ts"]].edits.append(body)
        elif call.path.endswith("chat.postMessage"):
            parent = body.get("thread_ts")
            if parent in shown:
                shown[parent].replies.append(body)
            else:
                shown[call.answered["ts"]] = Shown(body)
    return list(shown.values())


STYLE = """
.slack { background:#fff; color:#1d1c1d; font-family:Lato,"Helvetica Neue",Arial,sans-serif;
  font-size:15px; line-height:1.46; }
.slack-message { display:flex; gap:8px; padding:8px 20px; }
.slack-avatar { flex:none; width:36px; height:36px; border-radius:6px; background:#4a154b;
  color:#fff; font-weight:700; display:flex; align-items:center; justify-content:center; }
.slack-main { min-width:0; flex:1; }
.slack-name { font-weight:900; }
.slack-app { font-size:10px; font-weight:700; background:#e8e8e8; color:#616061;
  padding:1px 3px; border-radius:2px; vertical-align:2px; }
.slack-attachment { border-left:4px solid #ddd; border-radius:4px; padding:4px 0 4px 12px;
  margin-top:4px; }
.slack-section { margin:2px 0; }
.slack-fields { display:grid; grid-template-columns:1fr 1fr; gap:6px 16px; margin:6px 0; }
.slack-context { color:#616061; font-size:12px; margin-top:4px; }
.slack-header { font-weight:900; font-size:18px; }
.slack-edited { color:#616061; font-size:13px; }
.slack-mention { background:#fcefb4; color:#1264a3; border-radius:3px; padding:0 2px; }
.slack a { color:#1264a3; text-decoration:none; }
.slack code { font-family:Monaco,Menlo,monospace; font-size:12px; color:#e01e5a;
  background:#f6f6f6; border:1px solid #ddd; border-radius:3px; padding:0 2px; }
.slack-buttons { display:flex; flex-wrap:wrap; gap:8px; margin:8px 0 4px; }
.slack-button { display:inline-block; border:1px solid #bbb; border-radius:4px; padding:2px 12px;
  font-size:13px; font-weight:700; color:#1d1c1d; background:#fff; }
.slack-primary { background:#007a5a; border-color:#007a5a; color:#fff; }
.slack-danger { background:#fff; border-color:#e01e5a; color:#e01e5a; }
"""

PREVIEW = Preview(
    client="Slack",
    config=lambda base: {
        "slack": {"bot_token": "xoxb-gallery", "signing_secret": "gallery", "api_url": base + "/"}
    },
    target=lambda base: {"slack": CHANNEL},
    answer=answer,
    read=read,
    draw=draw,
    style=STYLE,
)

"""Microsoft Teams in the gallery: Workflows webhook calls recorded, and each Adaptive Card
drawn as Teams shows it (container styles as colour, bold title, facts, the
``Action.OpenUrl`` buttons). A webhook cannot edit or thread: every call is a card."""

from __future__ import annotations

from typing import Any

from bot.chat.preview import Answer, Call, Preview, Shown, buttons, markdown, text

STYLES = {"good", "attention", "warning", "accent", "emphasis", "default"}


def _element(element: Any) -> str:
    if not isinstance(element, dict):
        return ""
    kind = element.get("type")
    if kind == "TextBlock":
        classes = ["teams-text"]
        if element.get("weight") == "Bolder":
            classes.append("teams-bold")
        if element.get("isSubtle"):
            classes.append("teams-subtle")
        size = str(element.get("size", "")).lower()
        if size in ("small", "medium", "large"):
            classes.append(f"teams-{size}")
        return f'<div class="{" ".join(classes)}">{markdown(str(element.get("text", "")))}</div>'
    if kind == "Container":
        style = element.get("style") if element.get("style") in STYLES else "default"
        inner = "".join(_element(e) for e in element.get("items") or [])
        return f'<div class="teams-container teams-{style}">{inner}</div>'
    if kind == "FactSet":
        rows = "".join(
            f'<div class="teams-fact-title">{text(f.get("title", ""))}</div>'
            f"<div>{markdown(str(f.get('value', '')))}</div>"
            for f in element.get("facts") or []
            if isinstance(f, dict)
        )
        return f'<div class="teams-facts">{rows}</div>'
    if kind == "ColumnSet":
        columns = "".join(
            f'<div class="teams-column">{"".join(_element(e) for e in c.get("items") or [])}</div>'
            for c in element.get("columns") or []
            if isinstance(c, dict)
        )
        return f'<div class="teams-columns">{columns}</div>'
    if kind == "ActionSet":
        return _actions(element.get("actions") or [])
    return ""


def _actions(actions: list[Any]) -> str:
    labels = [
        (str(a.get("title", "")), str(a.get("url", "")), "") for a in actions if isinstance(a, dict)
    ]
    return buttons(labels, "teams")


def _card(attachment: Any) -> str:
    card = attachment.get("content") if isinstance(attachment, dict) else None
    if not isinstance(card, dict):
        return ""
    body = "".join(_element(e) for e in card.get("body") or [])
    return f'<div class="teams-card">{body}{_actions(card.get("actions") or [])}</div>'


def draw(body: Any, edited: bool) -> str:
    body = body if isinstance(body, dict) else {}
    cards = "".join(_card(a) for a in body.get("attachments") or [])
    return (
        '<div class="teams-message"><div class="teams-avatar">W</div><div class="teams-main">'
        f'<div class="teams-name">Workflows</div>{cards}</div></div>'
    )


def answer(call: Call, number: int) -> Answer:
    return 202, None


def read(calls: list[Call]) -> list[Shown]:
    return [Shown(call.body) for call in calls if call.method == "POST"]


STYLE = """
.teams { background:#f5f5f5; color:#242424; font-family:"Segoe UI",Helvetica,Arial,sans-serif;
  font-size:14px; line-height:1.43; }
.teams-message { display:flex; gap:10px; padding:8px 20px; }
.teams-avatar { flex:none; width:32px; height:32px; border-radius:50%; background:#5b5fc7;
  color:#fff; font-weight:700; display:flex; align-items:center; justify-content:center; }
.teams-main { min-width:0; flex:1; max-width:620px; }
.teams-name { font-weight:600; font-size:12px; color:#424242; }
.teams-card { background:#fff; border-radius:6px; box-shadow:0 1px 2px rgba(0,0,0,.14);
  margin-top:4px; padding:0 0 12px; overflow:hidden; }
.teams-container { padding:10px 16px; }
.teams-good { background:#e7f2da; }
.teams-attention { background:#fde7e9; }
.teams-warning { background:#fff4ce; }
.teams-accent { background:#e0ecfa; }
.teams-emphasis { background:#f0f0f0; }
.teams-text { margin:2px 16px; overflow-wrap:anywhere; }
.teams-container .teams-text { margin:2px 0; }
.teams-bold { font-weight:600; }
.teams-medium { font-size:16px; }
.teams-large { font-size:20px; }
.teams-small { font-size:12px; }
.teams-subtle { color:#616161; }
.teams-facts { display:grid; grid-template-columns:max-content 1fr; gap:4px 12px;
  margin:8px 16px; }
.teams-fact-title { font-weight:600; }
.teams-columns { display:flex; gap:12px; margin:4px 16px; }
.teams a { color:#5b5fc7; text-decoration:none; }
.teams-buttons { display:flex; gap:8px; margin:10px 16px 0; }
.teams-button { display:inline-block; border:1px solid #d1d1d1; border-radius:4px;
  padding:4px 12px; font-weight:600; color:#242424; background:#fff; }
"""

PREVIEW = Preview(
    client="Microsoft Teams",
    config=lambda base: {},
    target=lambda base: {"teams_webhook": base + "/workflows/gallery?sig=gallery"},
    answer=answer,
    read=read,
    draw=draw,
    style=STYLE,
    threads=False,
)

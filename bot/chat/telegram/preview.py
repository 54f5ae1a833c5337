"""Telegram in the gallery: Bot API calls recorded, and drawn as Telegram shows them (a
bubble of HTML text, the inline keyboard under it, "edited", replies quoting the first
message)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from bot.chat.preview import Answer, Call, Preview, Shown, buttons, href, text

CHAT = "-1001234567890"
_TAGS = {
    "b": "b",
    "strong": "b",
    "i": "i",
    "em": "i",
    "u": "u",
    "ins": "u",
    "s": "s",
    "strike": "s",
    "del": "s",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "a",
}
"""The tags Telegram's HTML parse mode knows, as the gallery writes them."""


class _Sanitizer(HTMLParser):
    """Telegram HTML rebuilt from its known tags; everything else is text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        shown = _TAGS.get(tag)
        if shown is None:
            return
        if shown == "a":
            target = href(dict(attrs).get("href"))
            self.out.append(f'<a href="{target}" rel="noopener noreferrer">' if target else "<a>")
        else:
            self.out.append(f"<{shown}>")
        self.open.append(shown)

    def handle_endtag(self, tag: str) -> None:
        shown = _TAGS.get(tag)
        if shown is not None and shown in self.open:
            while self.open:
                last = self.open.pop()
                self.out.append(f"</{last}>")
                if last == shown:
                    break

    def handle_data(self, data: str) -> None:
        self.out.append(text(data).replace("\n", "<br>"))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{t}>" for t in reversed(self.open))


def html_text(source: str) -> str:
    sanitizer = _Sanitizer()
    sanitizer.feed(source)
    return sanitizer.result()


def _keyboard(markup: Any) -> str:
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    drawn = []
    for row in rows or []:
        labels = [
            (str(b.get("text", "")), str(b.get("url", "")), "")
            for b in row or []
            if isinstance(b, dict)
        ]
        drawn.append(buttons(labels, "telegram"))
    return "".join(drawn)


def draw(body: Any, edited: bool) -> str:
    body = body if isinstance(body, dict) else {}
    quote = ""
    if body.get("reply_to_message_id") is not None:
        quote = '<div class="telegram-quote">ChatOps Bot<br><span>↩ the first message</span></div>'
    mark = '<span class="telegram-edited">edited</span>' if edited else ""
    return (
        f'<div class="telegram-message"><div class="telegram-bubble">{quote}'
        f'<div class="telegram-name">ChatOps Bot</div>'
        f"<div>{html_text(str(body.get('text', '')))}</div>{mark}</div>"
        f"{_keyboard(body.get('reply_markup'))}</div>"
    )


def answer(call: Call, number: int) -> Answer:
    body = call.body if isinstance(call.body, dict) else {}
    message = body.get("message_id", 100 + number)
    return 200, {"ok": True, "result": {"message_id": message, "chat": {"id": CHAT}}}


def read(calls: list[Call]) -> list[Shown]:
    shown: dict[Any, Shown] = {}
    for call in calls:
        body = call.body if isinstance(call.body, dict) else {}
        if call.path.endswith("/editMessageText") and body.get("message_id") in shown:
            shown[body["message_id"]].edits.append(body)
        elif call.path.endswith("/sendMessage"):
            parent = body.get("reply_to_message_id")
            if parent in shown:
                shown[parent].replies.append(body)
            else:
                shown[call.answered["result"]["message_id"]] = Shown(body)
    return list(shown.values())


STYLE = """
.telegram { background:#8fb1a0; background-image:linear-gradient(160deg,#a7c49d,#86a9b5);
  color:#000; font-family:Roboto,"Segoe UI",Helvetica,Arial,sans-serif; font-size:15px;
  line-height:1.35; padding:8px 0; }
.telegram-message { padding:4px 16px; max-width:460px; }
.telegram-bubble { background:#fff; border-radius:12px 12px 12px 4px; padding:6px 10px 8px;
  box-shadow:0 1px 2px rgba(0,0,0,.15); overflow-wrap:anywhere; }
.telegram-name { color:#3390ec; font-weight:500; font-size:14px; }
.telegram-quote { border-left:3px solid #3390ec; background:#e8f1fc; border-radius:4px;
  padding:2px 8px; margin-bottom:4px; font-size:13px; color:#3390ec; }
.telegram-quote span { color:#555; }
.telegram-edited { display:block; text-align:right; color:#8d9aa8; font-size:12px;
  font-style:italic; }
.telegram a { color:#3390ec; text-decoration:none; }
.telegram code { font-family:Menlo,monospace; color:#c7254e; }
.telegram-buttons { display:flex; gap:4px; margin-top:4px; }
.telegram-buttons a, .telegram-buttons > span { flex:1; }
.telegram-button { display:block; text-align:center; background:rgba(0,0,0,.25); color:#fff;
  border-radius:8px; padding:6px; font-weight:500; font-size:14px; }
"""

PREVIEW = Preview(
    client="Telegram",
    config=lambda base: {"telegram": {"bot_token": "123:gallery", "api_url": base}},
    target=lambda base: {"telegram": CHAT},
    answer=answer,
    read=read,
    draw=draw,
    style=STYLE,
    threads=False,
)

"""What Telegram can tell before the first post: whose bot token this is (``getMe``),
whether its webhook takes the clicks its buttons send (``getWebhookInfo``) and whether
the bot can reach each target's chat (``getChat``). Nothing is posted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.chat.platform import Finding
from bot.core.errors import DeliveryError

if TYPE_CHECKING:
    from bot.chat import ChatAdapter
    from bot.chat.telegram.adapter import TelegramAdapter
    from bot.config.settings import Settings


async def check(adapter: ChatAdapter, settings: Settings) -> list[Finding]:
    from bot.chat.telegram.adapter import TelegramAdapter
    from bot.chat.telegram.platform import Address

    assert isinstance(adapter, TelegramAdapter)
    try:
        me = await adapter.call("getMe", {})
    except DeliveryError as exc:
        fix = "copy the token @BotFather gave into [telegram] bot_token"
        return [Finding(False, f"Telegram refused [telegram] bot_token: {exc.reason} ({fix})")]
    findings = [Finding(True, f"posting to Telegram as @{me.get('username', '?')}")]
    findings.extend(await _clicks(adapter, settings))
    for name, target in settings.targets.items():
        if target.platform != "telegram":
            continue
        chat = Address.parse(target.address).chat_id
        try:
            found = await adapter.call("getChat", {"chat_id": chat})
        except DeliveryError as exc:
            findings.append(Finding(False, f"target {name!r}: {exc.reason}"))
            continue
        shown = found.get("title") or found.get("username") or chat
        findings.append(Finding(True, f"target {name!r}: chat {shown} is reachable"))
    return findings


async def _clicks(adapter: TelegramAdapter, settings: Settings) -> list[Finding]:
    """Where messages carry action buttons, whether Telegram sends their clicks: a
    webhook set for ``message`` updates alone (before the first Telegram target, or by
    hand) drops every ``callback_query``."""
    from bot.chat.telegram.platform import TELEGRAM

    if not TELEGRAM.takes_clicks(settings):
        return []
    try:
        webhook = await adapter.call("getWebhookInfo", {})
    except DeliveryError:
        return []  # nothing learnt: the token's finding says what is wrong
    kinds = webhook.get("allowed_updates") if isinstance(webhook, dict) else None
    if not webhook.get("url") or not isinstance(kinds, list) or "callback_query" in kinds:
        return []  # no webhook yet, or every kind of update (Telegram's default)
    return [
        Finding(
            False,
            "Telegram sends this bot no button clicks: its webhook takes only "
            f"{', '.join(map(str, kinds))} updates; run python -m bot telegram set-webhook "
            f"{webhook['url']} again",
        )
    ]

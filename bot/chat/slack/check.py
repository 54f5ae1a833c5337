"""What Slack can tell before the first post: whose token this is, and whether each
channel target exists and has the bot in it.

``auth.test`` names the bot and the workspace; ``conversations.info`` (scope
``channels:read``) says whether a channel id exists and ``is_member``. Nothing is posted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.chat.platform import Finding

if TYPE_CHECKING:
    from bot.chat import ChatAdapter
    from bot.config.settings import Settings

TOKEN_FIX = "set the Bot User OAuth Token (xoxb-...) in [slack] bot_token or BOT_SLACK__BOT_TOKEN"


async def check(adapter: ChatAdapter, settings: Settings) -> list[Finding]:
    from bot.chat.slack.adapter import SlackAdapter

    assert isinstance(adapter, SlackAdapter)
    try:
        who = await _ask(adapter, "auth.test")
    except _Refused as exc:
        return [Finding(False, f"Slack refused [slack] bot_token: {exc.error} ({TOKEN_FIX})")]
    except _Unreachable as exc:
        return [Finding(False, str(exc))]
    bot = f"@{who.get('user') or who.get('user_id') or '?'}"
    findings = [Finding(True, f"posting to Slack as {bot} in workspace {who.get('team', '?')}")]
    for name, target in settings.targets.items():
        if target.platform == "slack":
            findings.append(await _channel(adapter, name, target.address, bot))
    return findings


async def _channel(adapter: Any, name: str, address: str, bot: str) -> Finding:
    where = f"target {name!r} ({address})"
    if address.startswith("#"):
        return Finding(
            True,
            f"{where} not checked: Slack looks channels up by id (give the C... id to have it "
            f"checked); posts there need {bot} invited (/invite {bot}) or chat:write.public",
        )
    try:
        answer = await _ask(adapter, "conversations.info", channel=address)
    except _Refused as exc:
        if exc.error == "missing_scope":
            return Finding(
                True, f"{where} not checked: the token lacks the channels:read scope (add it)"
            )
        if exc.error == "channel_not_found":
            return Finding(
                False,
                f"{where}: no channel the bot can see (a private channel: /invite {bot} there; "
                "else check the id: channel details -> About)",
            )
        return Finding(False, f"{where}: Slack says {exc.error}")
    except _Unreachable as exc:
        return Finding(False, f"{where} not checked: {exc}")
    channel = answer.get("channel") or {}
    label = f"#{channel.get('name', address)}"
    if not channel.get("is_member", False):
        return Finding(
            False,
            f"{where}: the bot is not in {label}: /invite {bot} there (or grant "
            "chat:write.public; threads and edits work either way)",
        )
    return Finding(True, f"{where}: {label} is visible and the bot is a member")


class _Refused(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class _Unreachable(Exception):
    pass


async def _ask(adapter: Any, method: str, **params: str) -> dict[str, Any]:
    # Imported here: the settings read the platform (and so this module) for the target
    # keys, and need not load aiohttp or slack_sdk for that.
    import aiohttp
    from slack_sdk.errors import SlackApiError

    try:
        response = await adapter.client.api_call(method, params=params or None)
    except SlackApiError as exc:
        data = exc.response.data
        raise _Refused(data.get("error", "") if isinstance(data, dict) else "") from None
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise _Unreachable(
            f"Slack unreachable at {adapter.client.base_url} ({type(exc).__name__}): "
            "check [slack] api_url and the network"
        ) from None
    return dict(response.data) if isinstance(response.data, dict) else {}

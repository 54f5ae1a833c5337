"""The start-up check (``doctor``) on Telegram, Mattermost and Teams: whose token, which
targets the bot can reach, and which webhooks cannot be asked; nothing is posted."""

from __future__ import annotations

from bot.intake.web import CHECKUP
from tests.conftest import base_config, eventually
from tests.fakes.mattermost import BOT_TOKEN as MATTERMOST_TOKEN
from tests.fakes.telegram import BOT_TOKEN as TELEGRAM_TOKEN

CHAT, GONE = "-1001001", "-1009999"
CHANNEL, MISSING = "a" * 26, "b" * 26


async def findings(bot) -> list[str]:
    async def checked():
        found = bot.app[CHECKUP].findings
        return found if found is not None else None

    return [f"{'ok' if f.ok else 'problem'}: {f.text}" for f in await eventually(checked)]


async def test_telegram_token_and_chats_are_checked(tmp_path, fake_telegram, make_bot):
    fake_telegram.missing.add(GONE)
    config = base_config(
        tmp_path,
        telegram={"api_url": fake_telegram.url, "bot_token": TELEGRAM_TOKEN},
        targets={"ops": {"telegram": CHAT}, "old": {"telegram": GONE, "topic": 3}},
        routes=[{"to": ["ops", "old"]}],
    )
    said = await findings(await make_bot(config))
    assert "ok: posting to Telegram as @chatops_bot" in said
    assert f"ok: target 'ops': chat chat {CHAT} is reachable" in said
    assert any(s.startswith("problem: target 'old'") and "chat not found" in s for s in said)
    assert fake_telegram.delivered("sendMessage") == []  # nothing posted


async def test_mattermost_token_and_channels_are_checked(tmp_path, fake_mattermost, make_bot):
    fake_mattermost.missing.add(MISSING)
    config = base_config(
        tmp_path,
        mattermost={"url": fake_mattermost.url, "bot_token": MATTERMOST_TOKEN},
        targets={"ops": {"mattermost": CHANNEL}, "old": {"mattermost": MISSING}},
        routes=[{"to": ["ops", "old"]}],
    )
    said = await findings(await make_bot(config))
    assert "ok: posting to Mattermost as @chatops" in said
    assert f"ok: target 'ops': channel {CHANNEL[:8]} is visible" in said
    assert any(s.startswith("problem: target 'old'") and "channel not found" in s for s in said)
    assert fake_mattermost.calls == []  # nothing posted


async def test_webhooks_that_answer_only_by_posting_are_named_not_called(
    tmp_path, fake_teams, fake_mattermost, make_bot
):
    hook = f"{fake_mattermost.url}/hooks/{'h' * 26}"
    config = base_config(
        tmp_path,
        targets={
            "ops-teams": {"teams_webhook": fake_teams.webhook_url()},
            "ops-hook": {"mattermost_webhook": hook},
        },
        routes=[{"to": ["ops-teams", "ops-hook"]}],
    )
    said = await findings(await make_bot(config))
    assert (
        "ok: target 'ops-teams': not asked (a Teams webhook answers only by posting); "
        "python -m bot test ops-teams posts a test card"
    ) in said
    assert (
        "ok: target 'ops-hook': not asked (an incoming webhook answers only by posting); "
        "python -m bot test ops-hook posts a test message"
    ) in said
    assert fake_teams.calls == [] and fake_mattermost.calls == []  # nothing posted

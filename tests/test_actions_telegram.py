"""Buttons under a PagerDuty incident in a Telegram supergroup: callback buttons whose
``callback_data`` fits Telegram's 64 bytes, a ``callback_query`` taken at once on
/telegram/updates, answered with ``answerCallbackQuery`` (a notice for a done action, an
alert saying why for a refusal or a failure), the message edited with its new keyboard.
What every platform does alike is in test_actions_platforms.py."""

from __future__ import annotations

import aiohttp

from bot.chat.telegram.commands import set_webhook
from bot.config.settings import Settings
from tests.actions import (
    TELEGRAM_CHAT,
    TELEGRAM_SECRET,
    TelegramClicks,
    callbacks_of,
    incident,
    pagerduty_bot,
    some,
    telegram_config,
    telegram_press,
    with_pagerduty,
)
from tests.conftest import eventually
from tests.fakes.apis import PAGERDUTY_FORBIDDEN
from tests.fakes.telegram import QUERY_GONE
from tests.test_doctor_platforms import findings

LONG = "incident-response-room-for-the-platform-and-data-teams"
"""A target name that makes ``bot.<action>:<delivery id>`` longer than 64 bytes."""


WORDY = "this API key cannot write incidents: it is a read-only key, made by an account owner"


async def test_acknowledge_is_a_notice_and_the_keyboard_follows(
    tmp_path, fake_telegram, pagerduty_api, make_bot
):
    clicks = TelegramClicks(fake_telegram)
    bot = await pagerduty_bot(clicks, tmp_path, pagerduty_api, make_bot)
    first = clicks.versions()[0]
    rows = first["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in rows[0]] == ["Acknowledge", "Resolve", "Mute this 1h"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in rows[0])

    await clicks.press(bot, clicks.buttons()["acknowledge"])

    await fake_telegram.wait_until(lambda: len(clicks.versions()) > 1)
    [call] = pagerduty_api.calls
    assert call.headers["From"] == "alice@acme.com"
    assert list(clicks.buttons()) == ["resolve", "mute_1h"]
    assert "Acknowledged by @alice via Telegram" in clicks.text()
    assert await eventually(lambda: some(clicks.notices())) == ["Acknowledged ✓"]
    assert clicks.told() == []  # nothing went wrong: no alert to close
    [edit] = [c for c in fake_telegram.delivered("editMessageText")]
    assert edit.body["parse_mode"] == "HTML" and edit.body["chat_id"] == int(TELEGRAM_CHAT)


async def test_a_long_target_name_still_fits_callback_data(
    tmp_path, fake_telegram, pagerduty_api, make_bot
):
    clicks = TelegramClicks(fake_telegram)
    config = with_pagerduty(clicks.config(tmp_path), pagerduty_api.url, "4242")
    config["targets"] = {LONG: {"telegram": TELEGRAM_CHAT}}
    config["routes"] = [{"to": [LONG]}]
    bot = await make_bot(config)
    await incident(bot, "triggered")
    await clicks.posted()
    shown = clicks.buttons()
    assert LONG not in shown["acknowledge"]  # the target is a digest: the whole id is too long
    assert all(len(data.encode()) <= 64 for data in shown.values())

    await clicks.press(bot, shown["resolve"])

    await fake_telegram.wait_until(lambda: len(clicks.versions()) > 1)
    assert pagerduty_api.calls[0].body["incident"]["status"] == "resolved"
    assert clicks.buttons() == {}
    assert "Resolved by @alice via Telegram" in clicks.text()


async def test_a_click_from_a_chat_that_is_no_target_is_refused_with_an_alert(
    tmp_path, fake_telegram, pagerduty_api, make_bot
):
    clicks = TelegramClicks(fake_telegram)
    bot = await pagerduty_bot(clicks, tmp_path, pagerduty_api, make_bot)

    # The same button, forwarded into a group the bot was added to by someone else.
    await clicks.press(bot, clicks.buttons()["acknowledge"], chat="-1009999")

    [refusal] = await eventually(lambda: some(clicks.told()))
    assert "(-1009999) is not one this bot takes commands and clicks from" in refusal
    assert pagerduty_api.calls == [] and len(clicks.versions()) == 1
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_commands_refused_total{platform="telegram",reason="unbound workspace"} 1.0' in (
        metrics
    )


async def test_a_reason_longer_than_an_alert_is_cut_there_and_replied_whole(
    tmp_path, fake_telegram, pagerduty_api, make_bot
):
    clicks = TelegramClicks(fake_telegram)
    bot = await pagerduty_bot(clicks, tmp_path, pagerduty_api, make_bot)
    # PagerDuty's 403 body (PAGERDUTY_FORBIDDEN), with a longer reason in ``errors``.
    forbidden = {"error": {**PAGERDUTY_FORBIDDEN["error"], "errors": [WORDY]}}
    pagerduty_api.answer(403, forbidden)

    await clicks.press(bot, clicks.buttons()["acknowledge"])

    [whole] = await eventually(lambda: some(clicks.told()))
    [alert] = fake_telegram.answers
    assert alert["show_alert"] is True and len(alert["text"]) == 200
    assert alert["text"].endswith("…") and whole.startswith("alice: ")
    assert whole.removeprefix("alice: ").startswith(alert["text"][:-1])
    assert "PagerDuty answered 403" in whole and "fix: grant the account" in whole
    assert WORDY in whole
    assert "pd-rest-key" not in whole
    assert clicks.replies() == []  # no thread line: nothing was done
    assert clicks.messages() == 1 and len(clicks.versions()) == 1


async def test_each_query_is_answered_once_and_other_buttons_only_stop_the_spinner(
    tmp_path, fake_telegram, pagerduty_api, make_bot
):
    clicks = TelegramClicks(fake_telegram)
    bot = await pagerduty_bot(clicks, tmp_path, pagerduty_api, make_bot)
    update = fake_telegram.callback_query(
        fake_telegram.roots()[0], "someone-elses:button", 4242, "alice"
    )

    await telegram_press(bot, update)

    [answer] = await eventually(lambda: some(fake_telegram.answers))
    assert answer == {"callback_query_id": update["callback_query"]["id"]}
    assert fake_telegram.queries == {}  # answered; a second answer would be QUERY_GONE
    assert QUERY_GONE.startswith("Bad Request: query is too old")
    assert pagerduty_api.calls == [] and len(clicks.versions()) == 1


async def test_no_buttons_without_the_webhook_secret(
    tmp_path, fake_telegram, pagerduty_api, make_bot
):
    config = with_pagerduty(telegram_config(tmp_path, fake_telegram), pagerduty_api.url, "4242")
    config["telegram"]["webhook_secret"] = ""  # clicks could not reach the bot
    bot = await make_bot(config)
    await incident(bot, "triggered")
    [message] = await fake_telegram.wait_until(lambda: fake_telegram.roots() or None)
    assert callbacks_of(message.versions[0]) == {}
    assert message.versions[0]["reply_markup"]["inline_keyboard"]  # the links stay


async def test_set_webhook_asks_for_clicks_where_buttons_are_drawn(tmp_path, fake_telegram):
    settings = Settings(**telegram_config(tmp_path, fake_telegram))
    async with aiohttp.ClientSession() as session:
        said = await set_webhook(settings, session, "https://bot.example.com/telegram/updates")
    assert fake_telegram.webhook["allowed_updates"] == ["message", "callback_query"]
    assert said.endswith("(and clicks on the bot's buttons)")


async def test_the_start_up_check_says_when_the_webhook_takes_no_clicks(
    tmp_path, fake_telegram, make_bot
):
    url = "https://bot.example.com/telegram/updates"
    # Set before the first Telegram target, for /notify alone.
    fake_telegram.webhook = {
        "url": url,
        "secret_token": TELEGRAM_SECRET,
        "allowed_updates": ["message"],
    }
    said = await findings(await make_bot(telegram_config(tmp_path, fake_telegram)))
    assert (
        "problem: Telegram sends this bot no button clicks: its webhook takes only message "
        f"updates; run python -m bot telegram set-webhook {url} again"
    ) in said

    fake_telegram.webhook["allowed_updates"] = ["message", "callback_query"]
    config = telegram_config(tmp_path, fake_telegram)
    config["store"]["url"] = f"sqlite:///{tmp_path / 'again.db'}"
    said = await findings(await make_bot(config))
    assert not any("button clicks" in line for line in said)
    assert "ok: posting to Telegram as @chatops_bot" in said

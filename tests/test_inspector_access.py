"""The inspector's door and /metrics: token guesses throttled, sessions that end, Secure
only from a trusted proxy, and a bearer token for the metrics when set."""

from __future__ import annotations

from tests.conftest import base_config

TOKEN = "inspector-token-Wq71-long-enough"
TWELVE_HOURS = 12 * 3600


async def test_token_guesses_from_one_address_are_throttled(tmp_path, make_bot):
    """Before the fix every wrong guess got a 401, as fast as they came."""
    bot = await make_bot(base_config(tmp_path, inspector={"token": TOKEN}))

    guesses = [await bot.get(f"/inspect?token=guess-{n}") for n in range(5)]
    assert [r.status for r in guesses] == [401] * 5
    refused = await bot.get("/inspect?token=guess-6")
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    bearer = await bot.get("/inspect", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status == 429  # even the right token waits: the address is guessing

    other = await bot.get(
        "/inspect", headers={"Authorization": "Bearer wrong", "X-Forwarded-For": "203.0.113.9"}
    )
    assert other.status == 429  # X-Forwarded-For from an untrusted peer changes nothing


async def test_a_trusted_proxy_keeps_each_clients_guesses_apart(tmp_path, make_bot):
    config = base_config(
        tmp_path, inspector={"token": TOKEN}, server={"trusted_proxies": ["127.0.0.1/32"]}
    )
    bot = await make_bot(config)
    guesser = {"X-Forwarded-For": "203.0.113.9"}
    for n in range(6):
        await bot.get(f"/inspect?token=guess-{n}", headers=guesser)
    assert (await bot.get("/inspect?token=x", headers=guesser)).status == 429
    me = {"X-Forwarded-For": "198.51.100.7", "Authorization": f"Bearer {TOKEN}"}
    assert (await bot.get("/inspect", headers=me)).status == 200


async def test_the_session_cookie_expires_after_twelve_hours(tmp_path, make_bot, clock):
    """Before the fix the cookie had no expiry and worked forever."""
    bot = await make_bot(base_config(tmp_path, inspector={"token": TOKEN}), clock)

    login = await bot.get(f"/inspect?token={TOKEN}", allow_redirects=False)
    assert int(login.cookies["bot_inspector"]["max-age"]) == TWELVE_HOURS
    assert (await bot.get("/inspect")).status == 200  # the client keeps the cookie

    await clock.advance(TWELVE_HOURS - 60)
    assert (await bot.get("/inspect")).status == 200
    await clock.advance(120)
    assert (await bot.get("/inspect")).status == 401


async def test_the_session_length_is_a_setting(tmp_path, make_bot, clock):
    config = base_config(tmp_path, inspector={"token": TOKEN, "session": "1h"})
    bot = await make_bot(config, clock)
    login = await bot.get(f"/inspect?token={TOKEN}", allow_redirects=False)
    assert int(login.cookies["bot_inspector"]["max-age"]) == 3600
    await clock.advance(3601)
    assert (await bot.get("/inspect")).status == 401


async def test_secure_follows_forwarded_proto_only_from_a_trusted_proxy(tmp_path, make_bot):
    """Before the fix anyone's X-Forwarded-Proto: https made the cookie Secure."""
    https = {"X-Forwarded-Proto": "https"}
    stranger = await make_bot(base_config(tmp_path, inspector={"token": TOKEN}))
    login = await stranger.get(f"/inspect?token={TOKEN}", headers=https, allow_redirects=False)
    assert not login.cookies["bot_inspector"]["secure"]

    config = base_config(
        tmp_path, inspector={"token": TOKEN}, server={"trusted_proxies": ["127.0.0.0/8"]}
    )
    proxied = await make_bot(config)
    login = await proxied.get(f"/inspect?token={TOKEN}", headers=https, allow_redirects=False)
    assert login.cookies["bot_inspector"]["secure"]


async def test_metrics_can_require_a_bearer_token(tmp_path, make_bot):
    """Before the fix /metrics answered anyone (there was no metrics_token)."""
    bot = await make_bot(base_config(tmp_path, server={"metrics_token": TOKEN}))
    assert (await bot.get("/metrics")).status == 401
    wrong = await bot.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401 and "metrics_token" in await wrong.text()
    right = await bot.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status == 200 and "bot_requests_total" in await right.text()

    open_bot = await make_bot(base_config(tmp_path))
    assert (await open_bot.get("/metrics")).status == 200  # unset: open, as before

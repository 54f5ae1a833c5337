"""URL-confirmation handshakes: echo the sender's value, store nothing."""

from __future__ import annotations

import pytest

from bot.config.settings import ConfigError, load_config
from bot.intake.web import STORE
from tests.conftest import base_config, dumps

TOKEN = {"Authorization": "Bearer hub-token"}


def with_challenge(tmp_path, challenge: str, **extra):
    config = base_config(tmp_path)
    config["sources"]["hub"] = {
        "provider": "generic",
        "token": "hub-token",
        "challenge": challenge,
        **extra,
    }
    return config


async def test_query_challenge_is_echoed_as_plain_text(tmp_path, make_bot):
    bot = await make_bot(with_challenge(tmp_path, "query:hub.challenge"))

    response = await bot.get(
        "/hooks/hub", params={"hub.mode": "subscribe", "hub.challenge": "8f2c<b>x"}
    )

    assert response.status == 200
    assert await response.text() == "8f2c<b>x"
    assert response.content_type == "text/plain"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert await bot.app[STORE].counts() == {}


async def test_get_without_a_configured_challenge_is_not_allowed(tmp_path, make_bot):
    bot = await make_bot(with_challenge(tmp_path, "query:hub.challenge"))
    assert (await bot.get("/hooks/github", params={"hub.challenge": "x"})).status == 405  # none
    assert (await bot.get("/hooks/hub")).status == 405
    assert (await bot.get("/hooks/nowhere", params={"hub.challenge": "x"})).status == 404


async def test_body_challenge_is_answered_only_when_the_request_verifies(tmp_path, make_bot):
    bot = await make_bot(with_challenge(tmp_path, "body:challenge"))
    body = dumps({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY"})

    signed = await bot.post("/hooks/hub", data=body, headers=TOKEN)
    forged = await bot.post("/hooks/hub", data=body, headers={"Authorization": "Bearer guess"})

    assert signed.status == 200
    assert await signed.text() == "3eZbrw1aBm2rZgRNFdxV2595E9CY"
    assert forged.status == 401
    assert await bot.app[STORE].counts() == {}


async def test_events_without_the_challenge_field_are_stored_as_usual(tmp_path, make_bot):
    bot = await make_bot(with_challenge(tmp_path, "body:challenge"))
    body = dumps({"type": "deploy.finished", "challenge_level": "hard"})
    response = await bot.post("/hooks/hub", data=body, headers=TOKEN)
    assert (await response.json())["status"] == "accepted"


async def test_allowlist_applies_to_the_handshake_too(tmp_path, make_bot):
    bot = await make_bot(with_challenge(tmp_path, "query:challenge", allow_ips=["192.30.252.0/22"]))
    assert (await bot.get("/hooks/hub", params={"challenge": "x"})).status == 403


@pytest.mark.parametrize("spec", ["challenge", "header:x-challenge", "body:", "query"])
def test_challenge_setting_names_where_the_value_is(tmp_path, spec):
    path = tmp_path / "bot.toml"
    path.write_text(f'[sources.hub]\nprovider = "generic"\ntoken = "t"\nchallenge = "{spec}"\n')
    with pytest.raises(ConfigError, match="must be 'body:<field>' or 'query:<parameter>'"):
        load_config(path)


def test_challenge_is_for_generic_sources(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text('[sources.gh]\nprovider = "github"\nsecret = "s"\nchallenge = "body:zen"\n')
    with pytest.raises(ConfigError, match="challenge applies only to generic sources, not github"):
        load_config(path)

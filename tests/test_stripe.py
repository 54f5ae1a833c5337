"""Stripe: t=/v1= signatures with rotation and a two-sided window, amounts in their currency."""

from __future__ import annotations

import json
import time

import pytest

from bot.config.settings import source_config
from bot.core.errors import VerificationError
from bot.intake.web import METRICS, STORE
from bot.providers import stripe
from bot.providers.base import WebhookRequest
from tests.conftest import base_config, dumps, eventually, fixture_bytes
from tests.senders import STRIPE_SECRET
from tests.senders import stripe as stripe_headers

SOURCE = source_config(provider="stripe", secret=STRIPE_SECRET)
VECTOR_BODY = b'{"id":"evt_test","object":"event"}'
VECTOR_T = 1700000000
VECTOR_V1 = "8042376f6ca064adbe037642a718227dfd59047137eb49497a54c49eb0cfb724"


def signed(header: str | None, body: bytes = VECTOR_BODY) -> WebhookRequest:
    return WebhookRequest({} if header is None else {"stripe-signature": header}, body)


def test_protocol_test_vector_verifies():
    stripe.verify(SOURCE, signed(f"t={VECTOR_T},v1={VECTOR_V1}"), VECTOR_T)


def test_any_v1_may_match_and_v0_is_ignored():
    header = f"t={VECTOR_T},v1={'0' * 64},v1={VECTOR_V1},v0={'f' * 64}"
    stripe.verify(SOURCE, signed(header), VECTOR_T)


def test_our_side_rotates_with_a_list_of_secrets():
    rotating = source_config(provider="stripe", secret=["whsec_new", STRIPE_SECRET])
    stripe.verify(rotating, signed(f"t={VECTOR_T},v1={VECTOR_V1}"), VECTOR_T)


@pytest.mark.parametrize(
    ("now", "tolerance", "accepted"),
    [
        (VECTOR_T + 299, 300, True),
        (VECTOR_T + 301, 300, False),  # stale: a replay
        (VECTOR_T - 301, 300, False),  # from the future: as suspicious
        (VECTOR_T - 299, 300, True),
        (VECTOR_T + 500, 600, True),  # tolerance = "10m"
    ],
)
def test_timestamp_must_be_within_tolerance_either_way(now, tolerance, accepted):
    source = source_config(provider="stripe", secret=STRIPE_SECRET, tolerance=tolerance)
    request = signed(f"t={VECTOR_T},v1={VECTOR_V1}")
    if accepted:
        stripe.verify(source, request, now)
    else:
        with pytest.raises(VerificationError, match="timestamp outside tolerance"):
            stripe.verify(source, request, now)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing Stripe-Signature"),
        (f"t={VECTOR_T}", "no v1= signature"),
        (f"v1={VECTOR_V1}", "no t= timestamp"),
        (f"t=yesterday,v1={VECTOR_V1}", "does not match"),
        (f"t={VECTOR_T},v1={'0' * 64}", "does not match"),
        (f"t={VECTOR_T + 1},v1={VECTOR_V1}", "does not match"),  # t is signed too
    ],
)
def test_bad_headers_are_refused(header, reason):
    with pytest.raises(VerificationError, match=reason):
        stripe.verify(SOURCE, signed(header), VECTOR_T)


def test_the_key_is_the_whole_whsec_string_not_its_base64():
    decoded = source_config(provider="stripe", secret="test_secret")
    with pytest.raises(VerificationError):
        stripe.verify(decoded, signed(f"t={VECTOR_T},v1={VECTOR_V1}"), VECTOR_T)


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (1099, "usd", "10.99 USD"),
        (5000, "jpy", "5,000 JPY"),
        (123456, "KRW", "123,456 KRW"),
        (1234, "kwd", "1.234 KWD"),
        (123456789, "eur", "1,234,567.89 EUR"),
        (-500, "gbp", "-5.00 GBP"),
        ("1099", "usd", ""),
        (1099, None, ""),
    ],
)
def test_amounts_are_shown_in_the_currency_major_unit(minor, currency, shown):
    assert stripe.format_amount(minor, currency) == shown


def normalize(name: str, edit=None):
    payload = json.loads(fixture_bytes(f"stripe/{name}.json"))
    if edit:
        edit(payload)
    return stripe.normalize("stripe", SOURCE, WebhookRequest({}, dumps(payload)), payload)


@pytest.mark.parametrize(
    ("fixture", "title", "severity", "status", "url"),
    [
        (
            "charge__succeeded",
            "Payment of 1.00 USD succeeded",
            "info",
            "resolved",
            "https://dashboard.stripe.com/test/payments/ch_1MoS30LgUG5tbmjcjfsQqpHI",
        ),
        ("charge__failed", "Payment of 22.00 USD failed", "error", "open", None),
        ("charge__refunded", "Payment of 1.00 USD refunded", "info", None, None),
        (
            "charge__dispute_created",
            "Dispute opened on a payment of 22.00 USD",
            "error",
            "open",
            "https://dashboard.stripe.com/test/disputes/du_1TbG46JEe0yY0QKr8P0G3pa3",
        ),
        ("payment_intent__succeeded", "Payment of 10.99 USD succeeded", "info", "resolved", None),
        ("payment_intent__payment_failed", "Payment of 10.99 USD failed", "error", "open", None),
        ("invoice__paid", "Invoice paid: 20.00 AUD", "info", "resolved", None),
        (
            "invoice__payment_failed",
            "Invoice payment failed: 0.00 AUD",
            "error",
            "open",
            None,
        ),
        (
            "customer__subscription_created",
            "Subscription created: 20.00 AUD / month",
            "info",
            "open",
            "https://dashboard.stripe.com/test/subscriptions/sub_00000000000000",
        ),
        (
            "customer__subscription_updated",
            "Subscription updated: 800.00 USD / year",
            "info",
            "open",
            "https://dashboard.stripe.com/subscriptions/sub_E6STM5w5EX3K28",
        ),
        (
            "customer__subscription_deleted",
            "Subscription canceled: 20.00 AUD / month",
            "info",
            "resolved",
            None,
        ),
        (
            "checkout__session_completed",
            "Checkout completed: 10.99 USD",
            "info",
            None,
            "https://dashboard.stripe.com/test/payments/pi_1MoS6fLgUG5tbmjca6AdBPsl",
        ),
        ("payout__paid", "Payout of 11.00 USD paid", "info", "resolved", None),
        (
            "payout__failed",
            "Payout of 11.00 USD failed",
            "error",
            "open",
            "https://dashboard.stripe.com/test/payouts/po_00000000000000",
        ),
    ],
)
def test_supported_events(fixture, title, severity, status, url):
    [event] = normalize(fixture)
    payload = json.loads(fixture_bytes(f"stripe/{fixture}.json"))
    assert event.event == payload["type"]
    assert event.title == title
    assert event.severity == severity  # failures and disputes are errors
    assert event.status == status
    assert event.labels["mode"] == ("live" if payload["livemode"] else "test")
    assert event.url.startswith(
        "https://dashboard.stripe.com/" + ("" if payload["livemode"] else "test/")
    )
    if url:
        assert event.url == url
    assert event.occurred_at.timestamp() == payload["created"]


def test_zero_decimal_currency_in_a_message():
    def yen(payload):
        payload["data"]["object"].update(amount=5000, currency="jpy")

    [event] = normalize("charge__succeeded", yen)
    assert event.title == "Payment of 5,000 JPY succeeded"
    assert event.labels["currency"] == "JPY"


def test_failure_reason_and_customer_are_shown():
    [failed] = normalize("charge__failed")
    assert failed.text == "Your card was declined."
    [paid] = normalize("charge__succeeded")
    assert paid.labels["customer_name"] == "Jenny Rosen"
    [checkout] = normalize("checkout__session_completed")
    assert checkout.labels["customer_email"] == "example@example.com"
    [updated] = normalize("customer__subscription_updated")
    assert updated.text == "Status: active → trialing"


def test_a_payment_that_fails_then_succeeds_is_one_conversation():
    [failed] = normalize("payment_intent__payment_failed")
    [succeeded] = normalize("payment_intent__succeeded")
    assert failed.thread_key == succeeded.thread_key == "stripe:pi_1MoS6fLgUG5tbmjca6AdBPsl"
    [invoice_failed] = normalize("invoice__payment_failed")
    [invoice_paid] = normalize("invoice__paid")
    assert invoice_failed.thread_key == invoice_paid.thread_key
    [charge_failed] = normalize("charge__failed")
    assert charge_failed.thread_key == "stripe:pi_3TbGfyJEe0yY0QKr0V9PBbP9"


def unknown_object(payload):
    # A real Stripe type of an object the bot knows nothing of (the body is a refund's).
    payload["type"] = "balance.available"


def test_types_of_objects_the_bot_does_not_know_are_ignored():
    assert normalize("charge__refund_updated", unknown_object) == []


def config(tmp_path, slack_url=None):
    settings = base_config(tmp_path, slack_url)
    settings["sources"]["stripe"] = {"provider": "stripe", "secret": STRIPE_SECRET}
    return settings


async def test_a_retried_event_is_a_duplicate_even_with_a_new_signature(
    tmp_path, fake_slack, make_bot
):
    bot = await make_bot(config(tmp_path, fake_slack.url))
    body = fixture_bytes("stripe/charge__failed.json")
    now = int(time.time())

    first = await bot.post("/hooks/stripe", data=body, headers=stripe_headers(body, now))
    retry = await bot.post("/hooks/stripe", data=body, headers=stripe_headers(body, now + 60))

    first_id = (await first.json())["id"]
    assert await retry.json() == {"status": "duplicate", "id": first_id}
    [post] = await fake_slack.wait_for(1)
    assert post.body["text"] == "❌ Payment failed · 22.00 USD"
    blocks = json.dumps(post.body["attachments"])
    assert "https://dashboard.stripe.com/test/payments/ch_3TbGfyJEe0yY0QKr0Nh9uVjd" in blocks
    assert "test mode" in blocks


@pytest.mark.parametrize("offset", [-3600, 3600])
async def test_stale_or_future_signatures_are_401_and_counted(tmp_path, make_bot, offset):
    bot = await make_bot(config(tmp_path))
    body = fixture_bytes("stripe/charge__failed.json")
    headers = stripe_headers(body, int(time.time()) + offset)

    response = await bot.post("/hooks/stripe", data=body, headers=headers)

    assert response.status == 401
    assert "timestamp outside tolerance" in (await response.json())["error"]
    assert await bot.app[STORE].counts() == {}
    assert b'reason="stale_timestamp",source="stripe"} 1.0' in bot.app[METRICS].render()


async def test_unknown_type_is_accepted_and_recorded_as_ignored(tmp_path, make_bot):
    bot = await make_bot(config(tmp_path))
    payload = json.loads(fixture_bytes("stripe/charge__refund_updated.json"))
    unknown_object(payload)
    body = dumps(payload)
    response = await bot.post(
        "/hooks/stripe", data=body, headers=stripe_headers(body, int(time.time()))
    )
    assert response.status == 200

    async def ignored():
        return (await bot.app[STORE].counts()).get("inbox_ignored") == 1

    assert await eventually(ignored)


def test_sign_makes_headers_that_verify_accepts():
    headers = {k.lower(): v for k, v in stripe.sign(SOURCE, VECTOR_BODY, VECTOR_T).items()}
    assert headers["stripe-signature"] == f"t={VECTOR_T},v1={VECTOR_V1}"
    stripe.verify(SOURCE, WebhookRequest(headers, VECTOR_BODY), VECTOR_T)

"""Stripe webhooks: ``Stripe-Signature`` (``t=...,v1=...``), ``type`` dispatch.

The signature covers ``"{t}.{body}"`` under the whole ``whsec_...`` string; any of the
``v1`` values may match (Stripe sends one per secret while a secret is being rolled),
and ``t`` must be within ``tolerance`` of now in either direction: the SDK only rejects
stale timestamps, but a timestamp from the future is as suspicious as one from the past.
Amounts arrive in the currency's minor unit and are shown in its major unit. A type of
an object the bot knows without a handler of its own still gets a message in words;
the noisy ones (``customer.updated``, ``invoice.created``...) sit in
``IGNORED_BY_DEFAULT`` with the reason, posted only by a route that names them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar, Literal

from bot.config.source import SourceBase
from bot.core.errors import VerificationError
from bot.core.events import Event
from bot.providers.base import Provider, WebhookRequest, content_digest, dig, moment
from bot.providers.signing import check_timestamp, hmac_sha256_hex, matches_any


class StripeSource(SourceBase):
    """``[sources.<name>]`` with ``provider = "stripe"``: Stripe signs every event with
    the endpoint's ``whsec_`` secret, and can do nothing else."""

    credentials: ClassVar[frozenset[str]] = frozenset({"secret"})
    signature_default: ClassVar[str | None] = "Stripe-Signature"
    provider: Literal["stripe"]


Handler = Callable[["_StripeEvent"], dict[str, Any]]
"""A Stripe event -> Event fields."""

# Currencies whose amounts Stripe gives in whole units, and those with three decimals
# (Stripe's "Supported currencies" page); every other currency has two.
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())  # noqa: SIM905
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())  # noqa: SIM905

DASHBOARD = "https://dashboard.stripe.com"


def verify(source: StripeSource, request: WebhookRequest, now: float) -> None:
    if not source.secrets:
        return  # allow_unsigned (config validation guarantees that)
    header = request.header("stripe-signature")
    if not header:
        raise VerificationError(
            "missing Stripe-Signature (copy the endpoint's signing secret, whsec_..., into "
            "this source's secret)",
            code="missing_signature",
        )
    timestamp, signatures = _parse_signature(header)
    if not timestamp or not signatures:
        raise VerificationError(
            "Stripe-Signature has no t= timestamp or no v1= signature", code="malformed_signature"
        )
    signed = timestamp.encode() + b"." + request.body
    if not matches_any(signatures, source.secrets, lambda secret: hmac_sha256_hex(secret, signed)):
        raise VerificationError(
            "Stripe-Signature does not match the configured secret", code="bad_signature"
        )
    check_timestamp(timestamp, now, source.tolerance)


def _parse_signature(header: str) -> tuple[str, list[str]]:
    """``t=1700000000,v1=abc,v1=def,v0=...`` -> ("1700000000", ["abc", "def"])."""
    timestamp, signatures = "", []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    return timestamp, signatures


def sign(source: StripeSource, body: bytes, now: float) -> dict[str, str]:
    if not source.secrets:
        return {}
    timestamp = str(int(now))
    signature = hmac_sha256_hex(source.secrets[0], timestamp.encode() + b"." + body)
    return {"Stripe-Signature": f"t={timestamp},v1={signature}"}


def delivery_id(request: WebhookRequest, payload: Any) -> str:
    """The event id (``evt_...``): Stripe retries with the same one."""
    event_id = payload.get("id") if isinstance(payload, dict) else None
    return event_id if isinstance(event_id, str) and event_id else content_digest(request.body)


def normalize(
    source_name: str, source: StripeSource, request: WebhookRequest, payload: Any
) -> list[Event]:
    if not isinstance(payload, dict) or not isinstance(dig(payload, "data.object"), dict):
        return []
    kind = str(payload.get("type"))
    handler = handler_for(kind)
    if handler is None:
        return []
    stripe_event = _StripeEvent(payload)
    fields = handler(stripe_event)
    labels = {**stripe_event.labels(), **fields.pop("labels", {})}
    return [
        Event(
            source=source_name,
            provider="stripe",
            event=kind,
            severity="error" if kind in _FAILURES else "info",
            labels={k: v for k, v in labels.items() if v},
            occurred_at=moment(payload.get("created")),
            payload=payload,
            **fields,
        )
    ]


def format_amount(minor: Any, currency: Any) -> str:
    """``format_amount(1099, "usd")`` -> ``"10.99 USD"``; JPY has no minor unit."""
    if not isinstance(minor, int) or isinstance(minor, bool) or not isinstance(currency, str):
        return ""
    code = currency.lower()
    digits = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    return f"{Decimal(minor).scaleb(-digits):,.{digits}f} {code.upper()}"


class _StripeEvent:
    """The envelope and its object, with the lookups every handler needs."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.object: dict[str, Any] = payload["data"]["object"]
        self.live = payload.get("livemode") is True

    def get(self, path: str) -> str:
        value = dig(self.object, path)
        return value if isinstance(value, str) else ""

    def id(self) -> str:
        return self.get("id")

    def amount(self, field: str = "amount") -> str:
        return format_amount(self.object.get(field), self.object.get("currency"))

    def dashboard(self, section: str, object_id: str = "") -> str:
        """``https://dashboard.stripe.com[/test]/<section>/<id>``."""
        base = DASHBOARD if self.live else f"{DASHBOARD}/test"
        if not object_id:
            return f"{base}/events/{self.payload.get('id')}"
        return f"{base}/{section}/{object_id}"

    def customer_id(self) -> str:
        customer = self.object.get("customer")
        if isinstance(customer, dict):  # expanded
            customer = customer.get("id")
        return customer if isinstance(customer, str) else ""

    def labels(self) -> dict[str, str]:
        if self.object.get("object") == "customer":  # the customer itself
            return {
                "mode": "live" if self.live else "test",
                "currency": self.get("currency").upper(),
                "customer": self.id(),
                "customer_email": self.get("email"),
                "customer_name": self.get("name"),
            }
        email = (
            self.get("billing_details.email")
            or self.get("customer_email")
            or self.get("receipt_email")
            or self.get("customer_details.email")
        )
        name = (
            self.get("billing_details.name")
            or self.get("customer_name")
            or self.get("customer_details.name")
        )
        currency = self.get("currency")
        return {
            "mode": "live" if self.live else "test",
            "currency": currency.upper(),
            "customer": self.customer_id(),
            "customer_email": email,
            "customer_name": name,
        }

    def payment_key(self) -> str:
        """One conversation per payment: its PaymentIntent, or the charge without one."""
        return f"stripe:{self.get('payment_intent') or self.id()}"


def _charge(verb: str, status: str | None) -> Handler:
    def handler(event: _StripeEvent) -> dict[str, Any]:
        field = "amount_refunded" if verb == "refunded" else "amount"
        reason = event.get("failure_message") or event.get("outcome.seller_message")
        return {
            "title": f"Payment of {event.amount(field)} {verb}",
            "text": reason if verb == "failed" else event.get("description"),
            "url": event.dashboard("payments", event.id()),
            "status": status,
            "thread_key": event.payment_key(),
            "labels": {"amount": event.amount(field)},
        }

    return handler


def _dispute(event: _StripeEvent) -> dict[str, Any]:
    due = dig(event.object, "evidence_details.due_by")
    when = f"; evidence due {moment(due):%Y-%m-%d}" if isinstance(due, int) else ""
    reason = event.get("reason").replace("_", " ")
    return {
        "title": f"Dispute opened on a payment of {event.amount()}",
        "text": f"Reason: {reason or 'not given'}{when}",
        "url": event.dashboard("disputes", event.id()),
        "status": "open",
        "thread_key": event.payment_key(),
        "labels": {"amount": event.amount(), "reason": event.get("reason")},
    }


def _dispute_closed(event: _StripeEvent) -> dict[str, Any]:
    """How a dispute ended: ``status`` is won, lost, or warning_closed (an inquiry)."""
    outcome = event.get("status").replace("_", " ") or "closed"
    return {
        "title": f"Dispute {outcome} on a payment of {event.amount()}",
        "text": f"Reason: {event.get('reason').replace('_', ' ') or 'not given'}",
        "url": event.dashboard("disputes", event.id()),
        "status": "resolved",
        "thread_key": event.payment_key(),
        "labels": {"amount": event.amount(), "reason": event.get("reason")},
    }


def _refund(verb: str) -> Handler:
    """A refund (``refund.*``, Stripe's own events for them since 2023): it belongs to its
    payment's conversation."""

    def handler(event: _StripeEvent) -> dict[str, Any]:
        reason = event.get("failure_reason") if verb == "failed" else event.get("reason")
        return {
            "title": f"Refund of {event.amount()} {verb}",
            "text": reason.replace("_", " "),
            "url": event.dashboard("payments", event.get("payment_intent") or event.get("charge")),
            "thread_key": f"stripe:{event.get('payment_intent') or event.get('charge')}",
            "labels": {"amount": event.amount()},
        }

    return handler


def _customer(verb: str) -> Handler:
    def handler(event: _StripeEvent) -> dict[str, Any]:
        who = event.get("name") or event.get("email") or event.id()
        return {
            "title": f"Customer {verb}: {who}",
            "text": event.get("description"),
            "url": event.dashboard("customers", event.id()),
        }

    return handler


def _other(kind: str) -> Handler:
    """A type of a known object without a handler of its own (one Stripe added, or one
    seldom asked for): its name in words and its amount, rather than nothing."""

    def handler(event: _StripeEvent) -> dict[str, Any]:
        amount = event.amount() or event.amount("amount_due")
        return {
            "title": kind.replace("invoiceitem", "invoice item")
            .replace(".", " ")
            .replace("_", " ")
            .capitalize()
            + (f": {amount}" if amount else ""),
            "url": event.dashboard("events"),
            "labels": {"amount": amount},
        }

    return handler


def _payment_intent(verb: str, status: str) -> Handler:
    def handler(event: _StripeEvent) -> dict[str, Any]:
        field = "amount_received" if verb == "succeeded" else "amount"
        return {
            "title": f"Payment of {event.amount(field)} {verb}",
            "text": event.get("last_payment_error.message") if verb == "failed" else "",
            "url": event.dashboard("payments", event.id()),
            "status": status,
            "thread_key": f"stripe:{event.id()}",
            "labels": {"amount": event.amount(field)},
        }

    return handler


def _invoice(verb: str, status: str | None) -> Handler:
    def handler(event: _StripeEvent) -> dict[str, Any]:
        field = "amount_paid" if verb == "paid" else "amount_due"
        number = event.get("number")  # its id is no name: the title links to it instead
        text = ""
        if verb == "payment failed":
            attempts = event.object.get("attempt_count")
            retry = event.object.get("next_payment_attempt")
            text = f"Attempt {attempts}" if isinstance(attempts, int) else ""
            if isinstance(retry, int):
                text += f"; next attempt {moment(retry):%Y-%m-%d %H:%M} UTC"
        return {
            "title": " ".join(filter(None, ["Invoice", number, f"{verb}: {event.amount(field)}"])),
            "text": text.lstrip("; "),
            "url": event.dashboard("invoices", event.id()),
            "status": status,
            "thread_key": f"stripe:{event.id()}",
            "labels": {"amount": event.amount(field)},
        }

    return handler


def _subscription(verb: str, status: str | None) -> Handler:
    def handler(event: _StripeEvent) -> dict[str, Any]:
        price = _subscription_price(event.object)
        changes = event.payload["data"].get("previous_attributes")
        text = ""
        trial_end = event.object.get("trial_end")
        if verb == "updated" and isinstance(changes, dict) and "status" in changes:
            text = f"Status: {changes['status']} → {event.get('status')}"
        elif verb == "updated" and isinstance(changes, dict):
            text = "Changed: " + ", ".join(sorted(str(key) for key in changes))
        elif verb == "trial ending" and isinstance(trial_end, int):
            text = f"Trial ends {moment(trial_end):%Y-%m-%d %H:%M} UTC"
        return {
            "title": f"Subscription {verb}: {price or event.id()}",
            "text": text,
            "url": event.dashboard("subscriptions", event.id()),
            "status": status,
            "thread_key": f"stripe:{event.id()}",
            "labels": {"amount": price, "subscription_status": event.get("status")},
        }

    return handler


def _subscription_price(subscription: dict[str, Any]) -> str:
    """``"20.00 AUD / month"`` (× quantity) from the plan or the first item's price."""
    plan = subscription.get("plan")
    if not isinstance(plan, dict):
        plan = dig(subscription, "items.data.0.price") or {}
    if not isinstance(plan, dict):
        return ""
    unit = plan.get("amount", plan.get("unit_amount"))
    quantity = subscription.get("quantity")
    if isinstance(unit, int) and isinstance(quantity, int) and quantity > 1:
        unit *= quantity
    amount = format_amount(unit, plan.get("currency"))
    interval = plan.get("interval") or dig(plan, "recurring.interval")
    return f"{amount} / {interval}" if amount and isinstance(interval, str) else amount


def _checkout_completed(event: _StripeEvent) -> dict[str, Any]:
    intent, subscription = event.get("payment_intent"), event.get("subscription")
    url = (
        event.dashboard("payments", intent)
        if intent
        else event.dashboard("subscriptions", subscription)
    )
    return {
        "title": f"Checkout completed: {event.amount('amount_total')}",
        "text": f"Mode: {event.get('mode')}, payment {event.get('payment_status')}",
        "url": url,
        "labels": {"amount": event.amount("amount_total")},
    }


def _payout(verb: str, status: str) -> Handler:
    def handler(event: _StripeEvent) -> dict[str, Any]:
        arrival = event.object.get("arrival_date")
        text = event.get("failure_message") or event.get("failure_code")
        if verb == "paid" and isinstance(arrival, int):
            text = f"Arrives {moment(arrival):%Y-%m-%d}"
        return {
            "title": f"Payout of {event.amount()} {verb}",
            "text": text,
            "url": event.dashboard("payouts", event.id()),
            "status": status,
            "thread_key": f"stripe:{event.id()}",
            "labels": {"amount": event.amount()},
        }

    return handler


HANDLERS: dict[str, Handler] = {
    "charge.succeeded": _charge("succeeded", "resolved"),
    "charge.failed": _charge("failed", "open"),
    "charge.refunded": _charge("refunded", None),
    "charge.dispute.created": _dispute,
    "charge.dispute.closed": _dispute_closed,
    "payment_intent.succeeded": _payment_intent("succeeded", "resolved"),
    "payment_intent.payment_failed": _payment_intent("failed", "open"),
    "refund.created": _refund("created"),
    "refund.failed": _refund("failed"),
    "refund.updated": _refund("updated"),
    "charge.refund.updated": _refund("updated"),
    "invoice.paid": _invoice("paid", "resolved"),
    "invoice.payment_failed": _invoice("payment failed", "open"),
    "customer.created": _customer("created"),
    "customer.updated": _customer("updated"),
    "customer.deleted": _customer("deleted"),
    "customer.subscription.created": _subscription("created", "open"),
    "customer.subscription.updated": _subscription("updated", "open"),
    "customer.subscription.deleted": _subscription("canceled", "resolved"),
    "customer.subscription.trial_will_end": _subscription("trial ending", None),
    "checkout.session.completed": _checkout_completed,
    "payout.paid": _payout("paid", "resolved"),
    "payout.failed": _payout("failed", "open"),
}
_FAILURES = frozenset(
    {
        "charge.failed",
        "charge.dispute.created",
        "payment_intent.payment_failed",
        "refund.failed",
        "invoice.payment_failed",
        "payout.failed",
    }
)

_FAMILIES: dict[str, Callable[[str], Handler]] = {
    "invoice": lambda verb: _invoice(verb, None),
    "customer.subscription": lambda verb: _subscription(verb, None),
}
"""Objects whose other types read like their handled ones (``invoice.finalized`` is an
invoice message, a reply in that invoice's conversation)."""

_OBJECTS = frozenset(kind.rpartition(".")[0] for kind in HANDLERS) | {"invoiceitem"}
"""The objects the bot knows: a type of one of them (or of a part of one, such as
``customer.discount``) always gets a message, in words when it has no handler."""


def handler_for(kind: str) -> Handler | None:
    """The handler of a Stripe ``type``; ``None`` for objects the bot does not know
    (``account.updated``, ``balance.available``...), which are recorded as ignored: pick
    the events you want in the Stripe endpoint's settings."""
    if kind in HANDLERS:
        return HANDLERS[kind]
    thing, _, verb = kind.rpartition(".")
    if thing in _FAMILIES:
        return _FAMILIES[thing](verb.replace("_", " "))
    if any(thing == known or thing.startswith(f"{known}.") for known in _OBJECTS):
        return _other(kind)
    return None


_OUTCOME_FOLLOWS = (
    "every payment goes through it; payment_intent.succeeded or "
    "payment_intent.payment_failed says how it ended"
)

IGNORED_BY_DEFAULT: dict[str, str] = {
    "customer.updated": "sent for any change of a customer (balance, default card, "
    "metadata), many of them made by the payments the bot reports",
    "invoice.created": "a draft: Stripe finalizes and charges it about an hour later, and "
    "invoice.paid or invoice.payment_failed says how that went",
    "invoice.updated": "sent for any change of an invoice, drafts included; invoice.paid "
    "and invoice.payment_failed say what matters",
    "invoice.payment_succeeded": "sent with invoice.paid, which is posted",
    "invoiceitem.*": "the lines of an invoice to come; the invoice's own events give the total",
    "refund.updated": "a refund's status moving on; refund.failed says when one failed",
    "charge.refund.updated": "the older name of refund.updated, sent alongside it",
    "payment_intent.created": _OUTCOME_FOLLOWS,
    "payment_intent.processing": _OUTCOME_FOLLOWS,
    "payment_intent.requires_action": _OUTCOME_FOLLOWS,
    "charge.pending": "charge.succeeded or charge.failed says how it ended",
    "charge.updated": "a charge's description or metadata edited",
    "payout.created": "payout.paid or payout.failed says how it ended",
    "payout.updated": "payout.paid or payout.failed says how it ended",
}
"""Stripe types made and rendered but posted only by a route that names them (see
``Provider.ignored_by_default``)."""


PROVIDER = Provider(
    name="stripe",
    config=StripeSource,
    verify=verify,
    delivery_id=delivery_id,
    normalize=normalize,
    kept_headers=("content-type",),
    supported_events=tuple(HANDLERS),
    sign=sign,
    ignored_by_default=IGNORED_BY_DEFAULT,
)

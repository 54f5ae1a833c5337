"""The intake's quick JSON check refuses exactly the bodies the full parse refuses.

For GitHub and generic sources the intake only checks a body's syntax (the normalizer
parses it later). If the check let through a body the parse refuses, the sender would get
a 202 for a request that can never be normalized; if it refused one the parse reads, a
good webhook would get a 400. Bodies are real fixtures, cut, spliced and corrupted.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.errors import PayloadError
from bot.providers.base import WebhookRequest
from tests.conftest import examples

BODIES = [path.read_bytes() for path in sorted(examples("github").glob("*.json"))[:6]]
ODD_BYTES = [b"\xff", b"\xc3", b"\x00", b'"', b"\\", b",", b"}", b"]", b"NaN", b"\xe2\x82\xac"]


def refused(request: WebhookRequest, check: str) -> bool:
    try:
        getattr(request, check)()
    except PayloadError:
        return True
    return False


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    body = draw(st.sampled_from(BODIES))
    at = draw(st.integers(0, len(body)))
    kind = draw(st.sampled_from(["cut", "insert", "replace"]))
    if kind == "cut":
        return body[:at]
    odd = draw(st.sampled_from(ODD_BYTES))
    end = at + (len(odd) if kind == "replace" else 0)
    return body[:at] + odd + body[end:]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(damaged())
def test_damaged_bodies_get_the_same_verdict(body: bytes) -> None:
    request = WebhookRequest({"content-type": "application/json"}, body)
    assert refused(request, "check_json") == refused(request, "json")


@pytest.mark.parametrize(
    "body",
    [
        '{"zen": "caf\u00e9"}'.encode("utf-16"),  # what the standard library reads
        b'\xef\xbb\xbf{"zen": "bom"}',
        b'{"n": NaN}',
        b'[{"a": 1}]',
        b'{"lone": "\\ud800"}',
        b'{"a": "\xff"}',
        b'{"a": 1} {"b": 2}',
        b'{"a":' * 3000 + b"1" + b"}" * 3000,  # deeper than either parser goes
        b"",
    ],
)
def test_edge_bodies_get_the_same_verdict(body: bytes) -> None:
    request = WebhookRequest({"content-type": "application/json"}, body)
    assert refused(request, "check_json") == refused(request, "json")


def test_a_form_body_is_checked_inside_its_payload_field() -> None:
    good = WebhookRequest(
        {"content-type": "application/x-www-form-urlencoded"}, b"payload=%7B%22a%22%3A1%7D"
    )
    bad = WebhookRequest(
        {"content-type": "application/x-www-form-urlencoded"}, b"payload=%7B%22a%22%3A"
    )
    assert not refused(good, "check_json")
    assert refused(bad, "check_json")

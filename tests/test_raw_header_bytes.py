"""Any byte in any header or body, on every endpoint, gets a 4xx or a 2xx, never a 500.

The requests are written by hand on a plain socket, so header bytes that are not UTF-8
(``X-Hub-Signature-256: sha256=\\xff\\xfe``) reach the server exactly as sent; a real
``serve`` answers them: every provider's source, Slack's and Discord's endpoints and the
inspector with a bearer token or a cookie.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.processes import BotProcess, free_port, write_config

pytestmark = pytest.mark.slow

EXAMPLES = settings(
    max_examples=2000 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

SOURCES = """
[sources.stripe]
provider = "stripe"
secret = "whsec_raw_bytes_test_secret"
[sources.pagerduty]
provider = "pagerduty"
secret = "pd_raw_bytes_test_secret"
[sources.alertmanager]
provider = "alertmanager"
token = "am-raw-bytes-test-token"
[sources.grafana]
provider = "grafana"
secret = "gf_raw_bytes_test_secret"
timestamp_header = "X-Grafana-Alerting-Timestamp"
[sources.datadog]
provider = "datadog"
token = "dd-raw-bytes-test-token"
token_header = "X-Bot-Token"
[sources.generic]
provider = "generic"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
[discord]
public_key = "{public_key}"
[inspector]
token = "raw-bytes-test-inspector-token"
"""
PUBLIC_KEY = "e" * 64

PATHS = [
    "/hooks/github",
    "/hooks/stripe",
    "/hooks/pagerduty",
    "/hooks/alertmanager",
    "/hooks/grafana",
    "/hooks/datadog",
    "/hooks/generic",
    "/slack/commands",
    "/slack/events",
    "/discord/interactions",
    "/inspect",
    "/inspect/requests",
]
# Every header some endpoint reads, with the start a genuine value has.
CREDENTIALS = {
    "X-Hub-Signature-256": b"sha256=",
    "X-GitHub-Delivery": b"",
    "X-GitHub-Event": b"",
    "Authorization": b"Bearer ",
    "Stripe-Signature": b"t=1700000000,v1=",
    "X-PagerDuty-Signature": b"v1=",
    "X-Webhook-Id": b"",
    "X-Grafana-Alerting-Signature": b"",
    "X-Grafana-Alerting-Timestamp": b"",
    "X-Bot-Token": b"",
    "webhook-id": b"msg_",
    "webhook-timestamp": b"",
    "webhook-signature": b"v1,",
    "X-Slack-Signature": b"v0=",
    "X-Slack-Request-Timestamp": b"",
    "X-Signature-Ed25519": b"",
    "X-Signature-Timestamp": b"",
    "Cookie": b"bot_inspector=",
    "Content-Type": b"application/json; charset=",
    "X-Forwarded-Proto": b"",
    "Sec-Fetch-Site": b"",
}


@pytest.fixture(scope="session")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp_path: Path = tmp_path_factory.mktemp("raw-bytes")
    extra = SOURCES.replace("{public_key}", PUBLIC_KEY)
    config = write_config(tmp_path, free_port(), extra)
    signing = '[slack]\nsigning_secret = "raw-bytes-test-signing-secret"\n'
    config.write_text(config.read_text().replace("[slack]\n", signing, 1))
    process = BotProcess(config, tmp_path / "bot.log")
    asyncio.run(process.start())
    try:
        yield process.port
    finally:
        process.terminate()


def exchange(
    port: int, method: bytes, path: bytes, headers: list[tuple[bytes, bytes]], body: bytes
):
    """One HTTP/1.1 request written byte for byte; the status code of the answer."""
    head = b"%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" % (method, path)
    head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    head += b"Content-Length: %d\r\n\r\n" % len(body)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0]
    return int(status_line.split(b" ")[1])


# Bytes allowed in a header value by the HTTP parser (no CR, LF or NUL), UTF-8 or not.
header_bytes = st.lists(st.integers(0x20, 0xFF).filter(lambda b: b != 0x7F), max_size=40).map(bytes)
header = st.one_of(
    st.sampled_from(sorted(CREDENTIALS)).flatmap(
        lambda name: header_bytes.map(lambda v: (name.encode(), CREDENTIALS[name] + v))
    ),
    st.tuples(st.from_regex(rb"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True), header_bytes),
)


@EXAMPLES
@given(
    path=st.sampled_from(PATHS),
    method=st.sampled_from([b"POST", b"GET"]),
    headers=st.lists(header, max_size=6),
    body=st.binary(max_size=256),
)
@example(
    path="/hooks/github",
    method=b"POST",
    headers=[(b"X-Hub-Signature-256", b"sha256=\xff\xfe")],
    body=b"{}",
)
@example(
    path="/hooks/alertmanager",
    method=b"POST",
    headers=[(b"Authorization", b"Bearer \xff\xfe")],
    body=b"{}",
)
@example(
    path="/hooks/stripe",
    method=b"POST",
    headers=[(b"Stripe-Signature", b"t=1,v1=\xff\xfe")],
    body=b"{}",
)
@example(
    path="/hooks/grafana",
    method=b"POST",
    headers=[
        (b"X-Grafana-Alerting-Signature", b"ab"),
        (b"X-Grafana-Alerting-Timestamp", b"\xff\xfe"),
    ],
    body=b"{}",
)
@example(
    path="/hooks/generic",
    method=b"POST",
    headers=[
        (b"webhook-id", b"\xff\xfe"),
        (b"webhook-timestamp", b"1"),
        (b"webhook-signature", b"v1,x"),
    ],
    body=b"{}",
)
@example(path="/inspect", method=b"GET", headers=[(b"Authorization", b"Bearer \xff\xfe")], body=b"")
@example(path="/inspect", method=b"GET", headers=[(b"Cookie", b"bot_inspector=\xff\xfe")], body=b"")
@example(
    path="/slack/commands",
    method=b"POST",
    headers=[(b"X-Slack-Signature", b"v0=\xff\xfe"), (b"X-Slack-Request-Timestamp", b"1")],
    body=b"a=b",
)
@example(
    path="/discord/interactions",
    method=b"POST",
    headers=[(b"X-Signature-Ed25519", b"\xff\xfe"), (b"X-Signature-Timestamp", b"\xff")],
    body=b"{}",
)
def test_no_header_or_body_byte_yields_a_server_error(port, path, method, headers, body):
    status = exchange(port, method, path.encode(), headers, body)
    assert status < 500, (path, headers, status)

"""Ingress: allowlists, trusted proxies, per-source rate limits and slow-body clients."""

from __future__ import annotations

import asyncio
import json
import time
from ipaddress import ip_address, ip_network

import pytest
from aiohttp.test_utils import TestServer

from bot.app import build_app
from bot.config.settings import Settings
from bot.intake.ingress import IngressPolicy, client_address
from bot.intake.web import STORE
from tests.conftest import GITHUB_SECRET, base_config, fixture_bytes, github_headers

GITHUB_HOOKS = ["192.30.252.0/22", "2a0a:a440::/29"]
PUSH = fixture_bytes("github/push.json")


def signed(delivery: str) -> dict[str, str]:
    return github_headers(PUSH, "push", delivery)


# -- whose address is it? -------------------------------------------------------------

LOOPBACK_PROXY = [ip_network("127.0.0.1/32"), ip_network("::1/128")]
CLUSTER = [ip_network("10.0.0.0/8")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "trust_all", "expected"),
    [
        # A stranger cannot claim an address: the header is ignored without trust.
        ("203.0.113.9", ["192.30.252.1"], [], False, "203.0.113.9"),
        ("203.0.113.9", ["192.30.252.1"], CLUSTER, False, "203.0.113.9"),
        # A trusted proxy's word is taken, and only as far as trusted hops go.
        ("10.0.0.7", ["192.30.252.1"], CLUSTER, False, "192.30.252.1"),
        ("10.0.0.7", ["6.6.6.6, 192.30.252.1, 10.0.0.2"], CLUSTER, False, "192.30.252.1"),
        ("10.0.0.7", ["6.6.6.6", "192.30.252.1"], CLUSTER, False, "192.30.252.1"),
        ("10.0.0.7", ["10.0.0.3"], CLUSTER, False, "10.0.0.3"),
        ("10.0.0.7", [], CLUSTER, False, "10.0.0.7"),
        # Heroku-style: the platform's router always appends the real client last.
        ("172.16.4.4", ["6.6.6.6, 192.30.252.1"], [], True, "192.30.252.1"),
        # Forms proxies write: ports, brackets, IPv4-mapped IPv6, plain IPv6.
        ("10.0.0.7", ["192.30.252.1:61234"], CLUSTER, False, "192.30.252.1"),
        ("10.0.0.7", ["[2a0a:a440::1]:443"], CLUSTER, False, "2a0a:a440::1"),
        ("::ffff:192.30.252.1", [], [], False, "192.30.252.1"),
        ("::1", ["2a0a:a440::5"], LOOPBACK_PROXY, False, "2a0a:a440::5"),
        # An unreadable hop ends the chain: nothing left of it can be trusted.
        ("10.0.0.7", ["192.30.252.1, garbage"], CLUSTER, False, None),
        (None, [], [], False, None),
    ],
)
def test_client_address(peer, forwarded, trusted, trust_all, expected):
    found = client_address(peer, forwarded, trusted, trust_all)
    assert found == (ip_address(expected) if expected else None)


# -- allowlists -----------------------------------------------------------------------


async def test_request_from_outside_allow_ips_is_403_and_counted(tmp_path, make_bot):
    config = base_config(tmp_path)
    config["sources"]["github"]["allow_ips"] = GITHUB_HOOKS
    bot = await make_bot(config)

    plain = await bot.post("/hooks/github", data=PUSH, headers=signed("a"))
    # The peer (127.0.0.1) is no proxy of ours, so its X-Forwarded-For is a lie we ignore.
    spoofed = await bot.post(
        "/hooks/github", data=PUSH, headers={**signed("b"), "X-Forwarded-For": "192.30.252.1"}
    )

    assert [plain.status, spoofed.status] == [403, 403]
    assert (await plain.json())["error"] == "client address not in allow_ips"
    store = bot.app[STORE]
    assert await store.counts() == {}
    [rejection] = await store.rejections()
    assert rejection["count"] == 2 and rejection["reason"] == "client address not in allow_ips"
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_requests_rejected_total{reason="not_allowed",source="github"} 2.0' in metrics


async def test_trusted_proxy_forwards_the_client_address(tmp_path, make_bot):
    config = base_config(tmp_path, server={"trusted_proxies": ["127.0.0.0/8"]})
    config["sources"]["github"]["allow_ips"] = GITHUB_HOOKS
    bot = await make_bot(config)

    from_github = await bot.post(
        "/hooks/github",
        data=PUSH,
        headers={**signed("c"), "X-Forwarded-For": "6.6.6.6, 192.30.254.17"},
    )
    from_elsewhere = await bot.post(
        "/hooks/github",
        data=PUSH,
        headers={**signed("d"), "X-Forwarded-For": "192.30.252.1, 6.6.6.6"},
    )
    no_header = await bot.post("/hooks/github", data=PUSH, headers=signed("e"))

    assert [from_github.status, from_elsewhere.status, no_header.status] == [200, 403, 403]


async def test_ipv6_peer_against_an_ipv6_allowlist(tmp_path, aiohttp_client):
    config = base_config(tmp_path, server={"trusted_proxies": ["::1/128"]})
    config["sources"]["github"]["allow_ips"] = GITHUB_HOOKS
    config["sources"]["local"] = {
        "provider": "github",
        "secret": GITHUB_SECRET,
        "allow_ips": ["::1/128"],
    }
    bot = await aiohttp_client(TestServer(build_app(Settings(**config)), host="::1"))

    direct = await bot.post("/hooks/local", data=PUSH, headers=signed("f"))
    direct_to_github_source = await bot.post("/hooks/github", data=PUSH, headers=signed("g"))
    via_proxy = await bot.post(
        "/hooks/github", data=PUSH, headers={**signed("h"), "X-Forwarded-For": "2a0a:a440::1"}
    )

    assert [direct.status, direct_to_github_source.status, via_proxy.status] == [200, 403, 200]


async def test_allow_ips_must_be_networks(tmp_path):
    from bot.config.settings import ConfigError, load_config

    path = tmp_path / "bot.toml"
    path.write_text(
        '[sources.github]\nprovider = "github"\nsecret = "s"\nallow_ips = ["192.30.252.0/33"]\n'
    )
    with pytest.raises(ConfigError, match=r"sources\.github\.allow_ips\.0"):
        load_config(path)


# -- rate limits ----------------------------------------------------------------------


def test_token_bucket_burst_is_one_seconds_worth_then_refills():
    """Verified requests spend a source's budget (``verified``), unread ones never do."""
    settings = Settings(
        sources={
            "flood": {"provider": "github", "secret": "s", "rate_limit": "5/s"},
            "slow": {"provider": "github", "secret": "s", "rate_limit": "60/m", "rate_burst": 3},
        }
    )
    policy = IngressPolicy(settings)
    t = time.monotonic() + 60  # buckets start full, measured on the monotonic clock

    assert [policy.verified("flood", t) for _ in range(5)] == [None] * 5
    refused = policy.verified("flood", t)
    assert refused is not None and refused.status == 429 and refused.retry_after == 1
    assert refused.first and not policy.verified("flood", t).first
    assert policy.verified("flood", t + 0.201) is None  # 5/s: a token every 0.2 s

    assert [policy.verified("slow", t) for _ in range(3)] == [None] * 3
    assert policy.verified("slow", t).retry_after == 1
    assert policy.verified("slow", t + 1.05) is None


async def test_flood_on_one_source_gets_429_and_other_sources_keep_working(tmp_path, make_bot):
    config = base_config(tmp_path)
    config["sources"]["flood"] = {
        "provider": "github",
        "secret": GITHUB_SECRET,
        "rate_limit": "5/s",
    }
    bot = await make_bot(config)

    async def post(source: str, delivery: str):
        # Bodies differ: an identical body is a duplicate whatever its delivery id.
        body = json.dumps({**json.loads(PUSH), "delivery": delivery}).encode()
        headers = github_headers(body, "push", delivery)
        response = await bot.post(f"/hooks/{source}", data=body, headers=headers)
        return response.status, response.headers.get("Retry-After")

    flood = [asyncio.create_task(post("flood", f"flood-{n}")) for n in range(150)]
    others = [await post("github", f"calm-{n}") for n in range(10)]
    flooded = await asyncio.gather(*flood)

    assert others == [(200, None)] * 10
    statuses = [status for status, _ in flooded]
    accepted = statuses.count(200)
    assert 5 <= accepted < 150 and set(statuses) == {200, 429}
    assert all(int(after) >= 1 for status, after in flooded if status == 429)
    counts = await bot.app[STORE].counts()
    stored = sum(n for state, n in counts.items() if state.startswith("inbox_"))
    assert stored == accepted + 10  # a 429 stores nothing
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_requests_total{outcome="rate_limited",source="flood"}' in metrics


# -- slow bodies ----------------------------------------------------------------------


async def test_slow_body_client_is_cut_off_after_read_timeout(tmp_path, make_bot):
    bot = await make_bot(base_config(tmp_path, server={"read_timeout": "0.5s"}))
    reader, writer = await asyncio.open_connection(bot.server.host, bot.server.port)
    headers = {**signed("slow"), "Host": "bot", "Content-Length": str(len(PUSH))}
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(f"POST /hooks/github HTTP/1.1\r\n{head}\r\n".encode())
    loop = asyncio.get_running_loop()
    started = loop.time()
    received = b""
    closed = False
    try:
        for byte in PUSH:  # a byte every 50 ms: the whole body would take minutes
            if loop.time() - started > 10:
                break
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                chunk = await asyncio.wait_for(reader.read(4096), 0.05)
            except TimeoutError:
                continue
            received += chunk
            closed = not chunk
            if closed:
                break
    except ConnectionError:
        closed = True  # the server hung up while we were still sending: the point
    elapsed = loop.time() - started
    writer.close()

    assert closed and elapsed < 10, (closed, elapsed)  # near the 0.5 s read_timeout
    assert received == b"" or received.startswith(b"HTTP/1.1 408")
    assert await bot.app[STORE].counts() == {}
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_requests_total{outcome="too_slow",source="github"} 1.0' in metrics

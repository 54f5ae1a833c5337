"""Who may send, and how fast: the checks the intake runs before it reads a body.

Both checks are cheap and run before the body is read, so a flood or a stranger costs
the bot almost nothing. The client address comes from ``X-Forwarded-For`` only when the
direct peer is a proxy the operator trusts; otherwise anyone could claim any address.
"""

from __future__ import annotations

import functools
import math
import ssl
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from bot.config.settings import ServerConfig, Settings, SourceConfig
from bot.core.pacing import TokenBucket

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

NOT_ALLOWED = "client address not in allow_ips"
"""The rejection reason; the address itself goes to the log, not into a metric label."""


@dataclass(frozen=True)
class Refusal:
    """Why a request is turned away before its body is read."""

    status: int
    reason: str
    code: str
    """The reason as a short stable word, for the metric label (``not_allowed``)."""
    retry_after: int = 0
    first: bool = False
    """The first refusal since the source was last let in (worth one log line)."""


@functools.lru_cache(maxsize=4096)
def parse_address(text: str) -> Address | None:
    """An address as proxies write it: bare, ``[v6]``, with a port, or IPv4-mapped IPv6.

    Cached: the same few peers (a proxy, a sender's pool) send every request, and
    parsing an address costs more than the rest of admission.
    """
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]  # IPv4 with a port (Azure's proxies add one)
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
    return address


def client_address(
    peer: str | None,
    forwarded_for: Iterable[str],
    trusted_proxies: Sequence[Network],
    trust_forwarded: bool = False,
) -> Address | None:
    """The sender's address: the peer, or the right-most hop no trusted proxy added.

    Each proxy appends the address it received from, so reading ``X-Forwarded-For`` from
    the right and skipping trusted proxies stops at the first address nobody we trust
    vouches for; everything left of it may be forged. ``None`` when unreadable.
    """
    address = parse_address(peer) if peer else None
    if address is None or not (trust_forwarded or _within(address, trusted_proxies)):
        return address
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None or not _within(address, trusted_proxies):
            return address
    return address


def _within(address: Address, networks: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


class IngressPolicy:
    """Per-source allowlists and token buckets, built once from the config.

    A source's ``rate_limit`` is spent only by requests that passed verification, so
    strangers cannot use it up and have the genuine sender's deliveries refused. What
    protects the verifier is a bucket per client address, spent by failed verifications
    (``client_rate_limit``): a forger is refused unread, everyone else is untouched.
    Each source has its own buckets, so a flood on one never takes capacity from another.
    """

    def __init__(self, settings: Settings) -> None:
        self._server = settings.server
        self._limited: set[str] = set()
        self._buckets = {
            name: _bucket(source.rate_limit, source.rate_burst)
            for name, source in settings.sources.items()
            if source.rate_limit is not None
        }
        self._client_rates = {
            name: (rate, source.rate_burst)
            for name, source in settings.sources.items()
            if (rate := source.client_rate_limit or source.rate_limit) is not None
        }
        self._clients: OrderedDict[tuple[str, Address | None], TokenBucket] = OrderedDict()

    def guards(self, name: str, source: SourceConfig) -> bool:
        """Whether ``name`` has an allowlist or a rate limit (most sources have neither)."""
        return bool(source.allow_ips) or name in self._client_rates

    def client(self, peer: str | None, forwarded_for: Iterable[str]) -> Address | None:
        return client_address(
            peer, forwarded_for, self._server.trusted_proxies, self._server.trust_forwarded
        )

    def from_proxy(self, peer: str | None) -> bool:
        """Whether the direct peer is a proxy whose forwarded headers are believed."""
        address = parse_address(peer) if peer else None
        if address is None:
            return False
        return self._server.trust_forwarded or _within(address, self._server.trusted_proxies)

    def admit(
        self, name: str, source: SourceConfig, client: Address | None, now: float
    ) -> Refusal | None:
        """``None`` when the request may be read; ``now`` is monotonic seconds.

        Nothing is spent here: a full source bucket or a client that failed too often
        is refused unread, and ``verified``/``failed`` spend once the outcome is known.
        """
        if source.allow_ips and (client is None or not _within(client, source.allow_ips)):
            return Refusal(403, NOT_ALLOWED, "not_allowed")
        failing = self._client_bucket(name, client)
        if failing is not None and (wait := failing.delay(now)) > 0:
            reason = f"too many failed verifications from this address on source {name!r}"
            return Refusal(429, reason, "rate_limited", math.ceil(wait))
        return self._over_limit(name, now)

    def verified(self, name: str, now: float) -> Refusal | None:
        """Spend the source's budget on a verified request; a refusal once it is spent."""
        if (refused := self._over_limit(name, now)) is not None:
            return refused
        bucket = self._buckets.get(name)
        if bucket is not None:
            bucket.take(now)
        return None

    def failed(self, name: str, client: Address | None, now: float) -> None:
        """A request from ``client`` failed verification: it costs that address alone."""
        bucket = self._client_bucket(name, client)
        if bucket is not None:
            bucket.take(now)

    def _over_limit(self, name: str, now: float) -> Refusal | None:
        bucket = self._buckets.get(name)
        if bucket is None:
            return None
        wait = bucket.delay(now)
        if wait > 0:
            first = name not in self._limited
            self._limited.add(name)
            return Refusal(
                429, f"over rate_limit of source {name!r}", "rate_limited", math.ceil(wait), first
            )
        self._limited.discard(name)
        return None

    def _client_bucket(self, name: str, client: Address | None) -> TokenBucket | None:
        """This address's bucket on ``name``; the least recently seen are forgotten past
        ``CLIENTS_KEPT``, so a spray of addresses cannot grow memory without bound."""
        rate = self._client_rates.get(name)
        if rate is None:
            return None
        key = (name, client)
        bucket = self._clients.get(key)
        if bucket is None:
            bucket = self._clients[key] = _bucket(*rate)
            if len(self._clients) > CLIENTS_KEPT:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(key)
        return bucket


CLIENTS_KEPT = 10_000
"""Client addresses whose failed verifications are remembered, per process."""


def _bucket(rate: float, burst: int | None) -> TokenBucket:
    """A full bucket; the burst defaults to one second's worth (at least one request)."""
    size = float(burst or max(1, math.ceil(rate)))
    return TokenBucket(rate, size, size)


def tls_context(server: ServerConfig) -> ssl.SSLContext | None:
    """The server's TLS context when ``tls_cert``/``tls_key`` are set (no proxy in front)."""
    if not server.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(server.tls_cert, server.tls_key)
    return context

"""Signature and credential checks shared by the providers.

Signatures are checked on the raw bytes, in constant time, against every configured
secret (a list allows rotation without downtime).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable

from bot.config.source import SourceBase
from bot.core.errors import VerificationError
from bot.providers.base import WebhookRequest

SignFn = Callable[[str], str]
"""``sign(secret)`` -> the signature expected under that secret."""


def hmac_sha256(key: str | bytes, message: bytes) -> bytes:
    raw_key = key.encode() if isinstance(key, str) else key
    return hmac.digest(raw_key, message, "sha256")  # one OpenSSL call, no HMAC object


def hmac_sha256_hex(key: str | bytes, message: bytes) -> str:
    return hmac_sha256(key, message).hex()


def matches_any(candidates: list[str], secrets: list[str], sign: SignFn) -> bool:
    """True when any presented signature equals the signature under any secret."""
    for secret in secrets:
        expected = sign(secret)
        for candidate in candidates:
            if hmac.compare_digest(expected.encode(), candidate.strip().encode()):
                return True
    return False


def check_signature_header(
    source: SourceBase,
    request: WebhookRequest,
    now: float,
    *,
    header: str,
    timestamp_header: str | None = None,
    prefix: str = "",
    encoding: str = "hex",
) -> None:
    """One HMAC-SHA256 in one header, of the body or of ``"{timestamp}:{body}"``.

    Grafana's scheme (``http/hmac.go``), and the custom scheme of ``generic`` sources
    (where the header name, a prefix such as ``sha256=`` and hex or base64 are chosen).
    """
    presented = (request.header(header) or "").strip()
    if not presented:
        raise VerificationError(
            f"missing {header} header (set the same secret on both sides)",
            code="missing_signature",
        )
    timestamp = request.header(timestamp_header) if timestamp_header else None
    if timestamp_header and not timestamp:
        raise VerificationError(f"missing {timestamp_header} header", code="missing_timestamp")
    if not presented.startswith(prefix):
        raise VerificationError(
            f"{header} does not start with {prefix!r}", code="malformed_signature"
        )
    presented = presented[len(prefix) :]
    if encoding == "hex":
        presented = presented.lower()
    signed = signed_content(request.body, timestamp)
    if not matches_any(
        [presented], source.secrets, lambda secret: encode_signature(secret, signed, encoding)
    ):
        raise VerificationError(
            f"{header} does not match the configured secret", code="bad_signature"
        )
    if timestamp is not None:
        check_timestamp(timestamp, now, source.tolerance)


def signed_content(body: bytes, timestamp: str | None) -> bytes:
    return body if timestamp is None else timestamp.encode() + b":" + body


def encode_signature(secret: str, signed: bytes, encoding: str) -> str:
    digest = hmac_sha256(secret, signed)
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()


def check_credentials(source: SourceBase, request: WebhookRequest) -> None:
    """Bearer/static token or HTTP Basic, for senders that cannot sign."""
    if source.tokens:
        presented = request.header(source.token_header) or ""
        if source.token_header.lower() == "authorization":
            scheme, _, value = presented.partition(" ")
            presented = value if scheme.lower() == "bearer" else presented
        if not presented:
            raise VerificationError(f"missing {source.token_header} header", code="missing_token")
        if any(hmac.compare_digest(presented.encode(), t.encode()) for t in source.tokens):
            return
        if source.username is None:
            raise VerificationError(f"{source.token_header} token does not match", code="bad_token")
    if source.username is not None and source.password is not None:
        scheme, _, encoded = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            raise VerificationError("missing basic auth", code="missing_basic_auth")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise VerificationError("malformed basic auth", code="malformed_basic_auth") from None
        user_ok = hmac.compare_digest(user.encode(), source.username.encode())
        password_ok = hmac.compare_digest(password.encode(), source.password.encode())
        if not (user_ok and password_ok):
            raise VerificationError("basic auth does not match", code="bad_basic_auth")


def credential_headers(source: SourceBase) -> dict[str, str]:
    """What ``check_credentials`` accepts from this source: its first token, else basic auth."""
    if source.tokens:
        token = source.tokens[0]
        if source.token_header.lower() == "authorization":
            token = f"Bearer {token}"
        return {source.token_header: token}
    if source.username is not None and source.password is not None:
        pair = f"{source.username}:{source.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    return {}


def check_timestamp(timestamp: str | None, now: float, tolerance: float) -> int:
    """Parse a Unix timestamp header and reject it outside ``now ± tolerance``."""
    if not timestamp:
        raise VerificationError("missing timestamp", code="missing_timestamp")
    try:
        value = int(timestamp)
    except ValueError:
        raise VerificationError("malformed timestamp", code="malformed_timestamp") from None
    if abs(now - value) > tolerance:
        raise VerificationError(
            "timestamp outside tolerance (replayed or clock skew)", code="stale_timestamp"
        )
    return value

"""``[sources.<name>]`` with ``provider = "generic"``: what the sender signs, and how its
body is read, are both config."""

from __future__ import annotations

import base64
import binascii
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from bot.config.source import SignatureHeaderSource
from bot.core.expressions import ExpressionError, compile_field


class FieldsConfig(BaseModel):
    """How a `generic` source reads its body: each value a dotted path or a Jinja template.

    Unset fields fall back to the body's own ``title``/``summary``/``message``... keys.
    """

    model_config = ConfigDict(extra="forbid")

    event: str | None = None
    title: str | None = None
    text: str | None = None
    severity: str | None = None
    status: str | None = None
    url: str | None = None
    actor: str | None = None
    thread_key: str | None = None
    occurred_at: str | None = None
    labels: dict[str, str] = {}

    @model_validator(mode="after")
    def _compiles(self) -> FieldsConfig:
        for name, source in self.expressions().items():
            try:
                compile_field(source)
            except ExpressionError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return self

    def expressions(self) -> dict[str, str]:
        """Every configured expression by name (labels as ``labels.<key>``)."""
        named = {
            name: value
            for name, value in self.model_dump(exclude={"labels"}).items()
            if value is not None
        }
        return named | {f"labels.{key}": value for key, value in self.labels.items()}


class GenericSource(SignatureHeaderSource):
    """Standard Webhooks with a ``whsec_`` secret, a custom HMAC header, a token or basic
    auth; a challenge some senders require before they deliver."""

    signature_default: ClassVar[str | None] = "webhook-signature"
    """Standard Webhooks' header, unless ``signature_header`` names another."""
    provider: Literal["generic"]
    challenge: str | None = None
    signature_prefix: str = ""
    """What precedes the signature in its header (``sha256=``)."""
    signature_encoding: Literal["hex", "base64"] = "hex"
    fields: FieldsConfig | None = None
    """How to read the body (``[sources.<name>.fields]``)."""

    @property
    def challenge_at(self) -> str | None:
        return self.challenge

    @field_validator("challenge")
    @classmethod
    def _challenge_shape(cls, value: str | None) -> str | None:
        where, _, name = (value or "").partition(":")
        if value is not None and (where not in ("body", "query") or not name):
            raise ValueError(
                f"challenge {value!r} must be 'body:<field>' or 'query:<parameter>' "
                "(e.g. 'body:challenge', 'query:hub.challenge')"
            )
        return value

    @model_validator(mode="after")
    def _signature_settings(self) -> GenericSource:
        header_options = {"timestamp_header", "signature_prefix", "signature_encoding"}
        if self.signature_header is None and header_options & self.model_fields_set:
            raise ValueError(
                "timestamp_header, signature_prefix and signature_encoding describe a "
                "custom HMAC header: set signature_header too"
            )
        if self.signature_header is None:
            for secret in self.secrets:
                if not _is_base64(secret.removeprefix("whsec_")):
                    raise ValueError(
                        "a Standard Webhooks secret is whsec_ followed by base64 (as the "
                        "sender shows it); for another HMAC scheme set signature_header"
                    )
        return self


def _is_base64(text: str) -> bool:
    try:
        return bool(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        return False

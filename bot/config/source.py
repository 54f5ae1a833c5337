"""What every webhook source is configured with, whatever its provider.

Each provider declares its own model next to its code: a subclass of ``SourceBase``
naming its ``provider`` tag, the credential kinds it can check and any keys of its own.
``Settings.sources`` is the union of the registered models, told apart by ``provider``,
so a key one provider does not read is an unknown key there. This module names no
provider: it is what both the providers and the rest of the config build on.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    field_validator,
    model_validator,
)

from bot.core.durations import parse_duration, parse_rate


def _seconds(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


Duration = Annotated[float, BeforeValidator(_seconds)]
"""Seconds, written in config as ``"5m"``, ``"24h"`` or a plain number."""


def _per_second(value: Any) -> Any:
    return parse_rate(value) if isinstance(value, str) else value


Rate = Annotated[float, BeforeValidator(_per_second), Field(gt=0)]
"""Requests per second, written in config as ``"50/s"`` or ``"600/m"``."""

WEAK_SECRET_BYTES = 16
"""Secrets shorter than this get a start-up warning: guessable, and no sender issues one."""


def blank_credential(value: str | None) -> bool:
    """An empty or whitespace credential: it would key an HMAC with "" (anyone can sign) or
    compare equal to an empty header, so it is refused wherever a credential is read."""
    return value is not None and not value.strip()


BLANK = "is empty or whitespace: give the credential, or remove the key"


def _filled(value: str | list[str] | None) -> str | list[str] | None:
    for index, item in enumerate(as_list(value)):
        if blank_credential(item):
            where = f"[{index}] " if isinstance(value, list) else ""
            raise ValueError(f"{where}{BLANK}".lstrip())
    return value


def api_credential(value: str) -> str:
    """A token or password sent in a header when someone clicks: whitespace around it or a
    control character inside (a secret file's trailing newline) would make every click
    fail with an unreadable header error, so it is refused at start, naming the key."""
    if value and blank_credential(value):
        raise ValueError(BLANK)
    if value != value.strip() or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(
            "has whitespace around it or a control character (a trailing newline from a "
            "secret file?): give the value alone"
        )
    return value


CREDENTIAL_WORDS = {"secret": "secret", "token": "token", "basic": "username/password"}
"""Credential kinds as config calls them: ``secret`` signs the body (HMAC); ``token`` and
``basic`` are presented credentials."""


class SourceBase(BaseModel):
    """One webhook endpoint, ``POST /hooks/<name>``: the keys every provider reads."""

    model_config = ConfigDict(extra="forbid")  # a typo such as ``secrett`` fails at start

    credentials: ClassVar[frozenset[str]] = frozenset(CREDENTIAL_WORDS)
    """The kinds this provider's sender can produce. A kind it cannot is a config error,
    so a GitHub source given a token instead of a secret cannot end up unchecked."""

    signature_default: ClassVar[str | None] = None
    """The header this provider's sender signs in (``X-Hub-Signature-256``), if it signs."""

    provider: str
    secret: str | list[str] | None = None
    token: str | list[str] | None = None
    token_header: str = "Authorization"
    username: str | None = None
    password: str | None = None
    allow_unsigned: bool = False
    tolerance: Duration = 300.0
    allow_ips: list[IPvAnyNetwork] = []
    rate_limit: Rate | None = None
    """Verified requests per second; only requests that pass verification are counted."""
    rate_burst: int | None = Field(None, ge=1)
    client_rate_limit: Rate | None = None
    """Failed verifications per second one client address may cost before it is refused
    unread (429); defaults to ``rate_limit`` so a flood of forgeries cannot reach the
    verifier, nor spend the sender's budget."""
    heartbeat: Duration | None = Field(None, gt=0)
    """A dead man's switch: silent this long, the source is reported to ``heartbeat_to``."""
    heartbeat_to: str | None = None
    heartbeat_event: str | None = None
    """Only events of this type (a glob) count as signs of life, and they are not posted:
    an always-firing alert such as Alertmanager's ``Watchdog``."""
    heartbeat_labels: dict[str, str] = {}
    """With ``heartbeat_event``: labels those events must carry (``alertname = "Watchdog"``)."""

    @field_validator("secret", "token", "username", "password")
    @classmethod
    def _credentials_filled(cls, value: str | list[str] | None) -> str | list[str] | None:
        return _filled(value)

    @property
    def secrets(self) -> list[str]:
        """All accepted secrets, newest first (a list allows rotation)."""
        return as_list(self.secret)

    @property
    def tokens(self) -> list[str]:
        return as_list(self.token)

    @property
    def signed_in(self) -> str | None:
        return self.signature_default

    @property
    def presented_in(self) -> list[str]:
        """Headers a genuine request carries at least one of; empty when none is needed.

        A request with none of them cannot pass, so it is refused before its body is read.
        """
        names = [self.signed_in] if self.secrets and self.signed_in else []
        if self.tokens:
            names.append(self.token_header)
        if self.username is not None:
            names.append("Authorization")
        return names

    @property
    def challenge_at(self) -> str | None:
        """Where the intake finds a verification challenge to echo (``body:<field>`` or
        ``query:<parameter>``); None for senders that send none."""
        return None

    @model_validator(mode="after")
    def _heartbeat_keys_go_together(self) -> SourceBase:
        if (self.heartbeat is None) != (self.heartbeat_to is None):
            raise ValueError(
                'heartbeat and heartbeat_to go together (heartbeat = "10m", '
                'heartbeat_to = "<target>": how long a silence may last, and who hears of it)'
            )
        if (self.heartbeat_event or self.heartbeat_labels) and self.heartbeat is None:
            raise ValueError("heartbeat_event and heartbeat_labels need heartbeat and heartbeat_to")
        if self.heartbeat_labels and not self.heartbeat_event:
            raise ValueError('heartbeat_labels needs heartbeat_event (e.g. "alert.firing")')
        return self

    @model_validator(mode="after")
    def _needs_credentials(self) -> SourceBase:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together (HTTP basic auth)")
        given = {
            kind
            for kind, present in (
                ("secret", self.secrets),
                ("token", self.tokens),
                ("basic", self.username is not None),
            )
            if present
        }
        accepted = self.credentials
        if given - accepted:
            wrong = ", ".join(w for k, w in CREDENTIAL_WORDS.items() if k in given - accepted)
            usable = " or ".join(w for k, w in CREDENTIAL_WORDS.items() if k in accepted)
            raise ValueError(f"{self.provider} cannot use {wrong}; give {usable}")
        if not (given or self.allow_unsigned):
            raise ValueError(
                "needs a secret or token (or username/password); "
                "set allow_unsigned = true to accept anyone"
            )
        return self


class SignatureHeaderSource(SourceBase):
    """A source whose sender can put one HMAC of the body in a header of its choosing."""

    signature_header: str | None = None
    """The header carrying the body's HMAC."""
    timestamp_header: str | None = None
    """When set, the HMAC covers ``"{timestamp}:{body}"`` and the timestamp must be fresh."""

    @property
    def signed_in(self) -> str | None:
        return self.signature_header or self.signature_default

    @model_validator(mode="after")
    def _header_needs_secret(self) -> SignatureHeaderSource:
        if self.signature_header is not None and not self.secrets:
            raise ValueError("signature_header needs a secret to check the signature with")
        return self


class ApiKeys(BaseModel):
    """The keys of a source whose API the bot may call when someone clicks a button.

    Tokens are secrets like the webhook's: give them as ``BOT_SOURCES__<NAME>__API_TOKEN``.
    """

    api_url: str = ""
    api_token: str = ""

    _api_credentials = field_validator("api_token")(api_credential)

    @property
    def api_configured(self) -> bool:
        return bool(self.api_url and self.api_token)


def as_list(value: str | list[str] | None) -> list[str]:
    """A key written as one string or a list of them, as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)

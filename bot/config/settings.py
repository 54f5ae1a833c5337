"""Configuration: one TOML file, overridden by ``BOT_*`` environment variables.

Every model forbids unknown keys, so a typo such as ``secrett`` fails at start instead of
silently dropping a secret. ``load_config`` turns any problem into one ``ConfigError``
line that names the key.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    ModelWrapValidatorHandler,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError

from bot.chat.platform import TargetKey
from bot.chat.registry import target_keys
from bot.config.source import (
    BLANK,
    WEAK_SECRET_BYTES,
    Duration,
    SourceBase,
    as_list,
    blank_credential,
)
from bot.core.events import SEVERITIES, check_severity
from bot.core.schedule import Digest, QuietHours, zone
from bot.providers import PROVIDERS
from bot.store import Migrated, Store, migrate, open_store, url_problem

PLACEHOLDER_SECRET = "change-me"

Lifecycle = Literal["update+thread", "update", "thread", "new"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _set_or_empty(value: str) -> str:
    """A chat or inspector credential: "" leaves the feature off; whitespace is a mistake
    that would otherwise turn it on with a key anyone can guess."""
    if value and blank_credential(value):
        raise ValueError(BLANK)
    return value


CREDENTIAL_KEYS = frozenset(
    {"secret", "token", "username", "password", "bot_token", "signing_secret", "app_token"}
    | {"public_key", "metrics_token", "actions_secret"}
)
"""Keys holding a credential, wherever they are: an empty ``BOT_`` variable naming one is
refused rather than silently replacing (or switching off) the file's value."""


class ServerConfig(_Section):
    host: str = "0.0.0.0"
    port: int = 8080
    max_body_bytes: int = 26_214_400
    body_budget_bytes: int = Field(67_108_864, ge=1)
    """Body bytes all requests together may have in flight; past it, 503 before reading."""
    access_log: bool = False
    read_timeout: Duration = Field(10.0, gt=0)
    header_timeout: Duration = Field(10.0, gt=0)
    """How long a new connection has to send its first request's headers."""
    keepalive_timeout: Duration = Field(15.0, gt=0)
    """How long an idle kept-alive connection stays open (a partial request is idle)."""
    max_connections: int = Field(1000, ge=1)
    """Open connections at most; past it a new one is answered 503 and closed."""
    planner: Literal["auto", "inline", "process"] = "auto"
    """Where ``serve`` plans (normalize, route, render): ``process``, in a second process
    on the same store, on another core; ``inline``, on ``serve``'s own event loop, where
    planning gives way to acknowledgements; ``auto``, ``process`` where this process may
    use two cores or more (its affinity, and a cgroup's CPU quota) and ``inline`` with
    less (README "What ``serve`` runs" has the measurements)."""
    public_url: str = ""
    """Where the bot is reached from outside (``https://bot.example.com``): the address
    Mattermost's action buttons call back (``/mattermost/actions``)."""
    trusted_proxies: list[IPvAnyNetwork] = []
    trust_forwarded: bool = False
    tls_cert: str = ""
    tls_key: str = ""
    metrics_token: str = ""
    """When set, ``/metrics`` needs ``Authorization: Bearer <metrics_token>``."""

    _filled = field_validator("metrics_token")(_set_or_empty)

    @model_validator(mode="after")
    def _tls_pair(self) -> ServerConfig:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert and tls_key go together: set both or neither")
        return self


class StoreConfig(_Section):
    url: str = "sqlite:///bot.db"
    retention_days: float = 7
    synchronous: Literal["normal", "full"] = "normal"
    busy_timeout: Duration = Field(5.0, ge=0)
    """How long an SQLite write waits for a lock another process holds (a CLI command,
    a backup) before it fails: a webhook then answers 503, and its sender retries."""
    lease: Duration = Field(30.0, gt=0)
    """How long claimed work stays with an instance that stopped renewing it (crashed)."""

    @field_validator("url")
    @classmethod
    def _known_kind(cls, url: str) -> str:
        if problem := url_problem(url):
            raise ValueError(problem)
        return url

    async def open(self) -> Store:
        """The store ``url`` names, opened (and migrated) with this section's SQLite
        options: every command and ``serve`` open it so, none passing them one by one."""
        return await open_store(
            self.url, synchronous=self.synchronous, busy_timeout=self.busy_timeout
        )

    async def migrate(self) -> Migrated:
        """Bring the store's schema up to date, as ``open`` would; says what that took."""
        return await migrate(self.url, synchronous=self.synchronous, busy_timeout=self.busy_timeout)


class DeliveryConfig(_Section):
    max_attempts: int = Field(12, ge=1)
    max_age: Duration = 86400.0
    notify: str = ""
    concurrency: int = Field(32, ge=1)
    retry_base: Duration = 2.0
    retry_cap: Duration = 600.0


class SlackConfig(_Section):
    bot_token: str = ""
    signing_secret: str = ""
    app_token: str = ""
    api_url: str = "https://slack.com/api/"
    team_ids: list[str] = []
    """Workspaces whose commands are accepted; empty: the bot token's (auth.test)."""

    _filled = field_validator("bot_token", "signing_secret", "app_token")(_set_or_empty)


class DiscordConfig(_Section):
    bot_token: str = ""
    public_key: str = ""
    application_id: str = ""
    api_url: str = "https://discord.com/api/v10"
    guild_ids: list[str] = []
    """Guilds whose commands are accepted; empty: the guilds of the channel targets."""

    _filled = field_validator("bot_token", "public_key")(_set_or_empty)


class MattermostConfig(_Section):
    url: str = ""
    """The server, e.g. ``https://mm.example.com`` (the API is under ``/api/v4``)."""
    bot_token: str = ""
    command_token: str = ""
    """The ``/notify`` slash command's token: verifies /mattermost/commands."""
    team_ids: list[str] = []
    """Teams whose commands are accepted; empty: the teams of the channel targets."""
    actions_secret: str = ""
    """Keys the HMAC each action button's ``integration.context`` carries (Mattermost
    signs no click): with ``[server] public_url``, bot posts carry action buttons."""

    _filled = field_validator("actions_secret")(_set_or_empty)


class TelegramConfig(_Section):
    bot_token: str = ""
    api_url: str = "https://api.telegram.org"
    webhook_secret: str = ""
    """Telegram sends it as ``X-Telegram-Bot-Api-Secret-Token``: verifies /telegram/updates."""


class CommandsConfig(_Section):
    admins: list[str] = []


class ActionsConfig(_Section):
    """Who may press the buttons that change a source (Acknowledge, Silence 1h)."""

    allowed: list[str] = []
    """Chat user ids, or ``admins`` for ``[commands] admins``; empty: anyone in a bound
    workspace."""


class TemplatesConfig(_Section):
    dir: str = ""


class InspectorConfig(_Section):
    token: str = ""
    session: Duration = Field(43_200.0, gt=0)
    """How long the cookie a ``?token=`` visit sets keeps working (12 h)."""

    _filled = field_validator("token")(_set_or_empty)


if TYPE_CHECKING:
    SourceConfig = SourceBase
else:
    SourceConfig = Annotated[
        Union[tuple(provider.config for provider in PROVIDERS.values())],  # noqa: UP007
        Field(discriminator="provider"),
    ]
"""One webhook endpoint: the model of the provider its ``provider`` key names."""

_SOURCE: TypeAdapter[SourceConfig] = TypeAdapter(SourceConfig)


def source_config(**keys: Any) -> SourceConfig:
    """One ``[sources.<name>]`` table read as the config reads it (tests, tools)."""
    return _SOURCE.validate_python(keys)


_ADDRESS = TypeAdapter(dict[str, str | None])


class TargetConfig(_Section):
    """A place messages go: exactly one platform key (``slack``, ``discord``,
    ``discord_webhook``...) names it. The keys are the chat registry's, read when a
    target is checked, so a platform brings its own keys and their checks."""

    max_attempts: int | None = Field(None, ge=1)
    """This target's own retry limit; ``[delivery] max_attempts`` when unset."""
    max_age: Duration | None = None
    """How long this target's deliveries keep trying; ``[delivery] max_age`` when unset."""
    _platform: str = PrivateAttr("")
    _key: str = PrivateAttr("")
    _address: str = PrivateAttr("")

    @model_validator(mode="wrap")
    @classmethod
    def _exactly_one_platform_key(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        if not isinstance(data, dict):
            return handler(data)
        keys = target_keys()
        extras = {extra for _, spec in keys.values() for extra in spec.extras}
        target = handler({k: v for k, v in data.items() if k not in keys and k not in extras})
        addresses = _ADDRESS.validate_python({k: v for k, v in data.items() if k in keys})
        given = [name for name in keys if addresses.get(name)]
        if len(given) != 1:
            raise ValueError(f"needs exactly one of {', '.join(keys)}")
        [key] = given
        platform, spec = keys[key]
        address = addresses[key] or ""
        for extra in sorted(extras & data.keys()):
            if extra not in spec.extras:
                raise ValueError(f"{extra} goes only with {' or '.join(_owners(keys, extra))}")
            address += f"?{extra}={data[extra]}"
        if problem := spec.problem(address):
            raise ValueError(problem)
        target._platform, target._key, target._address = platform.name, key, address
        return target

    @property
    def platform(self) -> str:
        return self._platform

    @property
    def key(self) -> str:
        """Which of its platform's keys names the place (a Discord channel or webhook)."""
        return self._key

    @property
    def address(self) -> str:
        return self._address


def _owners(keys: dict[str, tuple[Any, TargetKey]], extra: str) -> list[str]:
    return [name for name, (_, spec) in keys.items() if extra in spec.extras]


MatchValue = str | list[str]


class RouteConfig(_Section):
    match: dict[str, MatchValue] = {}
    exclude: dict[str, MatchValue] = {}
    to: list[str] = Field(min_length=1)
    continue_: bool = Field(False, alias="continue")
    lifecycle: Lifecycle = "update+thread"
    group_wait: Duration | None = Field(None, ge=0)
    """Over 0: a burst of events on this route becomes one digest message, posted this
    long after the first. Unset: the provider's
    ``group_wait`` (a second for alerting providers), else off."""
    group_interval: Duration | None = Field(None, gt=0)
    """How often a digest is edited while the burst goes on; a burst quiet this long is
    over. Unset: the provider's default, else 30s."""

    quiet_hours: str | None = None
    """``"22:00-08:00"`` (may wrap past midnight): events below ``quiet_below`` are held
    and posted in one digest when the quiet hours end."""
    timezone: str = "UTC"
    """The IANA zone ``quiet_hours`` and ``digest`` are read in."""
    quiet_below: str = "critical"
    """Events strictly below this severity wait out the quiet hours; the rest go at once."""
    digest: str | None = None
    """``"daily 09:00"`` or ``"hourly"``: every event of the route waits for one summary."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str | None) -> str | None:
        if value is not None:
            QuietHours.parse(value)
        return value

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str | None) -> str | None:
        if value is not None:
            Digest.parse(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("quiet_below")
    @classmethod
    def _quiet_below(cls, value: str) -> str:
        if value not in SEVERITIES:
            raise ValueError(f"quiet_below {value!r} is not one of {', '.join(SEVERITIES)}")
        return value

    @model_validator(mode="after")
    def _one_way_to_wait(self) -> RouteConfig:
        if self.quiet_hours and self.digest:
            raise ValueError(
                "quiet_hours and digest do not combine: a digest already holds every event "
                "until it is posted (choose one)"
            )
        given = self.model_fields_set
        if "quiet_below" in given and not self.quiet_hours:
            raise ValueError('quiet_below needs quiet_hours (e.g. quiet_hours = "22:00-08:00")')
        if "timezone" in given and not (self.quiet_hours or self.digest):
            raise ValueError("timezone applies to quiet_hours or digest; give one of them")
        return self

    @field_validator("match", "exclude")
    @classmethod
    def _severity_levels(cls, value: dict[str, MatchValue]) -> dict[str, MatchValue]:
        for pattern in as_list(value.get("severity")):
            check_severity(pattern)
        return value


class _EnvironmentConventions(PydanticBaseSettingsSource):
    """``PORT`` and ``DATABASE_URL`` win over everything, as platforms expect."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if port := os.environ.get("PORT"):
            values["server"] = {"port": port}
        if database_url := os.environ.get("DATABASE_URL"):
            values["store"] = {"url": database_url}
        return values


class Settings(BaseSettings):
    """The whole configuration."""

    model_config = SettingsConfigDict(
        env_prefix="BOT_", env_nested_delimiter="__", extra="forbid", populate_by_name=True
    )

    server: ServerConfig = ServerConfig()
    store: StoreConfig = StoreConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    slack: SlackConfig = SlackConfig()
    discord: DiscordConfig = DiscordConfig()
    mattermost: MattermostConfig = MattermostConfig()
    telegram: TelegramConfig = TelegramConfig()
    commands: CommandsConfig = CommandsConfig()
    actions: ActionsConfig = ActionsConfig()
    people: dict[str, str] = {}
    """Chat user id -> the person's e-mail or handle at the providers (PagerDuty's
    ``From``, Alertmanager's ``createdBy``; for a GitHub re-run, whose endpoint takes no
    note, the thread line and the action's record name it)."""
    templates: TemplatesConfig = TemplatesConfig()
    inspector: InspectorConfig = InspectorConfig()
    sources: dict[str, SourceConfig] = {}
    targets: dict[str, TargetConfig] = {}
    routes: list[RouteConfig] = []

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file arrives as init kwargs, so it ranks lowest; the environment wins.
        return (_EnvironmentConventions(settings_cls), env_settings, init_settings)

    @model_validator(mode="after")
    def _references_exist(self) -> Settings:
        for index, route in enumerate(self.routes):
            for name in route.to:
                if name not in self.targets:
                    raise ValueError(
                        f"routes[{index}].to names unknown target {name!r} "
                        f"(known: {', '.join(sorted(self.targets)) or 'none'})"
                    )
        for name, source in self.sources.items():
            if source.heartbeat_to is not None and source.heartbeat_to not in self.targets:
                raise ValueError(
                    f"sources.{name}.heartbeat_to names unknown target {source.heartbeat_to!r} "
                    f"(known: {', '.join(sorted(self.targets)) or 'none'})"
                )
        if self.delivery.notify and self.delivery.notify not in self.targets:
            raise ValueError(f"delivery.notify names unknown target {self.delivery.notify!r}")
        return self

    def retry_limits(self, target: str) -> tuple[int, float]:
        """``(max_attempts, max_age)`` for a target: its own, else ``[delivery]``'s."""
        own = self.targets.get(target)
        attempts = own.max_attempts if own and own.max_attempts else self.delivery.max_attempts
        age = own.max_age if own and own.max_age is not None else self.delivery.max_age
        return attempts, age

    def weak_secrets(self) -> list[str]:
        """Sources with a secret or token too short to resist guessing."""
        return [
            name
            for name, source in self.sources.items()
            if any(len(s.encode()) < WEAK_SECRET_BYTES for s in source.secrets + source.tokens)
        ]

    def placeholder_secrets(self) -> list[str]:
        """Sources still using the example's placeholder secret."""
        return [
            name
            for name, source in self.sources.items()
            if any(PLACEHOLDER_SECRET in s for s in source.secrets + source.tokens)
        ]


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line naming the key."""


def load_config(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read ``path`` (or ``$BOT_CONFIG``), apply the environment, validate."""
    chosen = path if path is not None else os.environ.get("BOT_CONFIG")
    if empty := _empty_credential_variables():
        raise ConfigError(
            f"environment: {empty[0]} is empty: give the credential, or unset the variable to "
            "keep the config file's value"
        )
    data: dict[str, Any] = {}
    if chosen:
        file = Path(chosen)
        if not file.is_file():
            given = "--config" if path is not None else "BOT_CONFIG"
            raise ConfigError(f"config file {str(file)!r} does not exist (check {given})")
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_first_problem(exc)) from None
    except SettingsError as exc:
        raise ConfigError(_environment_problem(exc)) from None


def _empty_credential_variables() -> list[str]:
    """``BOT_`` variables that name a credential key and hold nothing but whitespace."""
    found = []
    for name, value in os.environ.items():
        _, nested, key = name.upper().rpartition("__")
        credential = name.upper().startswith("BOT_") and nested and key.lower() in CREDENTIAL_KEYS
        if credential and not value.strip():
            found.append(name)
    return sorted(found)


def _environment_problem(exc: SettingsError) -> str:
    """Name the variable: pydantic-settings only names the top-level field ("sources")."""
    for name, value in sorted(os.environ.items()):
        if not (name.startswith("BOT_") and value.lstrip().startswith(("[", "{"))):
            continue
        try:
            json.loads(value)
        except ValueError as error:
            return (
                f"environment: {name} is not valid JSON ({error}); a list or a table given "
                f'in a variable is written in JSON, e.g. {name}=\'["a", "b"]\''
            )
    return f"environment: {exc}"


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    loc, provider = _without_provider_tag(error["loc"])
    key = ".".join(str(part) for part in loc)
    if error["type"] == "extra_forbidden":
        owners = _providers_reading(str(loc[-1])) if provider else []
        if owners:  # a key of other providers: say whose, at the source as a whole
            key = key.rpartition(".")[0]
            message = f"{loc[-1]} applies only to {', '.join(owners)} sources, not {provider}"
        else:
            message = "unknown key (check the spelling; see config.example.toml)"
    elif error["type"] in _PROVIDER_PROBLEMS:
        key += ".provider"
        message = _PROVIDER_PROBLEMS[error["type"]](error.get("ctx", {}))
    else:
        message = error["msg"].removeprefix("Value error, ")
    more = exc.error_count() - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    where = f"{key}: " if key else ""  # a whole-config check names its keys itself
    return f"config error: {where}{message}{_set_by(loc)}{suffix}"


def _set_by(loc: tuple[int | str, ...]) -> str:
    """Where a bad value came from when a ``BOT_`` variable gave it, not the file."""
    path = [str(part) for part in loc if isinstance(part, str)]
    variable = "BOT_" + "__".join(path).upper()
    given = {name.upper() for name in os.environ}
    return f" (set by {variable})" if len(path) > 1 and variable in given else ""


_PROVIDER_PROBLEMS: dict[str, Callable[[dict[str, Any]], str]] = {
    "union_tag_not_found": lambda ctx: "Field required",
    "union_tag_invalid": lambda ctx: (
        f"unknown provider {ctx.get('tag')!r} (known: {', '.join(PROVIDERS)})"
    ),
}
"""A source's ``provider`` missing or unknown: the union's own words name neither the key
nor the providers there are."""


def _without_provider_tag(loc: tuple[int | str, ...]) -> tuple[tuple[int | str, ...], str]:
    """``sources.<name>.<provider>.<key>`` as the user wrote it, ``sources.<name>.<key>``,
    and the provider pydantic's union tagged the path with ("" outside a source)."""
    if len(loc) >= 3 and loc[0] == "sources" and loc[2] in PROVIDERS:
        return (*loc[:2], *loc[3:]), str(loc[2])
    return loc, ""


def _providers_reading(key: str) -> list[str]:
    return sorted(name for name, p in PROVIDERS.items() if key in p.config.model_fields)


__all__ = [
    "ConfigError",
    "RouteConfig",
    "Settings",
    "SourceConfig",
    "TargetConfig",
    "load_config",
    "source_config",
]

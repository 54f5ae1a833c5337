"""The application: store, HTTP session, chat adapters and workers, wired once.

Resources with a start and an end live in ``cleanup_ctx``, so tests and ``serve`` get
the same lifecycle, and shutdown drains deliveries before the store closes.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.chat import ChatAdapter, registry
from bot.chat.checks import Checkup
from bot.chat.directory import ChannelDirectory
from bot.chat.discord import commands as discord_interactions
from bot.chat.discord.guilds import channel_guild, target_guilds
from bot.chat.mattermost import commands as mattermost_commands
from bot.chat.slack import commands as slack_app
from bot.chat.slack.platform import http_mode, socket_mode
from bot.chat.slack.workspace import TokenWorkspace
from bot.chat.telegram import commands as telegram_updates
from bot.commands import CommandCore
from bot.commands.actions import ActionCore
from bot.commands.binding import Binding, Workspaces
from bot.config.settings import Settings
from bot.core.clock import Clock, SystemClock
from bot.core.errors import LookupFailed
from bot.intake.header_bytes import refuse_undecodable_headers
from bot.intake.ingress import IngressPolicy
from bot.intake.web import (
    ACTIONS,
    CHECKUP,
    CLOCK,
    COMMANDS,
    INGRESS,
    METRICS,
    PIPELINE,
    SETTINGS,
    STORE,
    add_routes,
)
from bot.ops.metrics import Metrics
from bot.ops.startup import optional_features_off, startup_warnings
from bot.pipeline.workers import Pipeline

log = logging.getLogger("bot")

HTTP_SESSION = web.AppKey("http_session", aiohttp.ClientSession)
DRAIN_SECONDS = 18.0


PLANNER = web.AppKey("planner", list[str])


def build_app(
    settings: Settings, clock: Clock | None = None, planner: list[str] | None = None
) -> web.Application:
    """The bot as an aiohttp app; ``clock`` times all its waiting (tests pass a fake one);
    ``planner``, the command of a planner process (``None``: it plans on its own loop)."""
    app = web.Application(
        client_max_size=settings.server.max_body_bytes,
        middlewares=[refuse_undecodable_headers],
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app[CHECKUP] = Checkup()
    app[METRICS] = Metrics()
    app[INGRESS] = IngressPolicy(settings)
    if planner:
        app[PLANNER] = planner
    app.cleanup_ctx.append(_runtime)
    if http_mode(settings) or socket_mode(settings):
        app.cleanup_ctx.append(_slack_commands)
    add_routes(app)
    slack_app.add_routes(app, settings)
    if settings.inspector.token:
        # Imported only when it is served: the inspector brings the gallery's renderer.
        from bot.ops.inspector import add_inspector

        add_inspector(app, settings.inspector.token, settings.inspector.session)
    discord_interactions.add_routes(app, settings, COMMANDS, ACTIONS)
    telegram_updates.add_routes(app, settings, COMMANDS, ACTIONS)
    mattermost_commands.add_routes(app, settings, COMMANDS, ACTIONS)
    return app


def command_bindings(settings: Settings, session: aiohttp.ClientSession) -> dict[str, Binding]:
    """The workspaces each platform's commands are accepted from (DESIGN "Who may
    command"): the configured lists, else what the bot's own configuration points at."""
    slack = TokenWorkspace(settings, session)

    async def discord_own() -> frozenset[str]:
        return await target_guilds(settings, session)

    async def discord_home(channel: str) -> str:
        return await channel_guild(settings, session, channel)

    return {
        "slack": Binding(
            "slack",
            settings.slack.team_ids,
            Workspaces("workspace", "[slack] team_ids", slack.own, slack.channel_home),
        ),
        "discord": Binding(
            "discord",
            settings.discord.guild_ids,
            Workspaces("guild", "[discord] guild_ids", discord_own, discord_home),
        ),
        "mattermost": Binding(
            "mattermost",
            settings.mattermost.team_ids,
            mattermost_commands.workspaces(settings, session),
        ),
        "telegram": Binding("telegram", [], telegram_updates.workspaces(settings)),
    }


async def _learn_bindings(bindings: dict[str, Binding], settings: Settings) -> None:
    """Ask at start which workspaces are ours, so the first command needs no round trip;
    a platform that does not answer yet is asked again at the next command."""
    wanted = {
        "slack": http_mode(settings) or socket_mode(settings),
        "discord": bool(settings.discord.public_key),
    }
    for name, binding in bindings.items():
        if not wanted.get(name):
            continue
        try:
            await binding.ids()
        except LookupFailed as exc:
            log.warning(
                f"{name} commands are refused until the bot can tell which "
                f"{binding.workspaces.noun}s it serves: {exc}; or list them in "
                f"{binding.workspaces.setting}"
            )


def _background(settings: Settings, adapters: dict[str, ChatAdapter]) -> list[asyncio.Task[None]]:
    """What each adapter does while the bot runs (Discord learns its webhooks' channels)."""
    work = (registry.PLATFORMS[name].background(a, settings) for name, a in adapters.items())
    return [asyncio.create_task(coroutine) for coroutine in work if coroutine is not None]


async def _runtime(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = await settings.store.open()
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    directory = ChannelDirectory()
    clock = app[CLOCK]
    adapters = registry.adapters(settings, session, directory, clock)
    pipeline = Pipeline(settings, store, adapters, app[METRICS], directory, clock, app.get(PLANNER))
    app[STORE] = store
    app[HTTP_SESSION] = session
    app[PIPELINE] = pipeline
    bindings = command_bindings(settings, session)
    metrics = app[METRICS]
    app[COMMANDS] = CommandCore(
        settings,
        store,
        nudge=pipeline.nudge,
        clock=clock.now,
        directory=directory,
        bindings=bindings,
        refused=lambda platform, reason: metrics.commands_refused.labels(platform, reason).inc(),
        checkup=app[CHECKUP],
    )
    app[ACTIONS] = ActionCore(
        settings,
        store,
        session,
        count=lambda *labels: metrics.actions.labels(*labels).inc(),
        nudge=pipeline.nudge,
        clock=clock.now,
        bindings=bindings,
        refused=lambda platform, reason: metrics.commands_refused.labels(platform, reason).inc(),
        wait=clock.wait,
    )
    for warning in startup_warnings(settings):
        log.warning(warning)
    if off := optional_features_off(settings):
        log.info(f"off until configured: {'; '.join(off)}")
    await store.recover()
    await pipeline.start()
    background = _background(settings, adapters)
    background.append(asyncio.create_task(_learn_bindings(bindings, settings)))
    background.append(asyncio.create_task(_check_chat(app[CHECKUP], adapters, settings)))
    try:
        yield
    finally:
        # A deploy's SIGTERM lands here: say so, so the log explains the gap that follows.
        log.info(
            "stopping: no new work; finishing posts under way", extra={"within_s": DRAIN_SECONDS}
        )
        for task in background:
            task.cancel()
        await pipeline.stop(DRAIN_SECONDS)
        await session.close()
        await store.close()
        log.info("stopped: anything not yet posted is sent after the restart")


async def _check_chat(
    checkup: Checkup, adapters: dict[str, ChatAdapter], settings: Settings
) -> None:
    """Ask each platform whether its token and targets work (``doctor``'s checks), once,
    beside the listener: a wrong token shows at start, not as retries of the first post."""
    for finding in await checkup.run(adapters, settings):
        if finding.ok:
            log.info(finding.text)
        else:
            log.warning(finding.text)


async def run_workers(settings: Settings) -> None:
    """``work``: the app's runtime (store, session, pipeline) without an HTTP listener.

    Runs until SIGTERM or SIGINT, then drains like ``serve`` does.
    """
    runner = web.AppRunner(build_app(settings), handle_signals=False)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await runner.setup()
    log.info("working", extra={"store": settings.store.url.split(":", 1)[0]})
    try:
        await stopping.wait()
    finally:
        await runner.cleanup()


async def _slack_commands(app: web.Application) -> AsyncIterator[None]:
    """Slack's /notify, once the command core and the HTTP session exist."""
    async with slack_app.running(
        app[SETTINGS], app[COMMANDS], app[HTTP_SESSION], app[ACTIONS]
    ) as bolt:
        app[slack_app.BOLT] = bolt
        yield

"""Command line: ``python -m bot <command> [--config FILE]``.

Every error names its cause and its fix on one line and exits non-zero; no tracebacks
for mistakes a person can make.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from bot.core.errors import StoreUnavailable

if TYPE_CHECKING:
    from bot.config.settings import Settings
    from bot.pipeline.deadletters import DeadLetterFilter

log = logging.getLogger("bot")

Command = Callable[[argparse.Namespace, "Settings"], int]


def _serve(args: argparse.Namespace, settings: Settings) -> int:

    from bot.app import build_app
    from bot.intake.ingress import tls_context
    from bot.intake.listener import serve
    from bot.intake.web import RedactingAccessLogger
    from bot.pipeline.planner_process import planner_command

    try:
        ssl_context = tls_context(settings.server)
    except (OSError, ValueError) as exc:
        print(f"error: [server] tls_cert/tls_key cannot be loaded: {exc}", file=sys.stderr)
        return 2
    planner = planner_command(settings, _config_file(args))
    app = build_app(settings, planner=planner)
    app.on_startup.append(_freeze_startup_objects)
    listening = {
        "host": settings.server.host,
        "port": settings.server.port,
        "tls": ssl_context is not None,
        "store": settings.store.url.split(":", 1)[0],
        "planner": "process" if planner else "inline",
    }
    server = serve(
        app,
        settings.server,
        ssl_context,
        # Said once the socket is bound: only then is the bot listening.
        lambda: _say_listening(settings, listening),
        access_log=logging.getLogger("bot.access") if settings.server.access_log else None,
        access_log_class=RedactingAccessLogger,
    )
    try:
        with asyncio.Runner(loop_factory=_new_event_loop) as runner:
            runner.run(server)
    except OSError as exc:
        if exc.errno not in _CANNOT_LISTEN:
            raise
        where = f"{settings.server.host}:{settings.server.port}"
        print(
            f"error: cannot listen on {where}: {os.strerror(exc.errno)} (another process may hold "
            "the port: stop it, or choose another with [server] port or PORT)",
            file=sys.stderr,
        )
        return 2
    return 0


def _say_listening(settings: Settings, listening: dict[str, Any]) -> None:
    """The port, then one line per source with the path its sender posts to."""
    from bot.ops.startup import hook_paths

    log.info("listening", extra=listening)
    for name, path in hook_paths(settings).items():
        provider = settings.sources[name].provider
        log.info(f"source {name} ({provider}): senders POST to {path}")
    if not settings.sources:
        log.warning("no sources configured: every POST /hooks/... answers 404")


_CANNOT_LISTEN = {errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES}
"""Bind errors a person fixes (a port in use or reserved, an address not on this host)."""


def _work(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run_workers
    from bot.store import is_shared

    if not is_shared(settings.store.url):
        print(
            "error: `work` runs the workers apart from the web process, so they need a store "
            "both can reach: set [store] url or DATABASE_URL to postgresql://... "
            "(with SQLite, `serve` runs the workers itself)",
            file=sys.stderr,
        )
        return 2
    with asyncio.Runner(loop_factory=_new_event_loop) as runner:
        runner.run(run_workers(settings))
    return 0


def _plan(args: argparse.Namespace, settings: Settings) -> int:
    from bot.pipeline.planner_worker import run_planner

    with asyncio.Runner(loop_factory=_new_event_loop) as runner:
        runner.run(run_planner(settings))
    return 0


YOUNG_COLLECTION_EVERY = 50_000
"""Allocations between two young-generation collections (Python's default is 700).

Each webhook allocates a few hundred objects that are gone by its answer, so at the
default the collector ran every few requests, only to find them already freed: about
a tenth of the intake's throughput (``python -m bench``), for no memory saved."""


async def _freeze_startup_objects(app: object) -> None:
    """Exempt what start-up built (modules, templates, clients) from garbage collection,
    and collect the young generation less often (see ``YOUNG_COLLECTION_EVERY``).

    Start-up objects live as long as the process, yet every full collection walked them
    all: a pause of tens of milliseconds in the middle of acknowledging webhooks.
    """
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when it is installed: its C transports make each request cheaper."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _check_config(args: argparse.Namespace, settings: Settings) -> int:
    from bot.ops.startup import hook_paths, optional_features_off, startup_warnings
    from bot.pipeline import quiet
    from bot.pipeline.heartbeats import spoken
    from bot.pipeline.route import compile_routes

    print(
        f"config ok: {len(settings.sources)} sources, {len(settings.targets)} targets, "
        f"{len(settings.routes)} routes"
    )
    for name, path in hook_paths(settings).items():
        print(f"  POST {path}  ({settings.sources[name].provider})")
    print("routes, in order:")
    for route in compile_routes(settings.routes):
        held = quiet.describe(settings.routes[route.index])
        print(f"  {route.index + 1}. {route.describe()}{f'; {held}' if held else ''}")
    if not settings.routes:
        print("  (none: events are stored but not posted)")
    watched = {n: s for n, s in settings.sources.items() if s.heartbeat is not None}
    if watched:
        print("heartbeats:")
    for name, source in watched.items():
        silence = spoken(source.heartbeat or 0)
        print(f"  {name}: silent for {silence}, {source.heartbeat_to} hears of it")
    for warning in startup_warnings(settings):
        print(f"warning: {warning}")
    if off := optional_features_off(settings):
        print(f"off until configured: {'; '.join(off)}")
    return 0


def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    """The start-up chat checks in the foreground: 1 when any of them found a problem."""
    import aiohttp

    from bot.chat import registry
    from bot.chat.checks import Checkup
    from bot.chat.directory import ChannelDirectory

    async def run() -> int:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            adapters = registry.adapters(settings, session, ChannelDirectory())
            checkup = Checkup()
            await checkup.run(adapters, settings)
        for line in checkup.lines():
            print(line)
        if checkup.problems:
            print(f"{len(checkup.problems)} problem(s); nothing was posted")
            return 1
        return 0

    return asyncio.run(run())


def _explain(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from bot.cli.explain import ExplainError, explain, parse_headers, sample_headers

    if args.id is not None:
        if args.payload or args.source:
            return _refuse("give a PAYLOAD with --source, or --id ID, not both")
        return _with_store(_explain_recorded)(args, settings)
    if not (args.payload and args.source):
        return _refuse("give a PAYLOAD and --source NAME (or --id ID for an event the bot has)")
    path = Path(args.payload)
    try:
        body = path.read_bytes()
    except OSError as exc:
        print(
            f"error: cannot read payload {str(path)!r}: {exc.strerror} (check the path)",
            file=sys.stderr,
        )
        return 2
    try:
        headers = {**sample_headers(path), **parse_headers(args.header)}
        print(explain(settings, args.source, body, headers))
    except ExplainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


async def _explain_recorded(store: Any, settings: Settings, args: argparse.Namespace) -> int:
    """``explain --id``: what happened to an event the bot has, as decided then (the routes
    in words, targets, templates), and what today's config would do where it differs."""
    return await _run_command(store, settings, ["why", args.id])


def _with_store(
    work: Callable[[Any, Settings, argparse.Namespace], Awaitable[int]],
) -> Command:
    """``work`` on the configured store, which must exist. Only ``migrate`` creates one: any
    other command, run in the wrong folder or with the wrong config, would make an empty
    store and answer from it ("no dead letters")."""

    def command(args: argparse.Namespace, settings: Settings) -> int:
        if missing := _missing_store(settings.store.url):
            return _refuse(missing)

        async def run() -> int:
            store = await settings.store.open()
            try:
                return await work(store, settings, args)
            finally:
                await store.close()

        return asyncio.run(run())

    return command


def _missing_store(url: str) -> str | None:
    """Why a command cannot use the SQLite store ``url`` names: its file is not there."""
    from pathlib import Path

    from bot.store import sqlite_path

    path = sqlite_path(url)
    if path is None or Path(path).exists():
        return None
    return (
        f"no SQLite store at {str(Path(path).absolute())!r}: run the command where the bot "
        "runs, or pass --config FILE (or BOT_CONFIG) with the bot's [store] url; "
        "`python -m bot migrate` creates a new store"
    )


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    done = asyncio.run(settings.store.migrate())
    print(f"store ready: {settings.store.url.split('://', 1)[0]} {done}")
    return 0


def _refuse(message: str, code: int = 2) -> int:
    """A command that cannot do what it was asked: one line on stderr, so a script piping
    the answer (``dead list | ...``) never mistakes the complaint for output."""
    print(f"error: {message}", file=sys.stderr)
    return code


def _dead_filter(args: argparse.Namespace) -> DeadLetterFilter:
    from bot.pipeline.deadletters import DeadLetterFilter, parse_since

    since = parse_since(args.since, time.time()) if args.since else None
    return DeadLetterFilter(args.target, args.source, args.error, since)


async def _dead_list(store: Any, settings: Settings, args: argparse.Namespace) -> int:
    from bot.pipeline.deadletters import matching

    try:
        chosen = _dead_filter(args)
    except ValueError as exc:
        return _refuse(str(exc))
    rows = await matching(store, chosen, args.limit)
    if not rows:
        print("no dead letters" + ("" if chosen.describe() == "all" else f" ({chosen.describe()})"))
        return 0
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(row["at"]))
        print(f"{row['id']:<28} {row['kind']:<8} {row['target']:<16} {when}  {row['error']}")
    print(
        f"{len(rows)} dead letter(s); replay one with: python -m bot replay ID, "
        "or all of these with: python -m bot replay --all (and the same filters)"
    )
    return 0


async def _replay_all(store: Any, args: argparse.Namespace) -> int:
    """Replay every dead letter the filters admit, saying how far it got as it goes."""
    from bot.pipeline.deadletters import matching
    from bot.pipeline.replay import ReplayError, replay

    try:
        chosen = _dead_filter(args)
    except ValueError as exc:
        return _refuse(str(exc))
    rows = await matching(store, chosen, args.limit)
    if not rows:
        print(f"no dead letters to replay ({chosen.describe()})")
        return 0
    print(f"replaying {len(rows)} dead letter(s) ({chosen.describe()})")
    every = max(1, len(rows) // 20)  # one line each for a few, about 20 lines for many
    queued = 0
    for number, row in enumerate(rows, 1):
        try:
            await replay(store, row["id"], time.time())
            queued += 1
        except ReplayError as exc:  # replayed meanwhile (by chat or the inspector) or purged
            print(f"  {row['id']}: {exc}")
        if len(rows) <= 50:
            print(f"  [{number}/{len(rows)}] {row['kind']} {row['id']} ({row['target']})")
        elif number % every == 0 or number == len(rows):
            print(f"  {number}/{len(rows)} queued")
    print(f"{queued} queued; a running bot delivers them within a few seconds")
    return 0 if queued == len(rows) else 1


async def _replay(store: Any, settings: Settings, args: argparse.Namespace) -> int:
    from bot.pipeline.replay import ReplayError, replay

    if args.all:
        return await _replay_all(store, args)
    if args.id is None or any(
        getattr(args, k) is not None for k in ("target", "source", "error", "since")
    ):
        return _refuse("give one ID, or --all to replay the dead letters the filters choose")
    try:
        replayed = await replay(store, args.id, time.time())
    except ReplayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"queued {replayed.what}; a running bot delivers it within a second")
    return 0


async def _chat_command(store: Any, settings: Settings, args: argparse.Namespace) -> int:
    """``mute``, ``unmute``, ``route``, ``list``, ... : the chat commands, for operators
    without chat. Same core as Slack and Discord; a running bot sees the change at its
    next event and posts any announcement within a second."""
    return await _run_command(store, settings, [args.command, *args.words])


async def _run_command(store: Any, settings: Settings, words: list[str]) -> int:
    import getpass
    import shlex

    from bot.commands import Caller, CommandCore

    text = " ".join(shlex.quote(word) for word in words)
    reply = await CommandCore(settings, store).run(text, Caller("cli", getpass.getuser()))
    print(reply.text)
    if reply.table:
        print(reply.table_text())
    return 0 if reply.ok else 1


async def _people_check(store: Any, settings: Settings, args: argparse.Namespace) -> int:
    """Everyone who clicked a button and is missing from ``[people]``: the providers saw
    their chat name (PagerDuty the source's ``from_email``) instead of who they are."""
    clickers = await store.clickers()
    missing = [c for c in clickers if c[1] not in settings.people]
    if not missing:
        print(f"every clicker is in [people] ({len(clickers)} seen)")
        return 0
    print(f"{len(missing)} of {len(clickers)} clicker(s) missing from [people]:")
    for platform, user, name in missing:
        print(f'  "{user}" = ""   # {platform} {name or "(no name)"}')
    print("add each with their e-mail (PagerDuty's From) or handle under [people]")
    return 1


def _discord_register(args: argparse.Namespace, settings: Settings) -> int:
    import aiohttp

    from bot.chat.discord.commands import register
    from bot.commands import CommandError

    async def run() -> int:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            try:
                commands = await register(settings, session, args.guild)
            except CommandError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
        where = f"in guild {args.guild} (usable now)" if args.guild else "globally"
        names = ", ".join(f"/{c.get('name')}" for c in commands)
        print(f"registered {names} {where}; Discord may take up to an hour to show global ones")
        return 0

    return asyncio.run(run())


def _telegram_set_webhook(args: argparse.Namespace, settings: Settings) -> int:
    import aiohttp

    from bot.chat.telegram.commands import set_webhook
    from bot.commands import CommandError

    async def run() -> int:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            try:
                print(await set_webhook(settings, session, args.url))
            except CommandError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
        return 0

    return asyncio.run(run())


def _gallery(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from bot.cli import gallery
    from bot.ops.gallery.shots import ShotsUnavailable, take

    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _refuse(f"cannot create --out {str(out)!r}: {exc.strerror} (choose another folder)")
    built = asyncio.run(gallery.build(settings))
    page = out / "index.html"
    page.write_text(built.html("ChatOps bot gallery"), "utf-8")
    ids = built.channel_ids()
    print(f"wrote {page} ({len(ids)} channels on {len(built.platforms)} platforms)")
    if not args.png:
        return 0
    try:
        taken = asyncio.run(take(page, ids, out))
    except ShotsUnavailable as exc:
        return _refuse(str(exc), code=1)
    print(f"wrote {len(taken)} pictures to {out}")
    return 0


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import simulate

    if args.list:
        print(simulate.listing(settings))
        return 0
    if not (args.source and args.event):
        return _refuse("name a SOURCE and an EVENT (python -m bot simulate --list shows them)")
    url = simulate.hook_url(settings.server, args.source, args.url)
    try:
        request = simulate.build(settings, args.source, args.event, time.time())
        if args.print:
            print(simulate.printed(url, request))
            return 0
        print(f"POST {url}  ({args.event}, signed as source {args.source!r} expects)")
        status, answer = asyncio.run(simulate.send(url, request, verify_tls=not args.insecure))
    except simulate.SimulateError as exc:
        return _refuse(str(exc), code=1)
    ok, line = simulate.outcome(status, answer, args.source)
    print(line)
    ident = simulate.request_id(answer)
    if not ok or ident is None or args.wait <= 0:
        return 0 if ok else 1
    return _follow(settings, ident, request.body, args.wait)


def _follow(settings: Settings, request_id: int, body: bytes, wait: float) -> int:
    """Print what the bot did with the request, from its store, waiting up to ``wait``
    seconds for it to settle: 0 once it is posted (or muted, or routed nowhere).

    The bot stored the request before it answered, so a store without that very body
    under ``request_id`` is another bot's: then nothing is claimed."""
    from bot.cli.outcome import outcome
    from bot.store import sqlite_path

    url = settings.store.url
    path = sqlite_path(url)
    unknown = (
        "what happened to it is not known here: {why}; where the bot runs: "
        f"python -m bot why {request_id} --config FILE"
    )
    if path is not None and not os.path.exists(path):
        print(unknown.format(why=f"no store at {path} ([store] url)"))
        return 0

    async def run() -> int:
        store = await settings.store.open()
        try:
            item = await store.get_inbox(request_id)
            if item is None or item.body != body:
                print(unknown.format(why="this config's [store] url is not the bot's store"))
                return 0
            deadline = time.monotonic() + wait
            found = await outcome(store, request_id)
            while not found.settled and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                found = await outcome(store, request_id)
        finally:
            await store.close()
        for line in found.lines:
            print(line)
        if not found.settled:
            print(f"not settled after {wait:g}s; python -m bot why {request_id} shows the rest")
        return 0 if found.posted else 1

    return asyncio.run(run())


def _add_dead_filters(parser: argparse.ArgumentParser, limit: int | None) -> None:
    parser.add_argument("--target", help="only deliveries to targets matching this glob")
    parser.add_argument("--source", help="only events from sources matching this glob")
    parser.add_argument("--error", help="only errors containing this text")
    parser.add_argument("--since", help="only those that died since: 2h, 1d or 2024-05-01")
    parser.add_argument("--limit", type=int, default=limit, help=argparse.SUPPRESS)


CHAT_COMMANDS = {
    "mute": "mute: SELECTOR (in TARGET | everywhere) [for 2h | until resolved] [because ...]",
    "unmute": "lift a mute: ID (m3); its digest is posted",
    "route": "reroute: SELECTOR to TARGET [for 1d]",
    "unroute": "remove a reroute: ID (r2)",
    "list": "mutes and reroutes in force",
    "status": "queues, muted and dead counts, rejected webhooks",
    "why": "how a request, event or delivery was routed, muted or failed: ID",
    "test": "post a test message: TARGET",
}
"""The chat commands the CLI offers too (help text for each)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("--config", help="TOML config file (default: $BOT_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("serve", help="HTTP server and background workers")
    commands.add_parser("work", help="background workers only (PostgreSQL: a `worker` process)")
    commands.add_parser(
        "plan", help="the planner process `serve` starts (normalize, route, render); not by hand"
    )
    commands.add_parser("check-config", help="validate the config and print the routes")
    commands.add_parser("migrate", help="create or upgrade the store's schema")
    commands.add_parser(
        "doctor", help="check the chat tokens and targets (posts nothing; 1 if something is wrong)"
    )
    explain = commands.add_parser(
        "explain", help="what would happen to a payload (nothing is sent or stored)"
    )
    explain.add_argument(
        "payload",
        nargs="?",
        help="a JSON file: the body as the sender posts it, or a shipped sample",
    )
    explain.add_argument("--source", help="the source name in the config (with PAYLOAD)")
    explain.add_argument(
        "--id", help="instead of a payload: an event (12.0) or request (12) the bot has"
    )
    explain.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a request header, e.g. 'X-GitHub-Event: push' (repeatable)",
    )
    simulate = commands.add_parser(
        "simulate", help="send a signed sample event to a running bot (try it without a provider)"
    )
    simulate.add_argument("source", nargs="?", help="a source name in the config")
    simulate.add_argument("event", nargs="?", help="a sample event, e.g. pull_request.opened")
    simulate.add_argument("--list", action="store_true", help="show the samples there are")
    simulate.add_argument(
        "--url", help="the bot's URL (default: this config's server on 127.0.0.1)"
    )
    simulate.add_argument(
        "--insecure", action="store_true", help="accept a self-signed TLS certificate"
    )
    simulate.add_argument(
        "--wait",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long to wait for the outcome, read from the bot's store (0: do not wait)",
    )
    simulate.add_argument(
        "--print", action="store_true", help="print the signed request instead of sending it"
    )
    gallery = commands.add_parser(
        "gallery", help="every sample and lifecycle as each chat shows it, as an HTML page"
    )
    gallery.add_argument("--out", default="gallery", help="folder to write into (default: gallery)")
    gallery.add_argument(
        "--png", action="store_true", help="also a picture of each channel (headless Chromium)"
    )
    dead = commands.add_parser("dead", help="dead letters")
    dead_commands = dead.add_subparsers(dest="dead_command", required=True)
    dead_list = dead_commands.add_parser("list", help="list dead letters, newest first")
    _add_dead_filters(dead_list, limit=100)
    replay = commands.add_parser(
        "replay", help="deliver again: an inbox, event or delivery id, or --all dead letters"
    )
    replay.add_argument("id", nargs="?", help="12 (a request), 12.0 (an event), 12.0/eng")
    replay.add_argument(
        "--all", action="store_true", help="every dead letter the filters below choose"
    )
    _add_dead_filters(replay, limit=None)  # every match the store's scan finds
    for name, summary in CHAT_COMMANDS.items():
        sub = commands.add_parser(name, help=summary)
        sub.add_argument("words", nargs="*", metavar="WORD")
    people = commands.add_parser("people", help="who clicks buttons, as [people] maps them")
    people_commands = people.add_subparsers(dest="people_command", required=True)
    people_commands.add_parser("check", help="list clickers missing from [people]")
    discord = commands.add_parser("discord", help="Discord application commands")
    discord_commands = discord.add_subparsers(dest="discord_command", required=True)
    register = discord_commands.add_parser(
        "register-commands", help="create or update /notify through Discord's API"
    )
    register.add_argument("--guild", help="a server id: its commands appear at once")
    telegram = commands.add_parser("telegram", help="Telegram's webhook")
    telegram_commands = telegram.add_subparsers(dest="telegram_command", required=True)
    set_webhook = telegram_commands.add_parser(
        "set-webhook", help="tell Telegram to send /notify to URL (with [telegram] webhook_secret)"
    )
    set_webhook.add_argument("url", help="https://<the bot's public address>/telegram/updates")
    # `--config` may come anywhere: `python -m bot dead list --config bot.toml` too.
    nested = [
        *dead_commands.choices.values(),
        *discord_commands.choices.values(),
        *people_commands.choices.values(),
        *telegram_commands.choices.values(),
    ]
    for sub in [*commands.choices.values(), *nested]:
        sub.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


COMMANDS: dict[str, Command] = {
    "serve": _serve,
    "work": _work,
    "plan": _plan,
    "check-config": _check_config,
    "migrate": _migrate,
    "doctor": _doctor,
    "explain": _explain,
    "simulate": _simulate,
    "gallery": _gallery,
    "dead": _with_store(_dead_list),
    "discord": _discord_register,
    "people": _with_store(_people_check),
    "telegram": _telegram_set_webhook,
    "replay": _with_store(_replay),
    **{name: _with_store(_chat_command) for name in CHAT_COMMANDS},
}


NEED_A_CONFIG = {"serve", "work", "check-config"}
"""Commands that, with no config file and no source in the environment, would run blind:
a bot answering every hook with 404, a check saying "0 sources" is fine."""


def _config_file(args: argparse.Namespace) -> str | None:
    return args.config or os.environ.get("BOT_CONFIG") or None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Only now the config's models (pydantic, every provider and platform): `--help` and a
    # mistyped command answer without building them.
    from bot.config.settings import ConfigError, load_config
    from bot.ops import logs

    # A one-shot command prints its answer; its info logs (`command ... ok=True`) are noise.
    # The gallery's runs raise alarms and fail on purpose: their warnings are not news.
    quiet = {"serve": "INFO", "work": "INFO", "plan": "INFO", "gallery": "ERROR"}
    logs.configure(quiet.get(args.command, "WARNING"))
    try:
        settings = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command in NEED_A_CONFIG and not settings.sources and not _config_file(args):
        return _refuse(
            f"`{args.command}` has no config: set BOT_CONFIG=FILE or pass --config FILE "
            "(config.example.toml is a start)"
        )
    try:
        return COMMANDS[args.command](args, settings)
    except StoreUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

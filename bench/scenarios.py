"""The scenarios, each on fresh processes and a fresh database.

Every scenario returns flat numbers (milliseconds, requests per second, megabytes), so
runs can be compared and their medians taken key by key.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import wrk
from bench.processes import (
    LoadProcess,
    Process,
    Service,
    baseline_service,
    bot_config,
    bot_service,
    fake_slack_service,
)
from bench.stats import summarize


@dataclass
class Options:
    workdir: Path
    concurrency: int = 64
    duration: float = 5.0
    warmup: float = 1.0
    rate: float = 500.0
    e2e_rate: float = 100.0
    channels: int = 100
    storm_alerts: int = 10_000
    storm_per_request: int = 10
    storm_bursts: int = 10
    storm_gap: float = 0.5
    storm_wait: float = 30.0
    storm_group_interval: str = "5s"
    memory_events: int = 100_000
    settle: float = 2.0
    outbox_deliveries: int = 1_000_000
    outbox_seed: int = 500
    drain_events: int = 50_000
    plan_events: int = 2_000
    drain_wait: float = 120.0
    sustained_rate: float = 2_000.0
    sustained_duration: float = 60.0
    slices: int = 4
    client: str = "wrk"  # or "python": bench.load drives the throughput scenarios


Scenario = Callable[[Options, Path], Awaitable[dict[str, Any]]]


@contextlib.asynccontextmanager
async def running(*services: Process) -> AsyncIterator[None]:
    """Start the services side by side, stop them last first.

    None needs another up to start (the bot calls Slack only to deliver an event), so
    a scenario waits for its slowest start-up, not for the sum of them.
    """
    async with contextlib.AsyncExitStack() as stack:
        for service in services:
            stack.push_async_callback(service.stop)
        async with asyncio.TaskGroup() as starting:
            for service in services:
                starting.create_task(service.start())
        yield


def _closed_job(opts: Options, url: str) -> dict[str, Any]:
    return {
        "url": url,
        "mode": "closed",
        "concurrency": opts.concurrency,
        "duration": opts.duration,
        "warmup": opts.warmup,
        "channels": opts.channels,
    }


def _open_job(opts: Options, url: str, rate: float) -> dict[str, Any]:
    return {
        "url": url,
        "mode": "open",
        "rate": rate,
        "duration": opts.duration,
        "warmup": opts.warmup,
        "channels": opts.channels,
    }


def _answers(result: dict[str, Any]) -> dict[str, Any]:
    latency = result["latency_ms"]
    return {
        "rps": result["rps"],
        "requests": result["requests"],
        "errors": result["error_count"],
        "p50_ms": latency.get("p50"),
        "p99_ms": latency.get("p99"),
        "max_ms": latency.get("max"),
        "client_busy": result["client_busy"],
    }


def _bot(opts: Options, workdir: Path, **config: Any) -> tuple[Service, Service]:
    down = config.pop("slack_down", False)
    slack = fake_slack_service(workdir, down=down)
    bot = bot_service(workdir, bot_config(workdir, slack.url, channels=opts.channels, **config))
    return slack, bot


async def baseline(opts: Options, workdir: Path) -> dict[str, Any]:
    """A bare aiohttp handler, same client, same concurrency: the ceiling."""
    server = baseline_service(workdir)
    load = ClosedLoad(opts, workdir)
    async with running(*load.processes, server):
        await load.warm(server)
        run = await load.measure(server, opts.duration)
    return _combined([run])


async def ingest(opts: Options, workdir: Path) -> dict[str, Any]:
    """Signed pushes, verified and committed before each 2xx, while the bot posts."""
    slack, bot = _bot(opts, workdir)
    load = ClosedLoad(opts, workdir)
    async with running(*load.processes, slack, bot):
        await load.warm(bot)
        run = await load.measure(bot, opts.duration)
        memory = bot.memory_kb()
    return {**_combined([run]), "peak_rss_mb": round(memory["VmHWM"] / 1024, 1)}


async def throughput(opts: Options, workdir: Path) -> dict[str, dict[str, Any]]:
    """Baseline and ingest in alternating slices (A B B A ...), both servers up.

    A shared machine's load changes from second to second; measured one after the
    other, the two rates would see different machines and their ratio would mostly
    measure that. The bot is stopped (SIGSTOP) while the baseline runs, so its
    background work (normalizing, posting) cannot slow the baseline down.
    """
    server = baseline_service(workdir)
    slack, bot = _bot(opts, workdir)
    slices = max(1, opts.slices)
    seconds = opts.duration / slices
    servers = {"baseline": server, "ingest": bot}
    results: dict[str, list[dict[str, Any]]] = {"baseline": [], "ingest": []}
    load = ClosedLoad(opts, workdir)
    async with running(*load.processes, server, slack, bot):
        await load.warm(bot)
        with paused(bot):
            await load.warm(server)
        for slice_number in range(slices):
            order = ["baseline", "ingest"] if slice_number % 2 == 0 else ["ingest", "baseline"]
            for name in order:
                if name == "baseline":
                    with paused(bot):
                        results[name].append(await load.measure(server, seconds))
                else:
                    results[name].append(await load.measure(servers[name], seconds))
        memory = bot.memory_kb()
    combined = {name: _combined(runs) for name, runs in results.items()}
    combined["ingest"]["peak_rss_mb"] = round(memory["VmHWM"] / 1024, 1)
    return combined


@contextlib.contextmanager
def planner_held(service: Service) -> Iterator[None]:
    """The processes ``service`` started (the bot's planner) stopped meanwhile."""
    service.signal(signal.SIGSTOP, started_only=True)
    try:
        yield
    finally:
        service.signal(signal.SIGCONT, started_only=True)


@contextlib.contextmanager
def paused(service: Service) -> Iterator[None]:
    service.pause()
    try:
        yield
    finally:
        service.resume()


class ClosedLoad:
    """Closed-loop runs against one server, from wrk or the Python client.

    Every measured run notes the server's CPU time (from /proc) and the client's, so
    the result can say which of the two set the pace.
    """

    def __init__(self, opts: Options, workdir: Path) -> None:
        self.opts = opts
        self.next_number = 0
        self.runs = 0
        self.generator = LoadProcess(workdir) if opts.client == "python" else None
        if opts.client == "wrk":
            self.body, self.secret = wrk.write_body(workdir, opts.channels)

    @property
    def processes(self) -> list[Process]:
        """The Python client's process, to start with the servers (wrk starts per run)."""
        return [self.generator] if self.generator is not None else []

    async def warm(self, target: Service) -> None:
        """Unmeasured load first: connections open, caches and the database warm."""
        if self.opts.warmup > 0:
            await self._load(target, self.opts.warmup, warmup=True)

    async def measure(self, target: Service, seconds: float) -> dict[str, Any]:
        used = target.cpu_seconds()
        started = time.monotonic()
        result = await self._load(target, seconds, warmup=False)
        wall = time.monotonic() - started
        result["server_cpu_s"] = target.cpu_seconds() - used
        result["wall_s"] = wall
        return result

    async def _load(self, target: Service, seconds: float, *, warmup: bool) -> dict[str, Any]:
        url = f"{target.url}/hooks/github"
        self.runs += 1
        if self.opts.client == "wrk":
            try:
                result = await wrk.run_wrk(
                    url,
                    body=self.body,
                    secret=self.secret,
                    prefix=f"wrk{self.runs}",
                    seconds=max(1, round(seconds)),
                    connections=self.opts.concurrency,
                )
            except RuntimeError as exc:  # seen once: "connection refused" from a bot up before
                raise RuntimeError(f"{exc}\n{target.state()}") from None
            result["sent"] = result["requests"]
            return result
        job = {
            **_closed_job(self.opts, url),
            "duration": seconds,
            "warmup": 0,
            "first": self.next_number,
        }
        assert self.generator is not None
        result = await self.generator.run(job)
        result["sent"] = result["next_number"] - self.next_number
        self.next_number = result["next_number"]
        return result


def _combined(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One scenario's measured runs as if they were one.

    wrk reports percentiles, not latencies, so across slices p50 is the median of the
    slices' and p99 and max the worst slice's (an upper bound, not an average).
    """
    answered = sum(run["ok"] for run in runs)
    elapsed = sum(run["elapsed_s"] for run in runs)
    wall = sum(run["wall_s"] for run in runs)
    sent = sum(run["sent"] for run in runs)
    server_cpu = sum(run["server_cpu_s"] for run in runs)
    client_busy = max(run["client_busy"] for run in runs)
    server_busy = round(server_cpu / wall, 3) if wall else 0.0
    p50s = sorted(run["latency_ms"].get("p50") or 0.0 for run in runs)
    return {
        "rps": round(answered / elapsed, 1) if elapsed else 0.0,
        "requests": sum(run["requests"] for run in runs),
        "errors": sum(run["error_count"] for run in runs),
        "p50_ms": round(p50s[len(p50s) // 2], 3),
        "p99_ms": max(run["latency_ms"].get("p99") or 0.0 for run in runs),
        "max_ms": max(run["latency_ms"].get("max") or 0.0 for run in runs),
        "cpu_ms_per_request": round(server_cpu * 1000 / sent, 4) if sent else 0.0,
        "server_busy": server_busy,
        "client_cpu_ms_per_request": round(
            sum(run["client_cpu_ms_per_request"] * run["requests"] for run in runs)
            / max(1, sum(run["requests"] for run in runs)),
            4,
        ),
        "client_busy": client_busy,
        "client_saturated": client_saturated(client_busy, server_busy),
    }


def client_saturated(client_busy: float, server_busy: float) -> bool:
    """The client, not the server, set the pace: its one core full, the server's not."""
    return client_busy >= 0.9 and server_busy < 0.9


def _cpu_per_request(cpu_seconds: float, result: dict[str, Any]) -> float:
    """The bot's CPU time (warmup included) per request: steadier than wall time on a
    busy machine, and it counts the background work each request causes."""
    sent = result["next_number"] - result["job"]["first"]
    return round(cpu_seconds * 1000 / sent, 3) if sent else 0.0


async def ack(opts: Options, workdir: Path) -> dict[str, Any]:
    """Acknowledgement latency at a fixed request rate (open loop)."""
    slack, bot = _bot(opts, workdir)
    job = _open_job(opts, f"{bot.url}/hooks/github", opts.rate)
    load = LoadProcess(workdir)
    async with running(load, slack, bot):
        cpu = bot.cpu_seconds()
        result = await load.run(job)
        cpu = bot.cpu_seconds() - cpu
    return {
        "rate": opts.rate,
        **_answers(result),
        "cpu_ms_per_request": _cpu_per_request(cpu, result),
    }


async def sustained(opts: Options, workdir: Path) -> dict[str, Any]:
    """Signed pushes at ``sustained_rate`` a second for ``sustained_duration`` (open
    loop): whether planning keeps pace. The inbox (requests not yet normalized, routed,
    rendered and in the outbox) is read from ``/metrics`` twice a second; its largest
    depth is also given in seconds of arrivals."""
    slack, bot = _bot(opts, workdir)
    job = {
        **_open_job(opts, f"{bot.url}/hooks/github", opts.sustained_rate),
        "duration": opts.sustained_duration,
    }
    load = LoadProcess(workdir)
    depths: list[int] = []

    async def watch() -> None:
        while True:
            metrics = await _metrics(bot)
            depths.append(int(metrics.get("bot_queue_depth{inbox}", 0)))
            await asyncio.sleep(0.5)

    async with running(load, slack, bot):
        watcher = asyncio.create_task(watch())
        result = await load.run(job)
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    deepest = max(depths, default=0)
    return {
        "rate": opts.sustained_rate,
        **_answers(result),
        "max_backlog": deepest,
        "max_backlog_s": round(deepest / opts.sustained_rate, 2),
        "end_backlog": depths[-1] if depths else 0,
    }


async def end_to_end(opts: Options, workdir: Path) -> dict[str, Any]:
    """Webhook sent -> message at the fake Slack, spread over many channels.

    One channel would measure Slack's pacing (about one message a second), not the
    bot's latency, so the pushes go round-robin over ``channels`` channels.
    """
    slack, bot = _bot(opts, workdir)
    job = {**_open_job(opts, f"{bot.url}/hooks/github", opts.e2e_rate), "record_sends": True}
    load = LoadProcess(workdir)
    async with running(load, slack, bot):
        result = await load.run(job)
        sent: dict[str, float] = result["sent_at"]
        arrived = await _wait_for_markers(slack, set(sent), timeout=30)
    latencies = [(arrived[m] - t) * 1000 for m, t in sent.items() if m in arrived]
    summary = summarize(latencies)
    return {
        "rate": opts.e2e_rate,
        "channels": opts.channels,
        "sent": len(sent),
        "delivered": len(latencies),
        "p50_ms": summary.get("p50"),
        "p99_ms": summary.get("p99"),
        "max_ms": summary.get("max"),
        "ack_p99_ms": result["latency_ms"].get("p99"),
        "errors": result["error_count"],
        "client_busy": result["client_busy"],
    }


async def storm(opts: Options, workdir: Path) -> dict[str, Any]:
    """Alertmanager storm: many alerts in bursts, all routed to one channel.

    An alert is represented once chat shows it: counted from the fake Slack's calls
    (the latest count in each digest's headline), not from the bot's metrics.
    """
    from bot.providers import PROVIDERS

    if "alertmanager" not in PROVIDERS:
        return {"skipped": "the alertmanager provider is not in this build"}
    per_request = opts.storm_per_request
    requests_per_burst = max(1, opts.storm_alerts // per_request // opts.storm_bursts)
    alerts = requests_per_burst * opts.storm_bursts * per_request
    slack, bot = _bot(opts, workdir, alerts=True, group_interval=opts.storm_group_interval)
    job = {
        "url": f"{bot.url}/hooks/prometheus",
        "payload": "alertmanager",
        "mode": "bursts",
        "bursts": opts.storm_bursts,
        "count": requests_per_burst,
        "burst_gap": opts.storm_gap,
        "concurrency": opts.concurrency,
        "alerts_per_request": per_request,
        "warmup": 0,
    }
    load = LoadProcess(workdir)
    async with running(load, slack, bot):
        result = await load.run(job)
        refused = result["error_count"] * per_request
        loop = asyncio.get_running_loop()
        deadline = loop.time() + opts.storm_wait
        while True:
            stats = await slack.get_json("/stats")
            represented = sum(stats["shown"].values())
            if represented >= alerts - refused or loop.time() > deadline:
                break
            await asyncio.sleep(0.25)
        done = time.monotonic() - result["started_at"] if represented >= alerts else None
    return {
        "alerts": alerts,
        "requests": result["requests"],
        "errors": result["error_count"],
        "ack_p50_ms": result["latency_ms"].get("p50"),
        "ack_p99_ms": result["latency_ms"].get("p99"),
        "ack_max_ms": result["latency_ms"].get("max"),
        "represented": represented,
        "all_represented_s": round(done, 2) if done is not None else None,
        "chat_posts": stats["calls"].get("chat.postMessage", 0),
        "chat_updates": stats["calls"].get("chat.update", 0),
        "client_busy": result["client_busy"],
    }


async def memory(opts: Options, workdir: Path) -> dict[str, Any]:
    """Peak RSS while ``memory_events`` accepted pushes wait for a Slack that is down."""
    slack, bot = _bot(opts, workdir, slack_down=True)
    job = {
        **_closed_job(opts, f"{bot.url}/hooks/github"),
        "count": opts.memory_events,
        "warmup": 0,
    }
    load = LoadProcess(workdir)
    async with running(load, slack, bot):
        sampler = asyncio.create_task(_sample_rss(bot))
        started = time.monotonic()
        result = await load.run(job)
        seeded = time.monotonic() - started
        await asyncio.sleep(opts.settle)
        sampler.cancel()
        rss_samples = await asyncio.gather(sampler, return_exceptions=True)
        memory = bot.memory_kb()
        metrics = await _metrics(bot)
    samples = rss_samples[0] if isinstance(rss_samples[0], list) else []
    return {
        "queued": result["ok"],
        "errors": result["error_count"],
        "seed_rps": round(result["ok"] / seeded, 1) if seeded else 0.0,
        "normalized": int(metrics.get("bot_events_total", 0)),
        "delivered": int(metrics.get("bot_deliveries_total{delivered}", 0)),
        "peak_rss_mb": round(max([memory["VmHWM"], *samples]) / 1024, 1),
        "end_rss_mb": round(memory["VmRSS"] / 1024, 1),
    }


async def outbox(opts: Options, workdir: Path) -> dict[str, Any]:
    """Peak RSS while ``outbox_deliveries`` rendered messages wait in the outbox for a
    Slack that is down, the bot running on for ``settle`` seconds (retrying, its
    ``/metrics`` read twice a second).

    Planning a million pushes one by one takes the pipeline about 15 minutes, so the
    rows are made: the bot plans ``outbox_seed`` real signed pushes the normal way
    (Slack answering 503) until no request waits in its inbox, is stopped, and the bench
    copies those requests, their events and their deliveries in SQL until the outbox
    holds ``outbox_deliveries`` (see ``multiply_outbox``). Then the bot starts again on
    that database, timed from its process starting until ``/healthz`` answers.
    """
    slack, bot = _bot(opts, workdir, slack_down=True)
    job = {
        **_closed_job(opts, f"{bot.url}/hooks/github"),
        "count": opts.outbox_seed,
        "warmup": 0,
    }
    load = LoadProcess(workdir)
    async with running(load, slack):
        async with running(bot):
            result = await load.run(job)
            await _wait_for_inbox(bot, time.monotonic() + 60)
            planned = int((await _metrics(bot)).get("bot_events_total", 0))
        started = time.monotonic()
        made = await asyncio.to_thread(multiply_outbox, workdir / "bot.db", opts.outbox_deliveries)
        multiplied = time.monotonic() - started
        async with running(bot):
            ready = time.monotonic() - started - multiplied
            sampler = asyncio.create_task(_sample_rss(bot))
            reads: list[tuple[float, dict[str, float]]] = []
            deadline = time.monotonic() + opts.settle
            while not reads or time.monotonic() < deadline:
                asked = time.monotonic()
                metrics = await _metrics(bot)
                reads.append((time.monotonic() - asked, metrics))
                await asyncio.sleep(0.5)
            sampler.cancel()
            rss_samples = await asyncio.gather(sampler, return_exceptions=True)
            memory = bot.memory_kb()
        refused = (await slack.get_json("/stats"))["refused"]
    samples = rss_samples[0] if isinstance(rss_samples[0], list) else []
    first, last = reads[0][1], reads[-1][1]
    return {
        "seeded": result["ok"],
        "errors": result["error_count"],
        "planned": planned,
        "deliveries": made,
        "multiply_s": round(multiplied, 2),
        "start_s": round(ready, 2),
        "outbox": int(first.get("bot_queue_depth{outbox}", 0)),
        "outbox_end": int(last.get("bot_queue_depth{outbox}", 0)),
        "metrics_max_ms": round(max(took for took, _ in reads) * 1000, 1),
        "retried": int(last.get("bot_deliveries_total{retried}", 0)),
        "slack_refused": refused,
        "peak_rss_mb": round(max([memory["VmHWM"], *samples]) / 1024, 1),
        "end_rss_mb": round(memory["VmRSS"] / 1024, 1),
    }


async def drain(opts: Options, workdir: Path) -> dict[str, Any]:
    """A backlog of ``drain_events`` accepted pushes, and how fast it is planned once the
    flood stops: events a second from the last push until no request waits in the inbox
    (each normalized, routed, rendered and written to the outbox; posting goes on at
    Slack's pace). During a flood the pipeline gives way to the intake, so most of the
    pushes are still waiting when it ends; a planner in a process of its own keeps up
    with much of the flood, so it is held (SIGSTOP) until the flood is over, and the
    whole backlog waits for it."""
    slack, bot = _bot(opts, workdir)
    job = {
        **_closed_job(opts, f"{bot.url}/hooks/github"),
        "count": opts.drain_events,
        "warmup": 0,
    }
    load = LoadProcess(workdir)
    async with running(load, slack, bot):
        with planner_held(bot):
            result = await load.run(job)
            planned = int((await _metrics(bot)).get("bot_events_total", 0))
        flood_over = time.monotonic()
        waiting = await _wait_for_inbox(bot, flood_over + opts.drain_wait)
        took = time.monotonic() - flood_over
    backlog = result["ok"] - planned
    return {
        "queued": result["ok"],
        "errors": result["error_count"],
        "backlog": backlog,
        "left": waiting,
        "drain_s": round(took, 2),
        "drain_eps": round((backlog - waiting) / took, 1) if took else 0.0,
    }


async def _wait_for_inbox(bot: Service, deadline: float) -> int:
    """Wait until no request waits in the bot's inbox (read from ``/metrics``) or the
    ``deadline`` (``time.monotonic()``) passes; the requests still waiting."""
    while True:
        metrics = await _metrics(bot)
        waiting = int(metrics.get("bot_queue_depth{inbox}", 0))
        if waiting == 0 or time.monotonic() > deadline:
            return waiting
        await asyncio.sleep(0.25)


def multiply_outbox(database: Path, deliveries: int) -> int:
    """Copy the requests whose deliveries wait, with their events and deliveries, until
    the outbox holds at least ``deliveries`` pending rows (one ``INSERT ... SELECT`` per
    table, in one transaction); the number it holds.

    Copy ``k`` of request ``id`` is request ``id + k * stride`` (``stride`` above every
    id), its GitHub delivery id and body digest suffixed ``-k`` (both unique per
    source); its events ``<request>.<n>`` and deliveries ``<event>/<target>`` are named
    from the new request id, so every link and unique key holds. A copied delivery is
    as just planned and never tried: no attempts, due at its ``created_at``, no lease,
    so the restarted bot finds every copy due at once. The copied requests have no body
    (``inbox_bodies``): a normalized request's body is read again only by a replay or
    the inspector, and a million of them (2.3 KB compressed, a 4 KB page each) doubled
    the copying to 80 s.
    """
    db = sqlite3.connect(database, isolation_level=None)
    # A rollback journal, not the bot's WAL (which the bot sets again when it opens the
    # file): the copies are written once, not again at the checkpoint (180 s in the WAL),
    # and the indexes' pages stay in memory (1 GB of cache).
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute("PRAGMA cache_size = -1000000")
    try:
        [(stride, pending)] = db.execute(
            "SELECT (SELECT coalesce(max(id), 0) + 1 FROM inbox), "
            "(SELECT count(*) FROM deliveries WHERE state = 'pending')"
        )
        if not pending:
            raise RuntimeError("nothing to multiply: no delivery waits in the outbox")
        db.execute("BEGIN")
        db.execute(
            "CREATE TEMP TABLE seed AS SELECT DISTINCT inbox_id AS id FROM deliveries "
            "WHERE state = 'pending'"
        )
        db.execute(
            "CREATE TEMP TABLE copies AS WITH RECURSIVE k(n) AS (SELECT 1 WHERE :copies > 0 "
            "UNION ALL SELECT n + 1 FROM k WHERE n < :copies) SELECT n FROM k",
            {"copies": -(-deliveries // pending) - 1},
        )
        request = "inbox_id + n * :stride"
        _copy_rows(
            db,
            "inbox",
            "id IN (SELECT id FROM seed)",
            {
                "id": "id + n * :stride",
                "delivery_id": "delivery_id || '-' || n",
                "body_digest": "body_digest || '-' || n",
            },
            stride,
        )
        _copy_rows(
            db,
            "events",
            "inbox_id IN (SELECT id FROM seed)",
            {"id": f"({request}) || substr(id, instr(id, '.'))", "inbox_id": request},
            stride,
        )
        _copy_rows(
            db,
            "deliveries",
            "state = 'pending' AND inbox_id IN (SELECT id FROM seed)",
            {
                "id": f"({request}) || substr(id, instr(id, '.'))",
                "event_id": f"({request}) || substr(event_id, instr(event_id, '.'))",
                "inbox_id": request,
                "attempts": "0",
                "next_attempt_at": "created_at",
                "lease_until": "NULL",
                "last_error": "NULL",
                "updated_at": "created_at",
            },
            stride,
        )
        db.execute("COMMIT")
        [(made,)] = db.execute("SELECT count(*) FROM deliveries WHERE state = 'pending'")
    finally:
        db.close()
    return int(made)


def _copy_rows(
    db: sqlite3.Connection, table: str, where: str, fresh: dict[str, str], stride: int
) -> None:
    """``INSERT ... SELECT`` of ``table``'s rows matching ``where`` once per row of
    ``copies`` (its ``n``), every column as it is but those ``fresh`` computes."""
    columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
    db.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"SELECT {', '.join(fresh.get(c, c) for c in columns)} FROM copies CROSS JOIN {table} "
        f"WHERE {where} ORDER BY n, {table}.rowid",
        {"stride": stride},
    )


async def _sample_rss(service: Service) -> list[int]:
    samples: list[int] = []
    try:
        while True:
            samples.append(service.memory_kb()["VmRSS"])
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        return samples


async def _metrics(service: Service) -> dict[str, float]:
    """Sums of the bot's metrics: ``name`` and ``name{label value}`` for every label."""
    text = await service.get_text("/metrics")
    sums: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        name, value = line.rsplit(" ", 1)
        base = name.split("{", 1)[0]
        sums[base] = sums.get(base, 0.0) + float(value)
        for label_value in name.split('"')[1:-1:2]:
            key = f"{base}{{{label_value}}}"
            sums[key] = sums.get(key, 0.0) + float(value)
    return sums


async def _wait_for_markers(slack: Service, wanted: set[str], timeout: float) -> dict[str, float]:
    """Poll the fake Slack until every marker arrived (or ``timeout``); their arrivals.

    The fake Slack notes each arrival itself, so how often it is asked changes no
    latency, only how soon the scenario can stop once the last one came.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        stats = await slack.get_json("/stats")
        first: dict[str, float] = stats["first"]
        if wanted <= first.keys() or loop.time() > deadline:
            return {m: t for m, t in first.items() if m in wanted}
        await asyncio.sleep(0.05)


async def plan(opts: Options, workdir: Path) -> dict[str, Any]:
    """CPU per request planned, in this process (``bench.planning``)."""
    from bench.planning import planning  # the bench imports the bot for this scenario alone

    return await planning(opts, workdir)


SCENARIOS: dict[str, Scenario] = {
    "baseline": baseline,
    "ingest": ingest,
    "ack": ack,
    "e2e": end_to_end,
    "storm": storm,
    "memory": memory,
    "outbox": outbox,
    "drain": drain,
    "sustained": sustained,
    "plan": plan,
}

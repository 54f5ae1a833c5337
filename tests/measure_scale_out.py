"""Throughput of one and of two bot instances sharing a PostgreSQL database.

    BOT_TEST_POSTGRES_URL=postgresql://... python -m tests.measure_scale_out [--repeat 3]

The numbers in the README's "Scaling out" come from this. Each run starts N real
``python -m bot serve`` processes (on SQLite for comparison, then on a fresh PostgreSQL
schema), warms them up, then sends ``--events`` signed GitHub webhooks spread over the
instances (32 in flight) and over ``--channels`` Slack channels (few enough per channel
that Slack's pace never waits), and times two things from the first request: until
every request was acknowledged (intake) and until the fake Slack on loopback had every
message (delivered). It also reads the CPU time the bot processes used. The medians
over ``--repeat`` runs are printed. The load generator and the fake Slack run in this
process, on the same machine as the bots and the database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from tests.conftest import POSTGRES_URL, fake_slack_on_port, fresh_schema
from tests.processes import BotProcess, write_config
from tests.test_scale_out import channels, post_events, processes, start, stop

WARMUP = 100


@contextlib.asynccontextmanager
async def store_for(backend: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL schema's URL, or "" (the config's default: SQLite in the folder)."""
    if backend == "sqlite":
        yield ""
    else:
        async with fresh_schema(POSTGRES_URL) as url:
            yield url


def cpu_seconds(bot: BotProcess) -> float:
    """User + system CPU the process has used (Linux ``/proc``)."""
    assert bot.process is not None
    with open(f"/proc/{bot.process.pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    backend: str, instances: int, events: int, channel_count: int
) -> tuple[float, float, float]:
    """Seconds from the first request until all were acknowledged and all delivered, and
    the bot processes' CPU seconds meanwhile."""
    async with fake_slack_on_port() as (fake, port), store_for(backend) as url:
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), port, routing=channels(channel_count), store=url)
            bots = processes(Path(tmp), config, *["serve"] * instances)
            try:
                await start(bots)
                await post_events(bots, range(WARMUP), channel_count)
                await fake.wait_for(WARMUP, timeout=120)
                cpu_before = sum(cpu_seconds(bot) for bot in bots)
                began = time.monotonic()
                await post_events(bots, range(WARMUP, WARMUP + events), channel_count)
                acknowledged = time.monotonic() - began
                await fake.wait_for(WARMUP + events, timeout=600)
                delivered = time.monotonic() - began
                cpu = sum(cpu_seconds(bot) for bot in bots) - cpu_before
            finally:
                stop(bots)
    return acknowledged, delivered, cpu


async def main(args: argparse.Namespace) -> int:
    if not POSTGRES_URL:
        print("error: set BOT_TEST_POSTGRES_URL to a PostgreSQL server", file=sys.stderr)
        return 2
    print(f"{args.events} events over {args.channels} channels, median of {args.repeat} runs")
    setups = [("sqlite", 1)] + [("postgresql", n) for n in args.instances]
    for backend, instances in setups:
        runs = []
        for number in range(args.repeat):
            print(f"  {backend}, {instances} instance(s), run {number + 1} ...", file=sys.stderr)
            runs.append(await measure(backend, instances, args.events, args.channels))
        acknowledged, delivered, cpu = (statistics.median(run[i] for run in runs) for i in range(3))
        print(
            f"{backend:<10} {instances} instance(s): "
            f"intake {args.events / acknowledged:5.0f}/s, "
            f"delivered {args.events / delivered:5.0f}/s "
            f"(all posted {delivered:4.1f} s after the first request), "
            f"bot CPU {cpu / args.events * 1000:.2f} ms per event"
        )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.measure_scale_out", description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument(
        "--channels", type=int, default=500, help="at most 4 events a channel stay within burst"
    )
    parser.add_argument(
        "--instances",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2],
        help="comma-separated instance counts (default: 1,2)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    return parser


if __name__ == "__main__":
    sys.exit(asyncio.run(main(_parser().parse_args())))

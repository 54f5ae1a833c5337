"""``python -m bench``: how fast the bot acknowledges webhooks, against a bare baseline.

Runs each chosen scenario on fresh processes (the bot as ``python -m bot serve``, a
fake Slack, a separate load-generator process), prints a table with the targets, and
writes every number as JSON. ``--repeat 3`` runs everything three times and reports the
medians (the machine is noisy; one run proves little).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import wrk
from bench.report import check_targets, render_table
from bench.scenarios import SCENARIOS, Options, throughput
from bench.stats import median_of

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results.json"


def _parser() -> argparse.ArgumentParser:
    defaults = Options(workdir=Path("."))
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, in this order: {', '.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument(
        "--duration", type=float, default=defaults.duration, help="seconds measured"
    )
    parser.add_argument(
        "--warmup", type=float, default=defaults.warmup, help="seconds sent first, not measured"
    )
    parser.add_argument(
        "--rate", type=float, default=defaults.rate, help="requests/s of the ack scenario"
    )
    parser.add_argument(
        "--e2e-rate", type=float, default=defaults.e2e_rate, help="events/s of the e2e scenario"
    )
    parser.add_argument("--channels", type=int, default=defaults.channels)
    parser.add_argument("--storm-alerts", type=int, default=defaults.storm_alerts)
    parser.add_argument(
        "--storm-per-request",
        type=int,
        default=defaults.storm_per_request,
        help="alerts in each Alertmanager notification",
    )
    parser.add_argument("--storm-bursts", type=int, default=defaults.storm_bursts)
    parser.add_argument(
        "--storm-gap", type=float, default=defaults.storm_gap, help="seconds between bursts"
    )
    parser.add_argument(
        "--storm-group-interval",
        default=defaults.storm_group_interval,
        help="the storm route's group_interval: a digest is edited at most this often "
        "(the bot's default is 30s)",
    )
    parser.add_argument(
        "--storm-wait",
        type=float,
        default=defaults.storm_wait,
        help="seconds to wait for every alert to show in chat",
    )
    parser.add_argument(
        "--memory-events",
        type=int,
        default=defaults.memory_events,
        help="pushes queued while Slack is down",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=defaults.settle,
        help="seconds the memory scenario keeps watching after the last push, and the "
        "outbox scenario after the bot is back up",
    )
    parser.add_argument(
        "--outbox-deliveries",
        type=int,
        default=defaults.outbox_deliveries,
        help="rendered messages the outbox scenario leaves waiting for a Slack that is down",
    )
    parser.add_argument(
        "--outbox-seed",
        type=int,
        default=defaults.outbox_seed,
        help="real pushes the bot plans before the outbox scenario copies them in SQL",
    )
    parser.add_argument(
        "--drain-events",
        type=int,
        default=defaults.drain_events,
        help="pushes sent as fast as accepted, whose backlog the drain scenario times",
    )
    parser.add_argument(
        "--plan-events",
        type=int,
        default=defaults.plan_events,
        help="requests of each kind the plan scenario plans in-process",
    )
    parser.add_argument(
        "--drain-wait",
        type=float,
        default=defaults.drain_wait,
        help="seconds the drain scenario waits for the backlog to be planned",
    )
    parser.add_argument(
        "--sustained-rate",
        type=float,
        default=defaults.sustained_rate,
        help="requests/s of the sustained scenario",
    )
    parser.add_argument(
        "--sustained-duration",
        type=float,
        default=defaults.sustained_duration,
        help="seconds the sustained scenario sends",
    )
    parser.add_argument(
        "--slices",
        type=int,
        default=defaults.slices,
        help="baseline and ingest alternate in this many slices each (a busy machine's "
        "load changes by the second)",
    )
    parser.add_argument(
        "--client",
        choices=("wrk", "python"),
        default=defaults.client,
        help="load generator of baseline and ingest: wrk (outruns the bare server) or "
        "the Python client (saturates before the bare server does)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs; medians are reported")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results")
    parser.add_argument("--keep", action="store_true", help="keep databases and logs")
    return parser


async def run_once(names: list[str], opts: Options, number: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    paired = {"baseline", "ingest"} <= set(names)
    for name in names:
        if name in results:
            continue
        workdir = opts.workdir / f"run{number}-{name}"
        workdir.mkdir(parents=True)
        started = time.monotonic()
        before = load_average()
        if paired and name in ("baseline", "ingest"):
            print(f"run {number}: baseline and ingest, alternating ...", file=sys.stderr)
            done = await throughput(opts, workdir)
        else:
            print(f"run {number}: {name} ...", file=sys.stderr, flush=True)
            done = {name: await SCENARIOS[name](opts, workdir)}
        after = load_average()
        print(f"  load average {before} before, {after} after", file=sys.stderr, flush=True)
        for result in done.values():
            result["wall_s"] = round(time.monotonic() - started, 1)
            result["load_before"] = before
            result["load_after"] = after
        results.update(done)
    if "baseline" in results and "ingest" in results and results["baseline"]["rps"]:
        results["ingest"]["ratio"] = round(results["ingest"]["rps"] / results["baseline"]["rps"], 3)
    return results


def load_average() -> float:
    """The machine's one-minute load average (/proc/loadavg): how busy it was around."""
    return os.getloadavg()[0]


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"error: unknown scenario {unknown[0]!r} (known: {', '.join(SCENARIOS)})")
        return 2
    if args.client == "wrk" and not wrk.available() and {"baseline", "ingest"} & set(names):
        print(f"error: {wrk.MISSING}")
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="bot-bench-"))
    try:
        opts = Options(
            workdir=tmp,
            concurrency=args.concurrency,
            duration=args.duration,
            warmup=args.warmup,
            rate=args.rate,
            e2e_rate=args.e2e_rate,
            channels=args.channels,
            storm_alerts=args.storm_alerts,
            storm_per_request=args.storm_per_request,
            storm_bursts=args.storm_bursts,
            storm_gap=args.storm_gap,
            storm_wait=args.storm_wait,
            storm_group_interval=args.storm_group_interval,
            memory_events=args.memory_events,
            settle=args.settle,
            outbox_deliveries=args.outbox_deliveries,
            outbox_seed=args.outbox_seed,
            drain_events=args.drain_events,
            plan_events=args.plan_events,
            drain_wait=args.drain_wait,
            sustained_rate=args.sustained_rate,
            sustained_duration=args.sustained_duration,
            slices=args.slices,
            client=args.client,
        )
        started = time.monotonic()
        runs = [asyncio.run(run_once(names, opts, n + 1)) for n in range(args.repeat)]
    finally:
        if args.keep:
            print(f"kept databases and logs in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    median = {name: median_of([run[name] for run in runs]) for name in names}
    checks = check_targets(median)
    document = {
        "machine": machine(),
        "options": {k: v for k, v in vars(args).items() if k != "output"} | {"scenarios": names},
        "wall_s": round(time.monotonic() - started, 1),
        "runs": runs,
        "median": median,
        "targets": checks,
    }
    args.output.write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
    print(render_table(median, checks, repeat=args.repeat))
    print(f"\nresults: {args.output}  ({document['wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

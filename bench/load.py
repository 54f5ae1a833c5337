"""The load generator, run as its own process: ``python -m bench.load``.

It prints ``ready``, then reads jobs from stdin (one JSON object a line) and answers
each, when it is done, with its result (one JSON line) on stdout, until stdin ends.
Three shapes of job:

- ``closed``: ``concurrency`` requests in flight, each sent when the previous answered,
  for ``duration`` seconds (or ``count`` requests): the most a server can take.
- ``open``: requests start on a fixed schedule (``rate`` per second) whatever the
  answers do, and latency counts from the scheduled start, so a slow server cannot
  hide its queueing by slowing the client down (no coordinated omission).
- ``bursts``: ``bursts`` times, ``count`` requests sent as fast as ``concurrency``
  allows, ``burst_gap`` seconds apart.

Times are ``time.monotonic()`` (one clock for every process on the machine), so the
fake Slack's arrival times can be compared with the send times reported here.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

from bench import runtime
from bench.payloads import AlertmanagerNotifications, GitHubPushes, Request
from bench.stats import summarize


@dataclass
class Job:
    url: str
    payload: str = "github-push"  # or "alertmanager"
    mode: str = "closed"  # closed | open | bursts
    concurrency: int = 64
    duration: float = 5.0
    warmup: float = 1.0
    rate: float = 500.0
    count: int = 0
    bursts: int = 1
    burst_gap: float = 1.0
    channels: int = 100
    alerts_per_request: int = 10
    first: int = 0
    record_sends: bool = False
    keep_latencies: bool = False


@dataclass
class Recorder:
    """What happened to every measured request."""

    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    sent_at: dict[str, float] = field(default_factory=dict)
    last_answer: float = 0.0

    def result(self, elapsed: float) -> dict[str, Any]:
        answered = len(self.latencies)
        return {
            "requests": answered + sum(self.errors.values()),
            "ok": answered,
            "errors": dict(self.errors),
            "error_count": sum(self.errors.values()),
            "elapsed_s": round(elapsed, 3),
            "rps": round(answered / elapsed, 1) if elapsed > 0 else 0.0,
            "latency_ms": summarize([x * 1000 for x in self.latencies]),
            "last_answer": self.last_answer,
            "sent_at": self.sent_at,
        }


class LoadGenerator:
    def __init__(self, job: Job, session: aiohttp.ClientSession) -> None:
        self.job = job
        self.session = session
        self.next_number = job.first
        if job.payload == "alertmanager":
            self.payloads: GitHubPushes | AlertmanagerNotifications = AlertmanagerNotifications(
                job.alerts_per_request
            )
        else:
            self.payloads = GitHubPushes(job.channels)

    def take(self) -> Request:
        request = self.payloads.request(self.next_number)
        self.next_number += 1
        return request

    async def send(self, request: Request, started: float, recorder: Recorder | None) -> None:
        """One request; its latency counts from ``started`` (the send or the schedule)."""
        try:
            async with self.session.post(
                self.job.url, data=request.body, headers=request.headers
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            if recorder is not None:
                recorder.errors[type(exc).__name__] += 1
            return
        done = time.monotonic()
        if recorder is None:
            return
        if 200 <= status < 300:
            recorder.latencies.append(done - started)
            recorder.last_answer = done
        else:
            recorder.errors[f"HTTP {status}"] += 1

    async def closed(self, seconds: float, count: int, recorder: Recorder | None) -> None:
        deadline = time.monotonic() + seconds if seconds > 0 else float("inf")
        remaining = [count] if count > 0 else None

        async def worker() -> None:
            while time.monotonic() < deadline:
                if remaining is not None:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                request = self.take()
                if recorder is not None and self.job.record_sends:
                    recorder.sent_at[request.marker] = time.monotonic()
                await self.send(request, time.monotonic(), recorder)

        await asyncio.gather(*(worker() for _ in range(self.job.concurrency)))

    async def open(self, seconds: float, recorder: Recorder | None) -> None:
        total = int(self.job.rate * seconds)
        start = time.monotonic()
        tasks = []
        for i in range(total):
            scheduled = start + i / self.job.rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            request = self.take()
            if recorder is not None and self.job.record_sends:
                recorder.sent_at[request.marker] = scheduled
            tasks.append(asyncio.create_task(self.send(request, scheduled, recorder)))
        await asyncio.gather(*tasks)

    async def run(self) -> dict[str, Any]:
        job = self.job
        recorder = Recorder()
        if job.mode == "bursts":
            started = time.monotonic()
            cpu = time.process_time()
            for burst in range(job.bursts):
                delay = started + burst * job.burst_gap - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await self.closed(0, job.count, recorder)
        elif job.mode == "open":
            if job.warmup > 0:
                await self.open(job.warmup, None)
            started = time.monotonic()
            cpu = time.process_time()
            await self.open(job.duration, recorder)
        else:
            if job.warmup > 0:
                await self.closed(job.warmup, 0, None)
            started = time.monotonic()
            cpu = time.process_time()
            await self.closed(job.duration if not job.count else 0, job.count, recorder)
        result = recorder.result(time.monotonic() - started)
        measured = result["requests"]
        used = time.process_time() - cpu
        result["client_cpu_ms_per_request"] = round(used * 1000 / measured, 3) if measured else 0.0
        # The share of one core the client used: near 1.0 it, not the server, sets the pace.
        result["client_busy"] = round(used / result["elapsed_s"], 3) if result["elapsed_s"] else 0.0
        if job.keep_latencies:
            result["latencies_ms"] = [round(x * 1000, 3) for x in recorder.latencies]
        result["started_at"] = started
        result["next_number"] = self.next_number
        return result


async def run(job: Job) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=job.concurrency if job.mode != "open" else 0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        return await LoadGenerator(job, session).run()


def main() -> None:
    print("ready", flush=True)
    for line in sys.stdin:
        job = Job(**json.loads(line))
        result = runtime.run(run(job))
        result["job"] = asdict(job)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

"""Closed-loop load from wrk, a native load generator that outruns the bare baseline.

The Python client (``bench.load``) tops out near the bare aiohttp server's rate, so a
ratio measured with it says more about the client than about the bot. wrk (one thread,
``concurrency`` connections) sends the real push on every request with its own marker
in the body, its own ``X-GitHub-Delivery`` and a valid signature (``bench/wrk.lua``,
HMAC from libcrypto): the bot refuses an identical body as a replay, so one fixed
signed body would measure its duplicate check, not its intake.

Its CPU time comes from ``wait4`` (the kernel's own account of the finished child),
so the bench can tell a saturated client from a saturated server.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.payloads import GITHUB_SECRET, GitHubPushes

LUA = Path(__file__).resolve().parent / "wrk.lua"
MISSING = (
    "wrk is not installed: the throughput scenarios need it to outrun the baseline "
    "(apt-get install -y wrk), or run them with --client python"
)


def available() -> bool:
    return shutil.which("wrk") is not None


def write_body(workdir: Path, channels: int) -> tuple[Path, str]:
    """The push every wrk request sends (``@@MARK@@`` where its marker goes), and the
    secret it is signed with."""
    push = GitHubPushes(channels).request(0)
    path = workdir / "push.json"
    path.write_bytes(push.body.replace(push.marker.encode(), b"@@MARK@@"))
    return path, GITHUB_SECRET


async def run_wrk(
    url: str,
    *,
    body: Path,
    secret: str,
    prefix: str,
    seconds: int,
    connections: int,
) -> dict[str, Any]:
    """One wrk run of ``seconds`` (wrk takes whole seconds), summarized like bench.load."""
    if not available():
        raise RuntimeError(MISSING)
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, seconds)}s",
        "--timeout=30s",
        "-s",
        str(LUA),
        url,
        "--",
        str(body),
        secret,
        prefix,
    ]
    out, status, cpu = await asyncio.to_thread(_run, argv)
    if status != 0:
        raise RuntimeError(f"wrk failed (exit {status}): {out[-2000:]}")
    line = next((x for x in out.splitlines() if x.startswith("WRK_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {out[-2000:]}")
    raw = json.loads(line.removeprefix("WRK_RESULT "))
    elapsed = raw["duration_us"] / 1e6
    errors = {
        kind: raw[kind] for kind in ("connect", "read", "write", "timeout", "status") if raw[kind]
    }
    error_count = sum(errors.values())
    ok = max(0, raw["requests"] - raw["status"])
    return {
        "requests": raw["requests"],
        "ok": ok,
        "errors": errors,
        "error_count": error_count,
        "elapsed_s": round(elapsed, 3),
        "rps": round(ok / elapsed, 1) if elapsed > 0 else 0.0,
        "latency_ms": {
            "p50": raw["p50_us"] / 1000,
            "p99": raw["p99_us"] / 1000,
            "max": raw["max_us"] / 1000,
        },
        "client_cpu_s": round(cpu, 3),
        "client_busy": round(cpu / elapsed, 3) if elapsed > 0 else 0.0,
        "client_cpu_ms_per_request": round(cpu * 1000 / raw["requests"], 4)
        if raw["requests"]
        else 0.0,
    }


def _run(argv: list[str]) -> tuple[str, int, float]:
    """Run wrk to its end; its output, exit status and CPU seconds (user + system)."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    out = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    return out, process.returncode, usage.ru_utime + usage.ru_stime

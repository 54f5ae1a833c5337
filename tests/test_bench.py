"""The benchmark still runs: every scenario for a moment, checked for sense, not speed."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import check_targets, render_table, saturation_warnings
from bench.stats import median_of

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_benchmark_runs_every_scenario_and_writes_results(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    command = [
        sys.executable,
        "-m",
        "bench",
        "--duration=0.25",
        "--warmup=0.1",
        "--slices=2",  # baseline and ingest still alternate (A B B A), in half the runs
        "--concurrency=4",
        "--rate=100",
        "--e2e-rate=80",  # 20 pushes in the quarter second
        "--channels=5",
        "--storm-alerts=40",
        "--storm-per-request=2",
        "--storm-bursts=2",
        "--storm-gap=0.2",
        # The storm digest is edited this often: at the bench's 5s the scenario waited
        # that long (or all of --storm-wait) for every alert to show in chat.
        "--storm-group-interval=0.5s",
        "--storm-wait=4",  # every alert shows after about 2 s; the test needs only some
        "--memory-events=100",
        "--settle=0.2",
        "--outbox-deliveries=2000",
        "--outbox-seed=20",
        "--drain-events=100",
        "--plan-events=20",
        "--sustained-rate=40",
        "--sustained-duration=0.5",
        "--client=python",  # the wrk path has its own smoke run below
        f"--output={output}",
    ]
    finished = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "ingest/baseline throughput ratio" in finished.stdout

    results = json.loads(output.read_text())
    median = results["median"]
    assert set(median) == {
        "baseline",
        "ingest",
        "ack",
        "e2e",
        "storm",
        "memory",
        "outbox",
        "drain",
        "sustained",
        "plan",
    }
    assert median["baseline"]["errors"] == 0 and median["baseline"]["requests"] > 0
    assert median["ingest"]["errors"] == 0 and median["ingest"]["requests"] > 0
    assert median["ingest"]["ratio"] > 0
    assert median["plan"]["push_ms"] > 0 and median["plan"]["alert_ms"] > 0
    # Every push of the end-to-end scenario reached the fake Slack.
    assert median["e2e"]["sent"] == 20
    assert median["e2e"]["delivered"] == median["e2e"]["sent"]
    # With Slack down nothing is delivered, and every push is still accepted.
    assert median["memory"]["queued"] == 100
    assert median["memory"]["delivered"] == 0
    assert median["memory"]["peak_rss_mb"] > 0
    # The 20 pushes planned for real, copied to 2,000 waiting messages the bot then sees.
    assert median["outbox"]["planned"] == 20
    assert median["outbox"]["deliveries"] == median["outbox"]["outbox"] == 2000
    assert median["outbox"]["peak_rss_mb"] > 0
    # A storm's alerts reach chat (all of them only once grouping lets one channel keep up).
    assert median["storm"]["errors"] == 0 and median["storm"]["represented"] > 0
    # Every push of the drain scenario is planned, the backlog timed from the last one.
    assert median["drain"]["queued"] == 100 and median["drain"]["left"] == 0
    # The sustained rate is sent, and every request answered.
    assert median["sustained"]["errors"] == 0 and median["sustained"]["requests"] == 20
    assert {check["scenario"] for check in results["targets"]} >= {"ingest", "e2e", "memory"}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed: apt-get install wrk")
def test_wrk_drives_both_servers_with_valid_unique_pushes(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    command = [
        sys.executable,
        "-m",
        "bench",
        "--scenarios=baseline,ingest",
        "--client=wrk",
        "--duration=2",
        # wrk runs whole seconds: no warmup, and the bot still gets two runs (two slices)
        # whose delivery ids must not collide.
        "--warmup=0",
        "--slices=2",
        "--concurrency=8",
        "--keep",
        f"--output={output}",
    ]
    finished = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "server CPU per request: bot" in finished.stdout
    assert re.search(r"load average [0-9.]+ before, [0-9.]+ after", finished.stderr)

    median = json.loads(output.read_text())["median"]
    for name in ("baseline", "ingest"):
        # Every signature held (a 401 would count as an error) and both servers were measured.
        assert median[name]["errors"] == 0 and median[name]["requests"] > 0
        assert median[name]["cpu_ms_per_request"] > 0
        assert median[name]["client_busy"] > 0 and median[name]["server_busy"] > 0
        assert median[name]["load_before"] >= 0
    # A fresh delivery id per request: the bot stored each push, none was a duplicate.
    kept = Path(re.search(r"kept databases and logs in (\S+)", finished.stderr)[1])
    try:
        with sqlite3.connect(kept / "run1-baseline" / "bot.db") as db:
            [(stored,)] = db.execute("SELECT COUNT(*) FROM inbox").fetchall()
    finally:
        shutil.rmtree(kept, ignore_errors=True)
    assert stored >= median["ingest"]["requests"]


def test_a_saturated_client_is_called_out_beside_the_ratio() -> None:
    results = {
        "baseline": {"rps": 11_000.0, "client_busy": 0.99, "server_busy": 0.62},
        "ingest": {"rps": 5_000.0, "ratio": 0.455, "client_busy": 0.5, "server_busy": 1.0},
    }
    results["baseline"]["client_saturated"] = True

    [warning] = [line for line in saturation_warnings(results) if line]

    assert warning.startswith("WARNING baseline: the client was saturated")
    assert warning in render_table(results, [], repeat=1)
    assert not [line for line in saturation_warnings({"ingest": results["ingest"]}) if line]


def test_a_median_ratio_just_short_of_the_target_is_a_miss() -> None:
    runs = [{"ingest": {"ratio": r, "errors": 0}} for r in (0.446, 0.431, 0.517)]

    median = {"ingest": median_of([run["ingest"] for run in runs])}
    [ratio_check] = [c for c in check_targets(median) if c["metric"] == "ratio"]

    assert ratio_check["value"] == 0.446
    assert not ratio_check["met"]
    assert "(got 0.446)" in render_table(median, check_targets(median), repeat=3)


async def test_a_server_that_died_says_so_with_the_end_of_its_log(tmp_path: Path) -> None:
    """A load generator's failure ("connection refused") then names the server's state."""
    from bench.processes import Service

    code = "import sys; print('cannot listen: port taken'); sys.exit(3)"
    server = Service("bot", ["-c", code], tmp_path / "bot.log", port=1)
    with pytest.raises(RuntimeError):
        await server.start(timeout=10)
    assert server.process is not None
    server.process.wait(10)
    assert server.state().startswith("bot exited with 3; its log ends:\ncannot listen: port taken")

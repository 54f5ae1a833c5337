"""Run by an installed wheel's interpreter (see test_wheel.py), never collected by pytest.

It uses only what the wheel installed: the samples, templates, schema and inspector page
must come from the package. Prints one JSON report on stdout for the test to judge.

Usage: python wheel_check.py CONFIG
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import bot
from bot.cli import simulate
from bot.cli.main import main
from bot.config.settings import load_config
from bot.ops.inspector import Inspector
from bot.providers import PROVIDERS


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(argv))
    return code, out.getvalue()


def explained(config: str, folder: Path) -> list[dict[str, object]]:
    """``explain`` on every sample of every configured source."""
    settings = load_config(config)
    results = []
    for name, source in sorted(settings.sources.items()):
        for event in simulate.sample_events(source.provider):
            request = simulate.build(settings, name, event, time.time())
            body = folder / f"{name}.{event}.json"
            body.write_bytes(request.body)
            headers = [f"{key}: {value}" for key, value in request.headers.items()]
            flags = [arg for header in headers for arg in ("--header", header)]
            code, out = run("--config", config, "explain", "--source", name, *flags, str(body))
            results.append(
                {"provider": source.provider, "event": event, "code": code, "output": out}
            )
    return results


def main_check(config: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        samples = explained(config, Path(folder))
    migrate = run("--config", config, "migrate")
    Inspector("wheel-check-token")  # loads page.html.j2 from the package, or raises
    return {
        "bot": bot.__file__,
        "providers": sorted(PROVIDERS),
        "with_samples": sorted(p for p in PROVIDERS if simulate.sample_events(p)),
        "samples": samples,
        "migrate": {"code": migrate[0], "output": migrate[1]},
    }


if __name__ == "__main__":
    print(json.dumps(main_check(sys.argv[1])))

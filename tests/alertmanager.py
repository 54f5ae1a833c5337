"""The real Prometheus Alertmanager, started on loopback for a test (Debian's
``prometheus-alertmanager``; ``.ci/run`` installs it).

Its one receiver is the bot's ``/hooks/<source>`` with a bearer token; grouping waits
are short (no ``group_wait``, a 100 ms ``group_interval``) so a posted alert reaches the
bot at once and a change to it at the next flush, a tenth of a second later. Clustering
is off (``--cluster.listen-address=``), storage is the test's temporary folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.processes import free_port

BINARY = "prometheus-alertmanager"


def binary() -> str:
    found = shutil.which(BINARY) or shutil.which("alertmanager")
    if found is None:
        pytest.skip(f"{BINARY} is not installed (apt-get install -y prometheus-alertmanager)")
    return found


@contextlib.asynccontextmanager
async def alertmanager(folder: Path, hook_url: str, token: str) -> AsyncIterator[str]:
    """A running Alertmanager posting to ``hook_url``; yields its base URL."""
    config = {
        "route": {
            "receiver": "bot",
            "group_by": ["alertname"],
            "group_wait": "0s",
            "group_interval": "100ms",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "bot",
                "webhook_configs": [
                    {
                        "url": hook_url,
                        "send_resolved": True,
                        "http_config": {"authorization": {"credentials": token}},
                    }
                ],
            }
        ],
    }
    (folder / "alertmanager.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    process = subprocess.Popen(
        [
            binary(),
            f"--config.file={folder / 'alertmanager.yml'}",
            f"--storage.path={folder / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "alertmanager.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _ready(url, process, folder)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


async def _ready(url: str, process: subprocess.Popen[bytes], folder: Path) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            if process.poll() is not None:
                raise RuntimeError((folder / "alertmanager.log").read_text())
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{url}/-/ready") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(
        "alertmanager did not become ready: " + (folder / "alertmanager.log").read_text()
    )


async def api(url: str, method: str, path: str, body: Any = None) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{url}/api/v2{path}", json=body) as response,
    ):
        assert response.status < 300, await response.text()
        return await response.json(content_type=None)

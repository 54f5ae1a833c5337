"""Click-to-updated-message latency: ``python -m bench.clicks [--incidents 200]``.

One bot (in this process, on loopback, SQLite in a temporary folder) with a PagerDuty
source and 100 Slack channels, one route each; a fake Slack and a fake PagerDuty API in
the same process. Each incident is posted to its own channel's message, then its
Acknowledge button is pressed as a signed ``block_actions`` request, ten clicks in
flight. The latency is from sending the click to the ``chat.update`` that shows
"Acknowledged by" arriving at Slack: the ack, the PagerDuty call, the store, the outbox
and the edit. Over 100 channels, so it measures the path rather than one channel's pace.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bench import runtime
from bench.stats import summarize
from bot.app import build_app
from bot.config.settings import Settings

CHANNELS = 100
SIGNING_SECRET = "bench-signing-secret"
PD_SECRET = "bench-pagerduty-webhook-secret"
TOKEN = "xoxb-bench"
SAMPLE = Path(__file__).parent.parent / "bot/providers/pagerduty/samples/incident__triggered.json"


class FakeSlack:
    """Posts answer with a ts; an update showing "Acknowledged by" is noted on arrival."""

    def __init__(self) -> None:
        self.posted: dict[str, dict[str, Any]] = {}
        self.updated: dict[str, float] = {}
        self.arrived = asyncio.Condition()
        self.ts = 0
        self.app = web.Application()
        self.app.router.add_post("/api/{method}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await request.json() if request.content_type == "application/json" else {}
        channel = str(body.get("channel", ""))
        if method == "auth.test":
            return web.json_response({"ok": True, "team_id": "T0", "user_id": "UBOT"})
        if method == "conversations.info":  # the start-up check: the bot is in each channel
            asked = {**request.query, **(await request.post())}
            return web.json_response(
                {"ok": True, "channel": {"id": asked.get("channel"), "is_member": True}}
            )
        self.ts += 1
        ts = f"1700000000.{self.ts:06d}"
        async with self.arrived:
            if method == "chat.postMessage" and not body.get("thread_ts"):
                self.posted[channel] = {**body, "ts": ts}
            if method == "chat.update" and "Acknowledged by" in json.dumps(body):
                self.updated.setdefault(channel, time.monotonic())
            self.arrived.notify_all()
        return web.json_response({"ok": True, "channel": channel, "ts": body.get("ts", ts)})


async def pagerduty(request: web.Request) -> web.Response:
    return web.json_response({"incident": {"status": "acknowledged"}})


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def settings(folder: str, slack_url: str, pd_url: str) -> Settings:
    targets = {f"t{i}": {"slack": f"C{i:04d}"} for i in range(CHANNELS)}
    routes = [{"match": {"service": f"svc{i}"}, "to": [f"t{i}"]} for i in range(CHANNELS)]
    return Settings(
        store={"url": f"sqlite:///{folder}/bot.db"},
        slack={"bot_token": TOKEN, "signing_secret": SIGNING_SECRET, "api_url": slack_url},
        sources={
            "pd": {
                "provider": "pagerduty",
                "secret": PD_SECRET,
                "api_token": "bench",
                "api_url": pd_url,
                "from_email": "oncall@acme.com",
            }
        },
        targets=targets,
        routes=routes,
    )


def incident(number: int) -> bytes:
    payload = json.loads(SAMPLE.read_text())
    payload["event"]["id"] = f"bench-{number:06d}"
    data = payload["event"]["data"]
    data["id"] = f"PB{number:06d}"
    data["service"]["summary"] = f"svc{number % CHANNELS}"
    return json.dumps(payload).encode()


def pd_headers(body: bytes) -> dict[str, str]:
    signature = hmac.new(PD_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-PagerDuty-Signature": f"v1={signature}", "Content-Type": "application/json"}


def click_body(channel: str, post: dict[str, Any]) -> bytes:
    blocks = [b for a in post["attachments"] for b in a["blocks"] if b["type"] == "actions"]
    button = next(e for e in blocks[0]["elements"] if e["action_id"] == "bot.acknowledge")
    payload = {
        "type": "block_actions",
        "team": {"id": "T0"},
        "user": {"id": "U1", "username": "alice"},
        "api_app_id": "A0",
        "container": {"type": "message", "message_ts": post["ts"], "channel_id": channel},
        "channel": {"id": channel},
        "actions": [{**button, "block_id": "bot_actions", "action_ts": "1"}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body)
    assert signature is not None  # None only without a signing secret
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


async def measure(incidents: int, in_flight: int) -> dict[str, float]:
    slack = FakeSlack()
    pd = web.Application()
    pd.router.add_put("/incidents/{id}", pagerduty)
    slack_runner, slack_url = await serve(slack.app)
    pd_runner, pd_url = await serve(pd)
    with tempfile.TemporaryDirectory() as folder:
        bot_runner, bot_url = await serve(build_app(settings(folder, slack_url + "/api/", pd_url)))
        try:
            async with aiohttp.ClientSession() as http:
                for number in range(incidents):
                    body = incident(number)
                    async with http.post(
                        f"{bot_url}/hooks/pd", data=body, headers=pd_headers(body)
                    ):
                        pass
                channels = [f"C{i:04d}" for i in range(incidents)]
                async with slack.arrived:
                    await slack.arrived.wait_for(lambda: len(slack.posted) >= len(channels))
                sent: dict[str, float] = {}
                gate = asyncio.Semaphore(in_flight)

                async def press(channel: str) -> None:
                    async with gate:
                        body = click_body(channel, slack.posted[channel])
                        sent[channel] = time.monotonic()
                        url = f"{bot_url}/slack/interactions"
                        async with http.post(url, data=body, headers=signed(body)):
                            pass
                        async with slack.arrived:
                            await slack.arrived.wait_for(lambda: channel in slack.updated)

                await asyncio.wait_for(asyncio.gather(*(press(c) for c in channels)), 120)
        finally:
            await bot_runner.cleanup()
            await slack_runner.cleanup()
            await pd_runner.cleanup()
    return summarize([(slack.updated[c] - sent[c]) * 1000 for c in sent])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=CHANNELS, help="clicks (one per channel)")
    parser.add_argument("--in-flight", type=int, default=10, help="clicks at once")
    args = parser.parse_args()
    result = runtime.run(measure(min(args.incidents, CHANNELS), args.in_flight))
    print(json.dumps(result, indent=2))
    print("(milliseconds from the click to the edited message arriving at Slack)")


if __name__ == "__main__":
    main()

"""Signed webhook requests for the load generator, each one unique and traceable.

Every request carries a marker (``bm-000042`` for a push, ``ba-000042`` for an alert)
that the rendered chat message repeats, so the fake Slack can tell which webhook a
message came from and when it arrived.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PUSH_EXAMPLE = ROOT / "bot" / "providers" / "github" / "samples" / "push.json"

GITHUB_SECRET = "bench-github-secret"
ALERTMANAGER_TOKEN = "bench-alertmanager-token"
SLACK_TOKEN = "xoxb-bench"

_REPO = b"@@REPO@@"
_MARK = b"@@MARK@@"


def push_marker(number: int) -> str:
    return f"bm-{number:06d}"


def alert_marker(number: int) -> str:
    return f"ba-{number:06d}"


def channel_repo(channel: int) -> str:
    """The repository whose pushes the bench config routes to channel ``channel``."""
    return f"bench/c{channel:03d}"


@dataclass(frozen=True)
class Request:
    marker: str
    body: bytes
    headers: dict[str, str]


class GitHubPushes:
    """The real octokit ``push`` example (~7.5 KB), one repository per chat channel.

    The repository name picks the route (and so the channel); the pushed ref carries the
    marker: the tag the message names (headline and card title).
    """

    def __init__(self, channels: int, secret: str = GITHUB_SECRET) -> None:
        payload = json.loads(PUSH_EXAMPLE.read_text(encoding="utf-8"))
        payload["repository"]["full_name"] = _REPO.decode()
        payload["ref"] = f"refs/tags/{_MARK.decode()}"
        self._parts = re.split(rb"(@@REPO@@|@@MARK@@)", json.dumps(payload, indent=2).encode())
        self._channels = max(channels, 1)
        self._key = secret.encode()

    def request(self, number: int) -> Request:
        marker = push_marker(number)
        values = {
            _REPO: channel_repo(number % self._channels).encode(),
            _MARK: marker.encode(),
        }
        body = b"".join(values.get(part, part) for part in self._parts)
        signature = hmac.new(self._key, body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/bench",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": f"bench-{number}",
            "X-Hub-Signature-256": f"sha256={signature}",
        }
        return Request(marker, body, headers)


class AlertmanagerNotifications:
    """Alertmanager webhook v4 notifications: each request is one group of firing alerts.

    The shape follows Alertmanager's ``notify/webhook`` (``version "4"``); alert number
    ``n`` is on host ``ba-<n>``, so every alert can be found again in chat.
    """

    def __init__(self, alerts_per_request: int, token: str = ALERTMANAGER_TOKEN) -> None:
        self._size = max(alerts_per_request, 1)
        self._auth = f"Bearer {token}"

    def request(self, number: int) -> Request:
        first = number * self._size
        alerts = [self._alert(first + i) for i in range(self._size)]
        group = f"storm-{number:05d}"
        body = json.dumps(
            {
                "version": "4",
                "groupKey": f'{{}}/{{severity="critical"}}:{{group="{group}"}}',
                "truncatedAlerts": 0,
                "status": "firing",
                "receiver": "chatops",
                "groupLabels": {"alertname": "DiskFull", "group": group},
                "commonLabels": {"alertname": "DiskFull", "severity": "critical", "group": group},
                "commonAnnotations": {},
                "externalURL": "http://alertmanager.example:9093",
                "alerts": alerts,
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Alertmanager/0.28.1",
            "Authorization": self._auth,
        }
        return Request(alert_marker(first), body, headers)

    @staticmethod
    def _alert(number: int) -> dict[str, object]:
        host = alert_marker(number)
        return {
            "status": "firing",
            "labels": {
                "alertname": "DiskFull",
                "severity": "critical",
                "instance": host,
                "job": "node",
            },
            "annotations": {
                "summary": f"Disk almost full on {host}",
                "description": f"/var on {host} is 97% full",
            },
            "startsAt": "2026-11-24T05:00:00.000Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=disk",
            "fingerprint": hashlib.sha1(host.encode()).hexdigest()[:16],
        }

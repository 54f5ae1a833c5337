"""``/metrics`` after a known sequence of webhooks and Slack answers."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import base_config, eventually, fixture_bytes, github_headers

REJECT_REASON = "bad_signature"
"""The label is the cause's short code; the sentence is for the log, status and inspector."""


async def scrape(bot) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await bot.get("/metrics")
    assert response.status == 200
    samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def post(bot, fixture: str, event: str, delivery: str, secret: str | None = None):
    body = fixture_bytes(f"github/{fixture}.json")
    headers = github_headers(body, event, delivery, *([secret] if secret else []))
    response = await bot.post("/hooks/github", data=body, headers=headers)
    return response.status


async def test_metrics_count_a_known_sequence(tmp_path, fake_slack, make_bot):
    config = base_config(tmp_path, fake_slack.url, delivery={"retry_base": "10ms"})
    bot = await make_bot(config)

    async def reaches(name: str, expected: float, **labels: str) -> bool:
        return value(await scrape(bot), name, **labels) == expected

    # A pull request: Slack fails once with a 500, the retry is delivered.
    fake_slack.fail_next(status=500)
    assert await post(bot, "pull_request__opened", "pull_request", "d-1") == 200
    await fake_slack.wait_for(1)
    assert await post(bot, "pull_request__opened", "pull_request", "d-1") == 200  # duplicate
    assert await post(bot, "push", "push", "d-2", secret="wrong secret") == 401
    assert await post(bot, "ping", "ping", "d-3") == 200  # ignored
    # A push: Slack refuses for good, so it becomes a dead letter.
    fake_slack.fail_next(error="channel_not_found")
    assert await post(bot, "push", "push", "d-4") == 200
    assert await eventually(
        lambda: reaches("bot_deliveries_total", 1, target="eng", outcome="dead")
    )
    # A star: rate limited for an hour, so it waits in the outbox.
    fake_slack.fail_next(status=429, error="ratelimited", headers={"Retry-After": "3600"})
    assert await post(bot, "star__created", "star", "d-5") == 200
    assert await eventually(
        lambda: reaches("bot_deliveries_total", 2, target="eng", outcome="retried")
    )

    m = await scrape(bot)
    assert value(m, "bot_requests_total", source="github", outcome="accepted") == 4
    assert value(m, "bot_requests_total", source="github", outcome="duplicate") == 1
    assert value(m, "bot_requests_total", source="github", outcome="rejected") == 1
    assert value(m, "bot_requests_rejected_total", source="github", reason=REJECT_REASON) == 1
    assert value(m, "bot_events_total", source="github", outcome="routed") == 3
    assert value(m, "bot_events_total", source="github", outcome="ignored") == 1
    assert value(m, "bot_deliveries_total", target="eng", outcome="delivered") == 1
    assert value(m, "bot_queue_depth", queue="outbox") == 1
    assert value(m, "bot_queue_depth", queue="inbox") == 0
    assert value(m, "bot_dead_letters", kind="delivery") == 1
    assert value(m, "bot_dead_letters", kind="request") == 0
    assert 0 < value(m, "bot_oldest_undelivered_age_seconds") < 600
    assert value(m, "bot_ack_seconds_count") == 5  # accepted and duplicate answers
    assert value(m, "bot_end_to_end_seconds_count") == 1  # the one delivered message
    assert value(m, "bot_end_to_end_seconds_sum") > 0
    assert not [name for name, _ in m if name.endswith("_created")]


@pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool is not installed (Debian package prometheus; .ci/run installs it)",
)
async def test_a_scrape_passes_promtool(tmp_path, fake_slack, make_bot):
    bot = await make_bot(base_config(tmp_path, fake_slack.url))
    assert await post(bot, "pull_request__opened", "pull_request", "d-1") == 200
    assert await post(bot, "push", "push", "d-2", secret="wrong secret") == 401
    await fake_slack.wait_for(1)
    scrape = await (await bot.get("/metrics")).read()

    checked = subprocess.run(
        ["promtool", "check", "metrics"], input=scrape, capture_output=True, timeout=60
    )

    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    assert b"_created" not in scrape

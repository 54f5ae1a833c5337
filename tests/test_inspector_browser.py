"""The inspector in a real headless Chromium: log in, filter, replay, see the attempts.

Uses the system Chromium (CI installs it from the distribution's packages); Playwright's
own browser download is never needed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.intake.web import STORE
from tests.conftest import base_config, eventually, fixture_bytes, github_headers

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "inspector-token-Br0w"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no system Chromium at {CHROMIUM} (apt install chromium)"
    ),
]


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        await chromium.close()


async def post(bot, fixture: str, event: str, delivery: str) -> None:
    body = fixture_bytes(f"github/{fixture}.json")
    response = await bot.post(
        "/hooks/github", data=body, headers=github_headers(body, event, delivery)
    )
    assert response.status == 200


async def test_filter_and_replay_a_dead_delivery_in_a_browser(
    tmp_path, fake_slack, make_bot, browser
):
    bot = await make_bot(base_config(tmp_path, fake_slack.url, inspector={"token": TOKEN}))
    base = str(bot.make_url("/inspect"))
    await post(bot, "pull_request__opened", "pull_request", "d-1")
    await fake_slack.wait_for(1)
    fake_slack.fail_next(error="channel_not_found")
    await post(bot, "push", "push", "d-2")
    await post(bot, "ping", "ping", "d-3")
    fake_slack.fail_next(error="channel_not_found")
    await post(bot, "star__created", "star", "d-4")

    async def two_dead() -> bool:
        return len(await bot.app[STORE].dead_letters()) == 2

    assert await eventually(two_dead)

    page = await browser.new_page()

    # Logging in with the token: a cookie is set and the token leaves the address bar.
    await page.goto(f"{base}?token={TOKEN}")
    assert page.url == base
    assert await page.locator(".entry").count() == 4

    # Filtering: the status list applies itself (plain JavaScript), the text box on Enter.
    await page.select_option("select[name=state]", "failed")
    await page.wait_for_url("**state=failed**")
    assert await page.locator(".entry").count() == 2
    await page.fill("input[name=text]", "simple-tag")
    await page.press("input[name=text]", "Enter")
    await page.wait_for_url("**text=simple-tag**")
    entry = page.locator(".entry")
    assert await entry.count() == 1
    assert "push.tag" in await entry.inner_text()
    await page.select_option("select[name=source]", "github")
    await page.wait_for_url("**source=github**")
    assert await page.locator(".entry").count() == 1

    # Replay: the event goes back to the outbox and reaches the (now healthy) fake Slack.
    await page.locator(".entry").get_by_role("button", name="Replay").click()
    await page.wait_for_url("**notice=**")
    assert "Queued event 2.0 (1 deliveries)." in await page.get_by_role("status").inner_text()
    posts = await fake_slack.wait_for(2)
    assert "simple-tag" in posts[1].body["text"]

    # The page then shows both attempts: the dead one and the one that went through.
    async def delivered() -> bool:
        await page.goto(f"{base}?state=delivered&text=simple-tag")
        return await page.locator(".entry").count() == 1

    assert await eventually(delivered)
    await page.locator(".entry summary").click()
    attempts = page.locator("table.attempts tr")
    assert await attempts.count() == 3  # header, dead, sent
    assert "channel_not_found" in await attempts.nth(1).inner_text()
    assert "sent" in await attempts.nth(2).inner_text()

    # A dead letter is replayed from its own table.
    dead = page.locator("#dead-letters tr", has_text="4.0/eng")
    await dead.get_by_role("button", name="Replay").click()
    await page.wait_for_url("**notice=**")
    assert "Queued delivery 4.0/eng." in await page.get_by_role("status").inner_text()
    posts = await fake_slack.wait_for(3)
    assert "New star" in posts[2].title

    # Another browser without the cookie is turned away.
    stranger = await browser.new_page()
    response = await stranger.goto(base)
    assert response is not None and response.status == 401

"""The gallery in a real headless Chromium: every platform shows, a lifecycle's thread
and edits are there to see, hostile payload text stays text, and pictures are taken.

Uses the system Chromium (CI installs it from the distribution's packages); Playwright's
own browser download is never needed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.chat import registry
from bot.cli import gallery
from bot.config.settings import Settings
from bot.ops.gallery.shots import CHROMIUM, take
from tests.test_gallery import HOSTILE_LIFECYCLE, LIFECYCLES

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


@pytest.fixture
async def page_file(tmp_path) -> Path:
    wanted = (LIFECYCLES["pull-request"], LIFECYCLES["storm"], HOSTILE_LIFECYCLE)
    built = await gallery.build(Settings(), wanted, samples=False)
    path = tmp_path / "index.html"
    path.write_text(built.html("Gallery"), "utf-8")
    return path


async def test_the_gallery_shows_every_platform_a_thread_and_its_edits(browser, page_file):
    page = await browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await page.goto(page_file.as_uri())

    for name, platform in registry.PLATFORMS.items():
        section = page.locator(f"section[data-platform={name}]")
        assert await section.is_visible()
        assert platform.preview is not None
        assert await section.locator("h2").inner_text() == platform.preview.client

    pr = page.locator("#slack-lifecycle-pull-request")
    replies = pr.locator(".thread .slack-message")
    assert await replies.count() == 2
    assert "Review commented by Codertocat" in await replies.nth(0).inner_text()
    assert await pr.locator(".slack-edited").is_visible()
    earlier = pr.locator(".versions .version")
    assert not await earlier.first.is_visible()  # folded until asked for
    await pr.locator(".versions summary").click()
    assert await earlier.first.is_visible()
    assert "Opened by Codertocat" in await earlier.first.inner_text()

    hostile = page.locator("#discord-lifecycle-hostile")
    assert "<script>alert(1)</script>" in await hostile.inner_text()
    assert await page.locator(".channel script, .channel img, .channel iframe").count() == 0
    assert await hostile.locator("a[href^='javascript']").count() == 0
    assert dialogs == []


async def test_each_channel_becomes_a_small_picture(page_file, tmp_path):
    ids = ["slack-lifecycle-pull-request", "discord-lifecycle-storm"]
    pictures = await take(page_file, ids, tmp_path)
    assert [p.name for p in pictures] == [f"{i}.png" for i in ids]
    for picture in pictures:
        data = picture.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert 2_000 < len(data) < 300_000

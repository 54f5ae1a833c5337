"""Pictures of the gallery: each channel of the page as a PNG, taken by headless Chromium
through Playwright (``pip install 'bot[gallery]'``; the system's Chromium, never a
download)."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
WIDTH = 860


class ShotsUnavailable(Exception):
    """No pictures can be taken here; the message says what to install."""


async def take(page_file: Path, ids: list[str], out: Path, chromium: Path = CHROMIUM) -> list[Path]:
    """A PNG of each element ``ids`` names on the page, as ``out/<id>.png``."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        raise ShotsUnavailable(
            "--png needs Playwright: pip install 'bot[gallery]' (it drives the system's "
            "Chromium; no browser download)"
        ) from None
    if not chromium.exists():
        raise ShotsUnavailable(
            f"--png needs Chromium at {chromium}: install it (apt-get install chromium); "
            "the HTML page was written"
        )
    taken = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await browser.new_page(viewport={"width": WIDTH, "height": 900})
            await page.goto(page_file.resolve().as_uri())
            for ident in ids:
                path = out / f"{ident}.png"
                await page.locator(f"#{ident}").screenshot(path=str(path), animations="disabled")
                taken.append(path)
        finally:
            await browser.close()
    return taken

"""The gallery: every registered platform, lifecycles from the real pipeline, payload text
that stays text, and ``python -m bot gallery --out`` writing the page."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from bot.chat import registry
from bot.chat.platform import Platform, TargetKey
from bot.chat.slack.markup import SlackMarkup
from bot.cli import gallery
from bot.config.settings import Settings
from bot.core.pacing import Pace
from tests.processes import ROOT

HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> "
    '"><b>bold?</b> <!channel> @everyone [click](javascript:alert(3)) &amp; </div>'
)


def hostile(payload, start, now):
    """A real issues.opened whose title and body are an attacker's."""
    payload["issue"]["title"] = HOSTILE
    payload["issue"]["body"] = HOSTILE
    payload["issue"]["user"]["login"] = HOSTILE
    return payload


HOSTILE_LIFECYCLE = gallery.Lifecycle(
    "hostile",
    "A hostile issue",
    (gallery.Step(0, "github", "issues.opened", change=hostile, says="opened"),),
)
LIFECYCLES = {life.key: life for life in gallery.LIFECYCLES}


class Elements(HTMLParser):
    """Every start tag of a page, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(page)
    return parser.tags


def channel(page: str, ident: str) -> str:
    """The HTML of one channel box."""
    start = page.index(f'id="{ident}"')
    return page[start : page.index("</article>", start)]


@pytest.fixture(scope="session")
def page() -> str:
    wanted = (LIFECYCLES["pull-request"], LIFECYCLES["incident"], HOSTILE_LIFECYCLE)
    return asyncio.run(gallery.build(Settings(), wanted, samples=False)).html()


async def test_every_registered_platform_has_its_section(page):
    sections = re.findall(r'<section class="platform" id="([^"]+)"', page)
    assert sections == list(registry.PLATFORMS)


async def test_a_pull_request_is_one_edited_message_with_its_thread(page):
    slack = channel(page, "slack-lifecycle-pull-request")
    assert slack.count('class="shown"') == 1  # one message in the channel...
    assert "(edited)" in slack and "edited 1 time" in slack  # ...edited once...
    assert slack.count('class="slack-message"') == 1 + 1 + 2  # ...its first version, 2 replies
    assert "2 replies in the thread" in slack
    assert "Merged by Codertocat into master" in slack
    discord = channel(page, "discord-lifecycle-pull-request")
    assert "2 replies in the thread" in discord


async def test_teams_shows_one_card_per_state_since_a_webhook_cannot_edit(page):
    teams = channel(page, "teams-lifecycle-incident")
    assert teams.count('class="teams-card"') == 3
    assert "(edited)" not in teams and "thread" not in teams


async def test_the_replies_say_how_long_since_the_start(page):
    incident = channel(page, "slack-lifecycle-incident")
    assert "Acknowledged by PIG 208 · 3m after trigger" in incident
    assert "42m after trigger" in incident


async def test_hostile_payload_text_is_shown_never_run(page):
    tags = elements(page)
    assert [t for t, _ in tags if t in ("script", "img", "iframe", "object")] == []
    hrefs = [attrs.get("href") or "" for _, attrs in tags]
    assert not [h for h in hrefs if h.lower().startswith("javascript:")]
    assert not [attrs for _, attrs in tags if any(k.startswith("on") for k in attrs)]
    for platform in registry.PLATFORMS:
        shown = channel(page, f"{platform}-lifecycle-hostile")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown, platform


async def test_a_new_platform_appears_without_a_change_to_the_gallery():
    newcomer = Platform(
        name="pigeon",
        markup=SlackMarkup(),
        target_keys=(TargetKey("pigeon"),),
        pace=Pace(),
        adapter=lambda settings, session, directory, clock: NotImplemented,
        configured=lambda settings: False,
    )
    with registry.registered(newcomer):
        built = await gallery.build(Settings(), (LIFECYCLES["alert"],), samples=False)
        page = built.html()
    assert '<section class="platform" id="pigeon"' in page
    assert "pigeon has no preview yet" in page


def test_gallery_writes_the_page_of_every_sample_and_lifecycle(tmp_path):
    out = tmp_path / "shown"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "gallery",
            "--config",
            "config.example.toml",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    page = (out / "index.html").read_text("utf-8")
    assert f"on {len(registry.PLATFORMS)} platforms" in done.stdout
    for platform in registry.PLATFORMS:
        for life in gallery.LIFECYCLES:
            assert f'id="{platform}-lifecycle-{life.key}"' in page
    assert 'id="slack-stripe-charge-failed"' in page
    storm = channel(page, "slack-lifecycle-storm")
    assert "40 alerts" in storm
    assert "for 10 min" in channel(page, "discord-lifecycle-heartbeat")
    assert "held" in channel(page, "mattermost-lifecycle-quiet-hours").lower()
    assert done.stderr == ""


def test_gallery_says_why_it_cannot_write_where_asked(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "gallery", "--out", str(blocked / "sub")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "cannot create --out" in done.stderr and "choose another folder" in done.stderr

"""Every URL that reaches a message passes one check, on every platform: ``http(s)`` only,
no whitespace, control characters, ``<``, ``>`` or ``|``; otherwise the link is dropped
and the text it labelled is kept. Webhooks go in over a real socket, and the check is
read off what the fake Slack and the fake Discord were sent."""

from __future__ import annotations

import json

import pytest

from bot.core.links import safe_url
from tests.chats import posted
from tests.conftest import (
    DISCORD_WEBHOOK,
    base_config,
    discord_section,
    dumps,
    eventually,
    fixture_bytes,
    github_headers,
    posts_on,
)
from tests.senders import ALERTMANAGER_TOKEN, bearer
from tests.test_slack_commands import signed, slack_config, slash

HOSTILE_URLS = [
    "javascript:alert(1)",
    "!channel",
    "<!channel>",
    "https://ok.example/a|<!channel>",
    "https://ok.example/a\n[evil](https://evil.example/)",
    "https://ok.example/a [evil](https://evil.example/)",
    "https://ok.example/a\u2028b",
    "https://ok.example/a\x07b",
    "https://ok.example/a>b",
    "http://",
    "data:text/html,hi",
]
GOOD_URL = "https://runbooks.example/disk-full?panel=2#top"


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_a_hostile_url_is_not_linkable(url):
    assert safe_url(url) is None


def test_a_web_address_is_linkable():
    assert safe_url(GOOD_URL) == GOOD_URL
    assert safe_url("HTTP://Example.com/") == "HTTP://Example.com/"


def issue(number: int, url: str) -> bytes:
    return dumps(
        {
            "action": "opened",
            "issue": {"number": number, "title": f"issue {number}", "html_url": url, "labels": []},
            "repository": {"full_name": "a/b"},
            "sender": {"login": "mona"},
        }
    )


def push(number: int, urls: list[str]) -> bytes:
    """A push whose commits link to ``urls`` (the template shows up to five)."""
    commits = [
        {"id": f"{number}{i}aaaaaaa", "url": url, "message": f"commit {i}", "author": {"name": "m"}}
        for i, url in enumerate(urls)
    ]
    return dumps(
        {
            "ref": "refs/heads/main",
            "before": "0" * 40,
            "after": f"{number:040d}",
            "commits": commits,
            "repository": {"full_name": "a/b"},
            "pusher": {"name": "mona"},
            "sender": {"login": "mona"},
        }
    )


async def send_everything(bot) -> int:
    """Each hostile URL as an issue's link and as a pushed commit's link; then good ones."""
    requests = [("issues", issue(n, url)) for n, url in enumerate(HOSTILE_URLS)]
    requests += [("push", push(n, HOSTILE_URLS[n : n + 5])) for n in range(0, len(HOSTILE_URLS), 5)]
    requests += [("issues", issue(99, GOOD_URL)), ("push", push(99, [GOOD_URL]))]
    for number, (event, body) in enumerate(requests):
        headers = github_headers(body, event, f"links-{number}")
        assert (await bot.post("/hooks/github", data=body, headers=headers)).status == 200
    return len(requests)


def assert_no_hostile_link(text: str) -> None:
    assert "javascript:" not in text and "data:text" not in text
    assert "evil.example" not in text
    assert "<!channel" not in text and "|<!" not in text
    assert "\u2028" not in text and "\x07" not in text


async def test_slack_links_only_checked_urls(tmp_path, fake_slack, make_bot, clock):
    fake_slack.clock = clock.monotonic
    slack = {"bot_token": "xoxb-test-token", "api_url": fake_slack.url}
    bot = await make_bot(base_config(tmp_path, slack=slack), clock)
    count = await send_everything(bot)
    posts = await posts_on(fake_slack, count, clock, step=2.0)  # paced: one a second
    texts = [json.dumps(p.body, ensure_ascii=False) for p in posts]
    good = [t for t in texts if "issue 99" in t or "990aaaa" in t]
    for text in (t for t in texts if t not in good):
        assert_no_hostile_link(text)
        assert "ok.example" not in text  # dropped whole, not cut at the bad character
    assert all("issue " in t or "commit 0" in t for t in texts)  # the text itself is kept
    assert len(good) == 2 and all(f"<{GOOD_URL}|" in t for t in good)


async def test_discord_links_only_checked_urls(tmp_path, fake_discord, make_bot, clock):
    settings = base_config(
        tmp_path,
        discord=discord_section(fake_discord),
        targets={"hook": {"discord_webhook": DISCORD_WEBHOOK}},
        routes=[{"to": ["hook"]}],
    )
    settings["slack"] = {"bot_token": "", "api_url": ""}
    bot = await make_bot(settings, clock)
    count = await send_everything(bot)

    async def delivered():
        calls = fake_discord.delivered()
        return calls if len(calls) >= count else None

    calls = await eventually(delivered, clock=clock, step=2.0)
    embeds = [c.body["embeds"][0] for c in calls]
    good = [e for e in embeds if "issue 99" in e["title"] or "990aaaa" in str(e)]
    for embed in (e for e in embeds if e not in good):
        text = json.dumps(embed, ensure_ascii=False)
        assert "url" not in embed
        assert_no_hostile_link(text)
        assert "ok.example" not in text
    [linked_issue] = [e for e in good if "issue 99" in e["title"]]
    [linked_commit] = [e for e in good if e is not linked_issue]
    assert linked_issue["url"] == GOOD_URL
    assert f"]({GOOD_URL})" in json.dumps(linked_commit)


async def test_the_test_command_escapes_the_callers_display_name(tmp_path, fake_slack, make_bot):
    """A display name is the caller's to choose: ``<!channel>`` in it pings nobody."""
    config = slack_config(tmp_path, fake_slack.url, commands={"admins": ["U1"]})
    bot = await make_bot(config)
    form = slash("test").replace(b"user_name=u1", b"user_name=%3C%21channel%3E+%40everyone")
    response = await bot.post("/slack/commands", data=form, headers=signed(form))
    assert response.status == 200 and "queued" in (await response.json())["text"]
    [post] = await fake_slack.wait_for(1)
    text = fake_slack.text_of(post)
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text


SPLIT_URL = "https://ok.example/d\nRunbook: https://evil.example/runbook"
"""The attack on a ``Label: url`` list of buttons: a newline inside one payload URL
splits off a second line that reads as a button of its own, pointing anywhere."""


def alert_with(annotations: dict[str, str], generator: str) -> bytes:
    """One firing alert of Alertmanager's webhook (Zulip's fixture) with these links."""
    payload = json.loads(fixture_bytes("alertmanager/resolved__single_alert.json"))
    payload["status"] = payload["alerts"][0]["status"] = "firing"
    payload["alerts"][0]["annotations"].update(annotations)
    payload["alerts"][0]["generatorURL"] = generator
    return dumps(payload)


async def test_a_newline_in_a_url_makes_no_second_button(tmp_path, poster, make_bot, clock):
    """Each URL is checked whole before anything could split it: a dashboard and a
    graph whose URLs hide a second ``Label: url`` line give no button at all, on every
    platform, while the clean runbook next to them still does, once."""
    settings = base_config(tmp_path, **poster.config())
    settings["targets"] = {"eng": poster.target("eng")}
    settings["routes"] = [{"to": ["eng"]}]
    settings["sources"]["prom"] = {"provider": "alertmanager", "token": ALERTMANAGER_TOKEN}
    bot = await make_bot(settings, clock)
    body = alert_with(
        {"runbook_url": GOOD_URL, "dashboard_url": SPLIT_URL},
        "http://cobalt:9090/graph?g0.expr=up\r\nSilence: https://evil.example/silence",
    )
    response = await bot.post("/hooks/prom", data=body, headers=bearer(ALERTMANAGER_TOKEN))
    assert response.status == 200, await response.text()
    await posted(poster.posts, 1, 10, clock, step=0.25)  # after group_wait, in fake time
    [links] = poster.links("eng")
    assert not [url for _, url in links if "ok.example" in url or "evil.example" in url]
    assert [url for _, url in links if url == GOOD_URL] == [GOOD_URL]
    assert not [label for label, _ in links if label in ("Dashboard", "Graph", "Silence")]
    [shown] = poster.shown("eng")
    assert "evil.example" not in shown

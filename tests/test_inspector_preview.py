"""The inspector's preview of one event: behind the inspector's access, every platform,
drawn from what the adapters would send, with payload text escaped."""

from __future__ import annotations

from bot.chat import registry
from tests.conftest import base_config, github_headers, issue_body
from tests.test_gallery import HOSTILE

TOKEN = "inspector-token-Pv93"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def test_an_event_links_to_its_preview_in_every_chat(tmp_path, fake_slack, make_bot):
    bot = await make_bot(base_config(tmp_path, fake_slack.url, inspector={"token": TOKEN}))
    body = issue_body(7, title=HOSTILE)
    response = await bot.post(
        "/hooks/github", data=body, headers=github_headers(body, "issues", "d-1")
    )
    assert response.status == 200
    await fake_slack.wait_for(1)

    listing = await (await bot.get("/inspect", headers=BEARER)).text()
    assert 'href="/inspect/preview/1.0"' in listing

    refused = await bot.get("/inspect/preview/1.0")
    assert refused.status == 401
    assert "script" not in await refused.text()

    shown = await bot.get("/inspect/preview/1.0", headers=BEARER)
    assert shown.status == 200
    assert "script-src 'nonce-" in shown.headers["Content-Security-Policy"]
    page = await shown.text()
    for name in registry.PLATFORMS:
        assert f'<section class="platform" id="{name}"' in page
        assert f'id="{name}-event"' in page
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # The preview posts nothing: the fake Slack saw only the real delivery.
    assert len(fake_slack.posts()) == 1


async def test_a_preview_of_an_unknown_event_says_so(tmp_path, fake_slack, make_bot):
    bot = await make_bot(base_config(tmp_path, fake_slack.url, inspector={"token": TOKEN}))
    response = await bot.get("/inspect/preview/99.0", headers=BEARER)
    assert response.status == 404
    assert "no event '99.0'" in await response.text()

"""Every GitHub example payload of the public octokit collection, through the real intake.

The collection (``@octokit/webhooks-examples``, MIT) is fetched with ``npm pack`` into a
temporary folder when the test runs, never committed. Each distinct example is posted,
signed, to a running bot; each must be accepted, then either rendered (an event with a
message whose template did not fail) or recorded as ignored, never dead; every event
made, those ignored by default included, renders a headline and a title.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile

import pytest

from bot.chat.registry import markups
from bot.config.settings import source_config
from bot.intake.web import STORE
from bot.providers import github
from bot.providers.base import WebhookRequest
from bot.render.renderer import Renderer
from tests.conftest import base_config, eventually, github_headers

PACKAGE = "@octokit/webhooks-examples@7"


@pytest.fixture(scope="session")
def octokit_examples(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, bytes]]:
    """(X-GitHub-Event, body) for every distinct example of every GitHub flavour."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(
            f"npm is not installed; this test fetches the examples with `npm pack {PACKAGE}`"
        )
    folder = tmp_path_factory.mktemp("octokit")
    try:
        packed = subprocess.run(
            [npm, "pack", PACKAGE, "--pack-destination", str(folder), "--silent"],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm pack {PACKAGE} took over 3 minutes (no registry access?)")
    tarballs = list(folder.glob("*.tgz"))
    if packed.returncode != 0 or not tarballs:
        reason = (packed.stderr.strip().splitlines() or ["no tarball"])[-1]
        pytest.skip(f"npm pack {PACKAGE} failed (no registry access?): {reason}")
    with tarfile.open(tarballs[0]) as tarball:
        tarball.extractall(folder, filter="data")
    examples: dict[tuple[str, bytes], None] = {}
    for index in sorted((folder / "package").glob("*/index.json")):
        for entry in json.loads(index.read_text(encoding="utf-8")):
            for example in entry["examples"]:
                examples[(entry["name"], json.dumps(example).encode())] = None
    assert len(examples) > 300, "the collection shrank: check the package layout"
    return list(examples)


@pytest.mark.slow
async def test_every_octokit_example_is_rendered_or_recorded_as_ignored(
    tmp_path, make_bot, octokit_examples
):
    # Slack is not configured: rendered messages wait as dead letters, which is enough
    # to see that each one rendered.
    bot = await make_bot(base_config(tmp_path))
    accepted: dict[int, tuple[str, dict]] = {}
    for number, (event, body) in enumerate(octokit_examples):
        headers = github_headers(body, event, f"octokit-{number}")
        response = await bot.post("/hooks/github", data=body, headers=headers)
        answer = await response.json()
        assert (response.status, answer["status"]) == (200, "accepted"), (event, answer)
        accepted[int(answer["id"])] = (event, json.loads(body))

    store = bot.app[STORE]

    async def settled() -> bool:
        counts = await store.counts()
        finished = sum(counts.get(f"inbox_{state}", 0) for state in ("done", "ignored", "dead"))
        return finished == len(accepted)

    assert await eventually(settled, timeout=180), await store.counts()
    assert not (await store.counts()).get("inbox_dead"), await store.dead_letters()

    rendered = ignored = 0
    for inbox_id, (event, payload) in accepted.items():
        records = await store.events_of(inbox_id)
        if not records:
            ignored += 1
            continue
        action = payload.get("action")
        assert f"{event}.{action}" in github.HANDLERS or event in github.HANDLERS, event
        for record in records:
            for delivery in await store.deliveries_for(record.id):
                assert not delivery.message["text"].startswith("event received; template"), (
                    event,
                    action,
                    delivery.message["text"],
                )
        rendered += 1
    assert rendered and ignored, (rendered, ignored)


@pytest.mark.slow
def test_every_octokit_event_renders_a_headline_even_those_ignored_by_default(octokit_examples):
    # A route may name any event ignored by default: each must still read well.
    renderer = Renderer(markups=markups())
    source = source_config(provider="github", secret="s")
    seen = {"posted": 0, "ignored by default": 0}
    for kind, body in octokit_examples:
        request = WebhookRequest({"x-github-event": kind}, body)
        for event in github.normalize("gh", source, request, json.loads(body)):
            ignored = github.PROVIDER.ignored_entry(event.event) is not None
            seen["ignored by default" if ignored else "posted"] += 1
            for platform in ("slack", "discord"):
                message = renderer.render(event, platform)
                assert not message.text.startswith("event received; template"), (kind, event)
                assert message.headline and message.title, (kind, event.event)
    assert all(seen.values()), seen

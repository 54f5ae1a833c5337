"""GitHub: the documented signature vector, and each supported event from real payloads."""

from __future__ import annotations

import json

import pytest

from bot.chat.registry import markups
from bot.config.settings import source_config
from bot.core.errors import VerificationError
from bot.providers import github
from bot.providers.base import WebhookRequest
from bot.render.renderer import Renderer
from tests.conftest import fixture_bytes

SOURCE = source_config(provider="github", secret="It's a Secret to Everybody")


def request(event: str, body: bytes, signature: str | None = None) -> WebhookRequest:
    headers = {"x-github-event": event, "content-type": "application/json"}
    if signature is not None:
        headers["x-hub-signature-256"] = signature
    return WebhookRequest(headers, body)


def test_documented_test_vector_verifies():
    # From GitHub's "Validating webhook deliveries" page.
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    github.verify(SOURCE, request("push", b"Hello, World!", signature), 0)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "missing X-Hub-Signature-256"),
        ("sha256=" + "0" * 64, "does not match"),
        ("sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "does not"),
    ],
)
def test_bad_signatures_are_refused(signature, reason):
    with pytest.raises(VerificationError, match=reason):
        github.verify(SOURCE, request("push", b"Hello, World!", signature), 0)


def test_rotation_accepts_old_and_new_secret():
    rotating = source_config(provider="github", secret=["brand new", "It's a Secret to Everybody"])
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    github.verify(rotating, request("push", b"Hello, World!", signature), 0)


def normalize(fixture: str, event: str, edit=None):
    payload = json.loads(fixture_bytes(f"github/{fixture}.json"))
    if edit:
        edit(payload)
    body = json.dumps(payload).encode()
    return github.normalize("gh", SOURCE, request(event, body), payload)


def merge(payload):
    # The octokit collection has no merged PR; a merge is a close with merged = true.
    payload["pull_request"]["merged"] = True


@pytest.mark.parametrize(
    ("fixture", "header", "edit", "event", "expected"),
    [
        (
            "pull_request__opened",
            "pull_request",
            None,
            "pull_request.opened",
            {
                "status": "open",
                "thread_key": "github:Codertocat/Hello-World#pr2",
                "url": "https://github.com/Codertocat/Hello-World/pull/2",
            },
        ),
        (
            "pull_request__closed",
            "pull_request",
            merge,
            "pull_request.merged",
            {"status": "resolved"},
        ),
        (
            "pull_request__closed",
            "pull_request",
            None,
            "pull_request.closed",
            {"status": "resolved"},
        ),
        ("push", "push", None, "push.tag", {"labels": {"tag": "simple-tag"}}),
        (
            "issues__opened",
            "issues",
            None,
            "issues.opened",
            {"thread_key": "github:Codertocat/Hello-World#issue1"},
        ),
        ("release__published", "release", None, "release.published", {}),
        (
            "workflow_run__completed",
            "workflow_run",
            None,
            "workflow_run.succeeded",
            {"severity": "info"},
        ),
        (
            "check_run__completed_failure",
            "check_run",
            None,
            "check_run.failed",
            {"severity": "error"},
        ),
        (
            "deployment_status__success",
            "deployment_status",
            None,
            "deployment_status.success",
            {"status": "resolved"},
        ),
        ("star__created", "star", None, "star.created", {}),
    ],
)
def test_supported_events_normalize(fixture, header, edit, event, expected):
    [normalized] = normalize(fixture, header, edit)
    assert normalized.event == event
    assert normalized.labels["repo"]
    assert normalized.actor
    for key, value in expected.items():
        actual = getattr(normalized, key)
        if isinstance(value, dict):
            assert value.items() <= actual.items()
        else:
            assert actual == value


def test_branch_push_lists_commits():
    def branch(payload):
        payload["ref"] = "refs/heads/main"
        payload["commits"] = [
            {
                "id": "abc1234def",
                "message": "Fix the thing\n\nbody",
                "url": "https://github.com/o/r/commit/abc1234def",
                "author": {"name": "Mona", "username": "mona"},
            }
        ]

    [event] = normalize("push", "push", branch)
    assert event.event == "push"
    assert event.labels["branch"] == "main"
    assert event.text == "Fix the thing"


def test_failed_workflow_is_an_error():
    def fail(payload):
        payload["workflow_run"]["conclusion"] = "failure"

    [event] = normalize("workflow_run__completed", "workflow_run", fail)
    assert (event.event, event.severity) == ("workflow_run.failed", "error")


@pytest.mark.parametrize(("fixture", "header"), [("ping", "ping"), ("push", "workflow_job")])
def test_pings_and_events_without_a_handler_are_ignored(fixture, header):
    assert normalize(fixture, header) == []


def test_form_encoded_payload_is_accepted():
    body = b"payload=%7B%22zen%22%3A%22Keep+it+logically+awesome.%22%7D"
    hook = WebhookRequest({"content-type": "application/x-www-form-urlencoded"}, body)
    assert hook.json() == {"zen": "Keep it logically awesome."}


def test_push_with_an_empty_commit_message_still_renders():
    # git commit --allow-empty-message: the push must not be lost to an IndexError.
    def empty(payload):
        payload["ref"] = "refs/heads/main"
        payload["commits"] = [{"id": "abc1234def", "message": "", "author": {"name": "M"}}]

    [event] = normalize("push", "push", empty)
    assert event.text == ""
    message = Renderer(markups=markups()).render(event, "slack")
    assert not message.text.startswith("event received; template")


def test_push_headlines_name_the_tag_and_never_say_zero_commits():
    renderer = Renderer(markups=markups())

    def headline(edit=None) -> tuple[str, str]:
        [event] = normalize("push", "push", edit)
        message = renderer.render(event, "slack")
        return message.headline, message.title

    def empty(payload):
        payload["ref"] = "refs/heads/main"
        payload["commits"] = []

    def forced(payload):
        empty(payload)
        payload["forced"] = True

    assert headline() == ("🏷️ Codertocat pushed tag simple-tag", "Codertocat/Hello-World:simple-tag")
    assert headline(empty) == ("🔵 Codertocat pushed to main", "Codertocat/Hello-World:main")
    assert headline(forced)[0] == "🔵 Codertocat force-pushed to main"

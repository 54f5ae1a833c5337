"""GitLab: the secret token in constant time, delivery ids, and each handler on real
payloads (Zulip's GitLab fixtures, see bot/providers/SAMPLES.md) through the real intake."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.config.settings import source_config
from bot.core.errors import VerificationError
from bot.providers import gitlab
from bot.providers.base import WebhookRequest
from tests.conftest import base_config, fixture_bytes
from tests.senders import GITLAB_TOKEN
from tests.senders import gitlab as gitlab_headers

SOURCE = source_config(provider="gitlab", secret=GITLAB_TOKEN)


def request(body: bytes = b"{}", **headers: str) -> WebhookRequest:
    return WebhookRequest({k.lower(): v for k, v in headers.items()}, body)


def test_the_secret_token_is_accepted():
    gitlab.verify(SOURCE, request(**gitlab_headers("Push Hook")), 0)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing X-Gitlab-Token .*Secret token"),
        ({"X-Gitlab-Token": "guess"}, "does not match the configured secret"),
        ({"X-Gitlab-Token": GITLAB_TOKEN + " "}, "does not match"),
    ],
)
def test_a_wrong_or_missing_token_is_refused(headers, reason):
    with pytest.raises(VerificationError, match=reason):
        gitlab.verify(SOURCE, request(**headers), 0)


def test_rotation_accepts_the_old_and_the_new_token():
    rotating = source_config(provider="gitlab", secret=["brand-new", GITLAB_TOKEN])
    gitlab.verify(rotating, request(**gitlab_headers("Push Hook")), 0)
    gitlab.verify(rotating, request(**gitlab_headers("Push Hook", token="brand-new")), 0)


def test_gitlab_takes_only_a_secret():
    with pytest.raises(ValueError, match="gitlab cannot use token; give secret"):
        source_config(provider="gitlab", token="t")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Idempotency-Key": "idem-1", "X-Gitlab-Event-UUID": "uuid-1"}, "idem-1"),
        ({"X-Gitlab-Event-UUID": "uuid-1"}, "uuid-1"),
        ({}, "sha256:"),
    ],
)
def test_delivery_id_prefers_the_retry_stable_key(headers, expected):
    assert gitlab.delivery_id(request(**headers), None).startswith(expected)


def normalize(fixture: str, **changes: Any):
    payload = json.loads(fixture_bytes(f"gitlab/{fixture}.json"))
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = payload
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[last] = value
    return gitlab.normalize("gl", SOURCE, request(json.dumps(payload).encode()), payload)


MR = "merge_request_hook__merge_request_merged"
MR_KEY = "gitlab:tomaszkolek0/my-awesome-project!3"
PIPELINE = "pipeline_hook__pipeline_succeeded"
PIPELINE_KEY = "gitlab:TomaszKolek/my-awesome-project:pipeline:master"


@pytest.mark.parametrize(
    ("fixture", "changes", "expected"),
    [
        ("push_hook", {}, {"event": "push", "labels": {"branch": "tomek"}, "text": "b\nc"}),
        ("tag_push_hook__add_tag", {}, {"event": "push.tag", "labels": {"tag": "xyz"}}),
        (MR, {}, {"event": "merge_request.merged", "status": "resolved", "thread_key": MR_KEY}),
        (
            MR,
            {"object_attributes__action": "open", "object_attributes__state": "opened"},
            {"event": "merge_request.opened", "status": "open", "text": "updated desc"},
        ),
        (
            MR,
            {"object_attributes__action": "close", "object_attributes__state": "closed"},
            {"event": "merge_request.closed", "status": "resolved", "thread_key": MR_KEY},
        ),
        (
            MR,
            {"object_attributes__action": "approved"},
            {"event": "merge_request.approved", "status": None, "thread_key": MR_KEY},
        ),
        # GitLab sets oldrev on an update only when commits were pushed; the fixture is
        # of a merge, so the update is made here.
        (
            MR,
            {"object_attributes__action": "update", "object_attributes__oldrev": "5fcdd555"},
            {"event": "merge_request.new_commits", "status": None, "text": "new"},
        ),
        (
            PIPELINE,
            {"object_attributes__status": "failed", "builds__0__status": "failed"},
            {
                "event": "pipeline.failed",
                "severity": "error",
                "status": "open",
                "thread_key": PIPELINE_KEY,
                "text": "Failed jobs: job_name2",
            },
        ),
        (
            PIPELINE,
            {},
            {"event": "pipeline.succeeded", "status": "resolved", "thread_key": PIPELINE_KEY},
        ),
        (
            "job_hook__build_succeeded",
            {"build_status": "failed", "build_allow_failure": False},
            {"event": "job.failed", "severity": "error", "status": None},
        ),
        (
            "job_hook__build_succeeded",
            {"build_status": "failed"},
            {"event": "job.failed", "severity": "warning"},
        ),
        (
            "issue_hook__issue_created_without_assignee",
            {},
            {
                "event": "issue.opened",
                "status": "open",
                "thread_key": "gitlab:tomaszkolek0/my-awesome-project#1",
            },
        ),
        (
            "note_hook__merge_request_note",
            {},
            {
                "event": "note.created",
                "thread_key": "gitlab:sbansal1999/testing-zulip-gitlab-integration!1",
                "text": "I am not sure if this new feature is even required or not.",
            },
        ),
        ("release_hook__create", {}, {"event": "release.published", "labels": {"tag": "v1.1"}}),
        (
            "deployment_hook__failed",
            {},
            {"event": "deployment.failed", "severity": "error", "status": "resolved"},
        ),
        ("deployment_hook__succeeded", {}, {"event": "deployment.success", "severity": "info"}),
    ],
)
def test_supported_events_normalize(fixture, changes, expected):
    [event] = normalize(fixture, **changes)
    assert event.labels["project"]
    assert event.url and event.url.startswith("https://")
    for key, value in expected.items():
        actual = getattr(event, key)
        if isinstance(value, dict):
            assert value.items() <= actual.items()
        else:
            assert actual == value


def test_pipeline_jobs_and_recovery_share_the_refs_conversation():
    [failed] = normalize(PIPELINE, object_attributes__status="failed")
    # GitLab's documented job hook carries a project object with its path, as pipeline
    # hooks do; the collection's older body names the project only for display.
    project = {"path_with_namespace": "TomaszKolek/my-awesome-project"}
    [job] = normalize("job_hook__build_succeeded", build_status="failed", project=project)
    [recovered] = normalize(PIPELINE)
    assert failed.thread_key == recovered.thread_key == job.thread_key == PIPELINE_KEY


def test_gitlab_documentations_comment_replies_in_its_merge_requests_thread():
    """The comment on a merge request from GitLab's "Webhook events" page."""
    [event] = normalize("note_hook__comment_on_merge_request")
    assert event.event == "note.created"
    assert event.thread_key == "gitlab:gitlab-org/gitlab-test!1"
    assert event.title == (
        "[gitlab-org/gitlab-test] New comment on !1: Tempora et eos debitis quae laborum et."
    )
    assert event.text == "This MR needs work."
    assert event.actor == "root"
    # GitLab writes most of its times as "2015-05-17 18:21:36 UTC": read, not made now.
    assert event.occurred_at.isoformat() == "2015-05-17T18:21:36+00:00"


@pytest.mark.parametrize(
    ("fixture", "changes", "occurred"),
    [
        (PIPELINE, {"object_attributes__status": "failed"}, "2016-09-28T20:22:34+00:00"),
        (MR, {}, "2016-08-22T20:41:06+00:00"),
        ("deployment_hook__failed", {}, "2025-05-02T12:30:19+00:00"),
    ],
)
def test_gitlabs_times_are_when_it_happened(fixture, changes, occurred):
    [event] = normalize(fixture, **changes)
    assert event.occurred_at.isoformat() == occurred


@pytest.mark.parametrize(
    ("fixture", "changes"),
    [
        (MR, {"object_attributes__action": "update"}),  # an edit, no new commits
        # An edited comment (action "update" since GitLab 16.11) was posted when made.
        ("note_hook__comment_on_merge_request", {"object_attributes__action": "update"}),
        (PIPELINE, {"object_attributes__status": "running"}),
        ("job_hook__build_succeeded", {}),
        ("issue_hook__issue_created_without_assignee", {"object_attributes__action": "update"}),
        ("push_hook", {"after": "0" * 40}),  # a deleted branch
        ("tag_push_hook__add_tag", {"after": "0" * 40}),  # a removed tag
        ("note_hook__merge_request_note", {"object_attributes__system": True}),
        ("release_hook__create", {"action": "delete"}),
    ],
)
def test_noise_is_accepted_and_ignored(fixture, changes):
    assert normalize(fixture, **changes) == []


async def test_merge_request_story_is_one_slack_conversation(make_bot, tmp_path, fake_slack):
    """Opened, approved, new commits, merged: one message, edited to merged, with the
    approval and the new commits as replies in its thread."""
    config = base_config(tmp_path, fake_slack.url)
    config["sources"] = {"gitlab": {"provider": "gitlab", "secret": GITLAB_TOKEN}}
    bot = await make_bot(config)
    payload = json.loads(fixture_bytes(f"gitlab/{MR}.json"))
    steps = [
        ("open", "opened", "20:30", None),
        ("approved", "opened", "20:35", None),
        # GitLab sets oldrev on an update only when commits were pushed (see above).
        ("update", "opened", "20:38", "5fcdd5551e0cf5e6a22f3e87e6bd5da52bbd7a6b"),
        ("merge", "merged", "20:41", None),
    ]
    for number, (action, state, at, oldrev) in enumerate(steps):
        when = f"2016-08-22 {at}:00 UTC"
        payload["object_attributes"].update(action=action, state=state, updated_at=when)
        payload["object_attributes"].pop("oldrev", None)
        if oldrev:
            payload["object_attributes"]["oldrev"] = oldrev
        body = json.dumps(payload).encode()
        headers = gitlab_headers("Merge Request Hook", uuid=f"mr-{number}")
        response = await bot.post("/hooks/gitlab", data=body, headers=headers)
        assert response.status == 200, await response.text()
    await fake_slack.wait_for(3, "chat.postMessage")
    await fake_slack.wait_for(1, "chat.update")
    posts = fake_slack.posts("chat.postMessage")
    roots = [p for p in posts if "thread_ts" not in p.body]
    assert len(roots) == 1
    assert "New Merge Request" in json.dumps(roots[0].body)
    root_ts = fake_slack.posts("chat.update")[-1].body["ts"]
    replies = [p.body["text"] for p in posts if p.body.get("thread_ts") == root_ts]
    assert any(r.startswith("🔵 New commits pushed by tomaszkolek0 to tomek") for r in replies)
    assert (
        fake_slack.posts("chat.update")[-1].body["text"] == "🟣 Merged by tomaszkolek0 into master"
    )


async def test_a_failed_pipeline_and_its_recovery_are_one_slack_conversation(
    make_bot, tmp_path, fake_slack
):
    """A pipeline fails on master, then the next one succeeds: one message, edited to the
    success, never a second post for the recovery."""
    config = base_config(tmp_path, fake_slack.url)
    config["sources"] = {"gitlab": {"provider": "gitlab", "secret": GITLAB_TOKEN}}
    bot = await make_bot(config)
    payload = json.loads(fixture_bytes(f"gitlab/{PIPELINE}.json"))
    steps = [("failed", "failed", "2016-08-22 20:30:00 UTC"), ("success", "success", None)]
    for number, (status, build, finished) in enumerate(steps):
        payload["object_attributes"].update(status=status, id=31 + number)
        payload["object_attributes"]["finished_at"] = finished or "2016-08-22 20:45:00 UTC"
        payload["builds"][0]["status"] = build
        headers = gitlab_headers("Pipeline Hook", uuid=f"pipeline-{number}")
        response = await bot.post("/hooks/gitlab", data=json.dumps(payload), headers=headers)
        assert response.status == 200, await response.text()
    [update] = await fake_slack.wait_for(1, "chat.update")
    roots = [p for p in fake_slack.posts("chat.postMessage") if "thread_ts" not in p.body]
    assert len(roots) == 1
    assert roots[0].body["text"] == "❌ Pipeline #31 failed on master · TomaszKolek"
    posted_ts = next(
        ts for (_, ts), seen in fake_slack.messages.items() if seen[0] == roots[0].body
    )
    assert update.body["ts"] == posted_ts  # the failure's message, edited
    assert update.body["text"] == "✅ Pipeline #32 succeeded on master · TomaszKolek"

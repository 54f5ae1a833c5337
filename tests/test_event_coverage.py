"""Coverage: every event people expect from GitHub, Stripe and PagerDuty makes a message a
person would want, or is ignored by default for a reason ``explain`` states (a route
naming the event posts it); an action or type the bot has no words for still makes a
generic message. Real bodies: the shipped samples (``bot/providers/SAMPLES.md``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.chat.registry import markups
from bot.cli import simulate
from bot.cli.outcome import outcome
from bot.commands import Caller
from bot.config.settings import Settings, source_config
from bot.core.events import Event
from bot.intake.web import COMMANDS, STORE
from bot.pipeline.conversations import thread_reply
from bot.pipeline.route import Router
from bot.providers import PROVIDERS
from bot.providers.base import WebhookRequest
from bot.render.outcomes import GREEN, GREY
from bot.render.renderer import Message, Renderer
from tests.conftest import base_config, dumps, eventually, fixture_bytes, github_headers
from tests.test_explain import explain

SECRETS = {"github": "s", "stripe": "whsec_s", "pagerduty": "s"}
NOW = 1_700_000_000.0


def sample(provider: str, name: str) -> tuple[dict[str, str], dict[str, Any]]:
    """A shipped sample as ``simulate`` sends it: its headers and its body."""
    fresh = simulate.fresh(provider, name, NOW)
    return {k.lower(): v for k, v in fresh.headers.items()}, json.loads(fresh.body)


def normalized(provider: str, headers: dict[str, str], payload: dict[str, Any]) -> list[Event]:
    source = source_config(provider=provider, secret=SECRETS[provider])
    request = WebhookRequest(headers, dumps(payload))
    return PROVIDERS[provider].normalize("src", source, request, payload)


def render(event: Event) -> Message:
    message = Renderer(markups=markups()).render(event, "slack")
    assert not message.text.startswith("event received; template"), message.text
    return message


@pytest.mark.parametrize(
    ("provider", "name", "headline", "title"),
    [
        ("github", "pull_request.assigned", "Assigned to Codertocat by Codertocat", "#2 Update"),
        ("github", "pull_request.synchronize", "New commits pushed to changes by Codertocat", "#2"),
        ("github", "pull_request.auto_merge_enabled", "Auto-merge enabled by tushar912", "#1"),
        ("github", "pull_request.locked", "Conversation locked by Codertocat · off-topic", "#2"),
        (
            "github",
            "pull_request_review_comment.created",
            "Codertocat commented on README.md",
            "#2 Update the README",
        ),
        ("github", "commit_comment.created", "Codertocat commented on commit 6113728", "@6113728"),
        ("github", "deployment.created", "Deploy to production requested by Codertocat", "master"),
        ("github", "deployment_status.failure", "Deploy to production: failure", "master"),
        ("github", "status.failure", "default failed on 6113728", "Initial commit"),
        ("github", "discussion.created", "New discussion by Codertocat in General", "#90 Welcome"),
        ("github", "discussion_comment.created", "Codertocat commented", "#90 Welcome"),
        ("github", "gollum", "Wiki page Home edited by rachmari", "Hello-World wiki"),
        ("github", "member.added", "hacktocat added as a collaborator by hacktocat", "Hello-World"),
        ("github", "membership.added", "Codertocat added to team github by Codertocat", "github"),
        ("github", "public", "Made public by Codertocat", "Codertocat/Hello-World"),
        ("github", "repository.renamed", "Renamed from Hello-World by Codertocat", "Octocoders/"),
        ("github", "team.added_to_repository", "Team github given access to Octocoders/", "github"),
        ("github", "issues.opened", "Opened by Codertocat", "Issue #1: Spelling error in the"),
        (
            "github",
            "issue_comment.created",
            "Codertocat commented on issue #1",
            "Issue #1: Spelling",
        ),
        ("stripe", "customer.created", "Customer created · example@abc.com", "example@abc.com"),
        ("stripe", "customer.deleted", "Customer deleted", "cus_"),
        ("stripe", "customer.subscription.trial_will_end", "Subscription trial will end", "20.00"),
        ("stripe", "charge.dispute.closed", "Dispute won · 10.01 AUD", "Dispute won"),
        ("stripe", "refund.created", "Refund created · 300,000.00 INR", "Refund of 300,000.00"),
        ("stripe", "refund.failed", "Refund failed · 300,000.00 INR", "Refund of 300,000.00"),
        ("stripe", "customer.discount.created", "Customer discount created", "discount created"),
        (
            "pagerduty",
            "incident.status_update_published",
            "Status update by Harsh Santwani",
            "Critical: Checkout API High Latency",
        ),
        (
            "pagerduty",
            "incident.responder.added",
            "Response requested from Harsh Santwani by Harsh Santwani",
            "Checkout API",
        ),
        (
            "pagerduty",
            "incident.responder.replied",
            "Harsh Santwani accepted the request to respond",
            "Checkout API",
        ),
        (
            "pagerduty",
            "incident.conference_bridge.updated",
            "Conference bridge set by Harsh Santwani",
            "Checkout API",
        ),
        ("pagerduty", "incident.workflow.started", "Workflow Incident WorkFlow started", "API"),
        ("pagerduty", "incident.workflow.completed", "Workflow Incident WorkFlow completed", "API"),
        ("pagerduty", "incident.service_updated", "Moved to service APIs by Harsh", "#5 Critical"),
        ("pagerduty", "service.created", "Service created by Admin User", "Test Service"),
    ],
)
def test_each_expected_event_makes_a_message_that_says_what_happened(
    provider, name, headline, title
):
    [event] = normalized(provider, *sample(provider, name))
    assert event.event == name
    assert PROVIDERS[provider].ignored_entry(event.event) is None
    message = render(event)
    assert headline in message.headline
    assert title in message.title


def test_replies_in_a_conversation_say_what_was_said():
    [update] = normalized("pagerduty", *sample("pagerduty", "incident.status_update_published"))
    [comment] = normalized("github", *sample("github", "pull_request_review_comment.created"))
    assert update.thread_key == "pagerduty:Q3B15VLMF3ASBD"
    assert render(update).reply.startswith("💬 Status update by Harsh Santwani: Investigating")
    assert render(comment).reply == (
        "💬 Codertocat on README.md: Maybe you should use more emoji on this line."
    )


@pytest.mark.parametrize(
    ("provider", "name", "entry", "why"),
    [
        ("github", "status.success", "status.success", "failures are posted"),
        ("stripe", "customer.updated", "customer.updated", "any change of a customer"),
        ("stripe", "invoice.created", "invoice.created", "a draft"),
        ("stripe", "invoiceitem.created", "invoiceitem.*", "the lines of an invoice"),
        ("stripe", "charge.refund.updated", "charge.refund.updated", "older name"),
    ],
)
def test_noise_is_made_and_rendered_but_ignored_by_default_with_its_reason(
    provider, name, entry, why
):
    [event] = normalized(provider, *sample(provider, name))
    assert PROVIDERS[provider].ignored_entry(event.event) == entry
    assert why in PROVIDERS[provider].ignored_by_default[entry]
    assert render(event).headline  # a route that names it posts a real message


def github_edit(name: str, **top: Any) -> list[Event]:
    headers, payload = sample("github", name)
    payload.update(top)
    return normalized("github", headers, payload)


@pytest.mark.parametrize(
    ("provider", "events", "name", "headline"),
    [
        (
            "github",
            lambda: github_edit("pull_request.synchronize", action="enqueued"),
            "pull_request.enqueued",
            "Enqueued by Codertocat",
        ),
        (
            "github",
            lambda: github_edit("discussion.created", action="transferred"),
            "discussion.transferred",
            "Transferred by Codertocat",
        ),
        (
            "stripe",
            lambda: stripe_as("invoice.created", "invoice.finalized"),
            "invoice.finalized",
            "Invoice finalized · 0.00 INR",
        ),
        (
            "stripe",
            lambda: stripe_as("customer.created", "customer.source.expiring"),
            "customer.source.expiring",
            "Customer source expiring",
        ),
        (
            "pagerduty",
            lambda: pagerduty_as("incident.service_updated", "incident.custom_fields.updated"),
            "incident.custom_fields.updated",
            "Custom fields updated by Harsh Santwani",
        ),
        (
            "pagerduty",
            lambda: pagerduty_as("incident.responder.added", "incident.responder.removed"),
            "incident.responder.removed",
            "Responder removed by Harsh Santwani",
        ),
    ],
)
def test_an_action_or_type_without_words_still_makes_a_generic_message(
    provider, events, name, headline
):
    # Each body is a real one under another action or type, as a sender adding one would.
    [event] = events()
    assert event.event == name
    assert PROVIDERS[provider].ignored_entry(name) is None
    assert headline in render(event).headline


def stripe_as(name: str, kind: str) -> list[Event]:
    headers, payload = sample("stripe", name)
    payload["type"] = kind
    return normalized("stripe", headers, payload)


def pagerduty_as(name: str, kind: str) -> list[Event]:
    headers, payload = sample("pagerduty", name)
    payload["event"]["event_type"] = kind
    return normalized("pagerduty", headers, payload)


# -- a route that names the event posts it ----------------------------------------------


def routed(routes: list[dict[str, Any]], provider: str, name: str) -> list[int]:
    settings = Settings(targets={"eng": {"slack": "#eng"}}, routes=routes)
    [event] = normalized(provider, *sample(provider, name))
    return [decision.route for decision in Router(settings).route(event)]


@pytest.mark.parametrize(
    ("provider", "name", "route", "posted"),
    [
        ("github", "status.success", {}, False),
        ("github", "status.success", {"event": "status.*"}, False),
        ("github", "status.success", {"provider": "github"}, False),
        ("github", "status.success", {"event": "status.success"}, True),
        ("github", "status.success", {"event": ["push", "status.success"]}, True),
        ("stripe", "invoiceitem.created", {"event": "invoiceitem.*"}, True),  # the entry itself
        ("stripe", "invoiceitem.created", {"event": "invoiceitem.created"}, True),
        ("stripe", "invoiceitem.created", {"event": "invoice*"}, False),
        ("github", "status.failure", {"event": "status.*"}, True),  # not noise: globs work
    ],
)
def test_an_event_ignored_by_default_is_posted_by_a_route_that_names_it(
    provider, name, route, posted
):
    routes = [{"match": route, "to": ["eng"]}] if route else [{"to": ["eng"]}]
    assert routed(routes, provider, name) == ([0] if posted else [])


async def test_the_bot_records_noise_as_ignored_with_its_reason_and_posts_what_is_named(
    tmp_path, fake_slack, make_bot
):
    config = base_config(tmp_path, fake_slack.url)
    config["routes"] = [
        {"match": {"event": "status.success", "context": "default"}, "to": ["eng"]},
        {"to": ["eng"]},
    ]
    bot = await make_bot(config)
    payload = sample("github", "status.success")[1]
    records = []
    for context in ("default", "ci/other"):
        payload["context"] = context
        body = dumps(payload)
        delivery = f"status-{context}"
        response = await bot.post(
            "/hooks/github", data=body, headers=github_headers(body, "status", delivery)
        )
        inbox = (await response.json())["id"]

        async def recorded(inbox: int = inbox):
            return await bot.app[STORE].get_event(f"{inbox}.0")

        records.append(await eventually(recorded))
    named, other = records
    [post] = await fake_slack.wait_for(1)
    assert post.body["text"] == "🔵 default passed on 6113728"
    assert named.outcome == "routed"
    assert other.outcome == "ignored"
    assert other.detail["ignored"].startswith("ignored by default: one per CI context")
    assert 'a route with event = "status.success" posts it' in other.detail["ignored"]
    why = await bot.app[COMMANDS].run(f"why {other.id}", Caller("cli", "ops"))
    assert "ignored by default: one per CI context" in why.text
    told = await outcome(bot.app[STORE], other.inbox_id)  # what `simulate` prints
    assert told.settled
    assert told.lines == [f"{other.id} status.success: {other.detail['ignored']}"]


async def test_explain_names_the_reason_a_sample_is_ignored_by_default(tmp_path, fake_slack):
    status = simulate.bodies("github") / "status.json"
    code, out, err = await explain(tmp_path, fake_slack.url, str(status), "--source", "github")
    assert code == 0, err
    assert "event 1 of 1: status.success" in out
    assert "ignored   ignored by default: one per CI context and commit" in out
    assert '(a route with event = "status.success" posts it)' in out
    assert "-> " not in out


# -- pull request activity replies in the pull request's thread --------------------------


def github_request(event: str, payload: dict[str, Any], delivery: str) -> tuple[bytes, dict]:
    body = dumps(payload)
    return body, github_headers(body, event, delivery)


def of_pull_request_2(payload: dict[str, Any], run: str) -> dict[str, Any]:
    """The sample workflow run (octo-org/octo-repo) as a run of the pull request of the
    PR samples: its repository, and GitHub's ``pull_requests`` entry naming #2, as in the
    collection's other workflow_run example."""
    pr = json.loads(fixture_bytes("github/pull_request__opened.json"))
    payload["repository"] = pr["repository"]
    payload[run]["pull_requests"] = [
        {"number": 2, "head": {"ref": "changes", "sha": pr["pull_request"]["head"]["sha"]}}
    ]
    return payload


async def test_commits_reviews_comments_and_ci_of_a_pull_request_reply_in_its_thread(
    tmp_path, fake_slack, make_bot
):
    bot = await make_bot(base_config(tmp_path, fake_slack.url))
    review = json.loads(fixture_bytes("github/pull_request_review__submitted.json"))
    check = json.loads(fixture_bytes("github/check_run__completed_failure.json"))
    run = json.loads(fixture_bytes("github/workflow_run__completed.json"))
    run["workflow_run"]["conclusion"] = "failure"
    story = [
        ("pull_request", sample("github", "pull_request.opened")[1]),
        ("pull_request", sample("github", "pull_request.synchronize")[1]),
        ("pull_request_review_comment", sample("github", "pull_request_review_comment.created")[1]),
        ("pull_request_review", review),
        ("check_run", check),  # GitHub names PR #2 in check_run.pull_requests
        ("workflow_run", of_pull_request_2(run, "workflow_run")),
    ]
    for number, (event, payload) in enumerate(story):
        body, headers = github_request(event, payload, f"pr-story-{number}")
        assert (await bot.post("/hooks/github", data=body, headers=headers)).status == 200
        await fake_slack.wait_for(number + 1)

    [(key, [first])] = fake_slack.messages.items()  # one message, never edited
    assert first["text"] == "🔵 Opened by Codertocat · changes → master"
    replies = [reply["text"] for reply in fake_slack.replies[key]]
    assert [line.split(" · ")[0] for line in replies] == [
        "🔵 New commits pushed to changes by Codertocat",
        "💬 Codertocat on README.md: Maybe you should use more emoji on this line.",
        "💬 Review commented by Codertocat",
        "❌ Octocoders-linter failed",
        '❌ Workflow "test" #163 failed on master',
    ]


async def test_a_ci_result_of_no_pull_request_posts_a_message_of_its_own(
    tmp_path, fake_slack, make_bot
):
    bot = await make_bot(base_config(tmp_path, fake_slack.url))
    opened = sample("github", "pull_request.opened")[1]
    check = json.loads(fixture_bytes("github/check_run__completed_failure.json"))
    # A branch's check: GitHub names no pull request, and its commit is no pull request's head.
    check["check_run"]["pull_requests"] = check["check_run"]["check_suite"]["pull_requests"] = []
    check["check_run"]["head_sha"] = "0" * 40
    for number, (event, payload) in enumerate([("pull_request", opened), ("check_run", check)]):
        body, headers = github_request(event, payload, f"lone-{number}")
        await bot.post("/hooks/github", data=body, headers=headers)
        await fake_slack.wait_for(number + 1)
    assert len(fake_slack.messages) == 2
    assert not fake_slack.replies


def fork_pull_request_and_its_ci() -> list[tuple[bytes, dict[str, str]]]:
    """A fork's pull request opened, then a failed check run and a failed status of its
    head commit, which name no pull request: signed requests, in that order."""
    opened = sample("github", "pull_request.opened")[1]
    head = opened["pull_request"]["head"]["sha"]
    check = json.loads(fixture_bytes("github/check_run__completed_failure.json"))
    check["repository"] = opened["repository"]
    check["check_run"]["head_sha"] = head
    check["check_run"]["pull_requests"] = check["check_run"]["check_suite"]["pull_requests"] = []
    status = {**sample("github", "status.failure")[1], "repository": opened["repository"]}
    status["sha"] = head
    requests = [("pull_request", opened), ("check_run", check), ("status", status)]
    return [
        github_request(event, payload, f"fork-{number}")
        for number, (event, payload) in enumerate(requests)
    ]


async def test_a_fork_pull_requests_ci_result_replies_in_its_thread_by_its_head_commit(
    tmp_path, fake_slack, make_bot
):
    """GitHub lists no pull request in a fork's CI results, nor in any commit status: the
    pull request's head commit, kept with its events, leads them to its thread."""
    bot = await make_bot(base_config(tmp_path, fake_slack.url))
    for number, (body, headers) in enumerate(fork_pull_request_and_its_ci()):
        await bot.post("/hooks/github", data=body, headers=headers)
        await fake_slack.wait_for(number + 1)
    [(message, _)] = fake_slack.messages.items()
    assert len(fake_slack.replies[message]) == 2  # the check and the status, in its thread


@pytest.mark.parametrize(
    ("reason", "headline", "color"),
    [("completed", "✅ Closed by Codertocat", GREEN), ("not_planned", "⏹️ Closed as not", GREY)],
)
def test_a_closed_issue_says_how_it_ended_and_its_reply_how_long_it_was_open(
    reason, headline, color
):
    headers, payload = sample("github", "issues.opened")
    payload["action"] = "closed"
    payload["issue"]["state_reason"] = reason
    [event] = normalized("github", headers, payload)
    message = render(event)
    assert message.headline.startswith(headline)
    assert message.title == "Issue #1: Spelling error in the README file"
    assert message.color == color
    assert thread_reply(message, 3 * 86400).headline.endswith("· 3d after opening")


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("charge.failed", "Payment of 22.00 USD"),
        ("payment_intent.succeeded", "Payment of 10.99 USD"),
        ("refund.failed", "Refund of 300,000.00 INR"),
        ("customer.subscription.deleted", "Subscription · 20.00 AUD / month"),
        ("invoice.paid", "Invoice of 20.00 AUD"),
        ("payout.paid", "Payout of 11.00 USD"),
        ("checkout.session.completed", "Checkout of 10.99 USD"),
    ],
)
def test_a_stripe_card_is_titled_by_its_object_and_the_headline_says_what_happened(name, title):
    [event] = normalized("stripe", *sample("stripe", name))
    message = render(event)
    assert message.title == title
    verb = event.event.rsplit(".", 1)[-1].removeprefix("payment_")  # failed, paid...
    assert verb in message.headline
    assert verb not in message.title
    assert message.line == verb  # a digest's line: the title, then what happened

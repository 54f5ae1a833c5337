"""GitHub webhooks: ``X-Hub-Signature-256``, ``X-GitHub-Event`` + ``action`` dispatch.

The handler table is keyed by ``X-GitHub-Event``; each handler reads every ``action`` of
its event, so an action GitHub adds later still yields a message. The list of supported
events is derived from it. Actions that are mostly noise (``labeled``, ``edited``...) are
made into events and rendered, but sit in ``IGNORED_BY_DEFAULT`` with the reason: only a
route that names them posts them. Pull request activity (new commits, reviews, review
comments, CI results of its head) shares the pull request's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from bot.config.source import ApiKeys, SourceBase
from bot.core.errors import VerificationError
from bot.core.events import Event
from bot.core.text import shorten
from bot.providers.base import (
    Provider,
    WebhookRequest,
    content_digest,
    dig,
    http_url,
    mapping,
    mappings,
    moment,
    text,
)
from bot.providers.signing import hmac_sha256_hex, matches_any


class GitHubSource(SourceBase, ApiKeys):
    """``[sources.<name>]`` with ``provider = "github"``: GitHub signs every delivery
    with the webhook secret, and can do nothing else. With ``api_token`` a failed
    workflow run's failed jobs can be re-run from chat."""

    credentials: ClassVar[frozenset[str]] = frozenset({"secret"})
    signature_default: ClassVar[str | None] = "X-Hub-Signature-256"
    provider: Literal["github"]
    api_url: str = "https://api.github.com"


Handler = Callable[[dict[str, Any]], dict[str, Any] | None]
"""Payload -> Event fields (``None`` when this payload is not worth a message)."""

_FAILED_CONCLUSIONS = {"failure", "timed_out", "startup_failure", "action_required"}


def verify(source: GitHubSource, request: WebhookRequest, now: float) -> None:
    if not source.secrets:
        return  # allow_unsigned (config validation guarantees that)
    header = request.header("x-hub-signature-256")
    if not header:
        raise VerificationError(
            "missing X-Hub-Signature-256 (set the same secret in the GitHub webhook settings)",
            code="missing_signature",
        )
    presented = [header.removeprefix("sha256=")]
    if matches_any(presented, source.secrets, lambda secret: hmac_sha256_hex(secret, request.body)):
        return
    raise VerificationError(
        "X-Hub-Signature-256 does not match the configured secret", code="bad_signature"
    )


def sign(source: GitHubSource, body: bytes, now: float) -> dict[str, str]:
    if not source.secrets:
        return {}
    return {"X-Hub-Signature-256": "sha256=" + hmac_sha256_hex(source.secrets[0], body)}


def delivery_id(request: WebhookRequest, payload: Any) -> str:
    return request.header("x-github-delivery") or content_digest(request.body)


def normalize(
    source_name: str, source: GitHubSource, request: WebhookRequest, payload: Any
) -> list[Event]:
    kind = request.header("x-github-event") or ""
    if not isinstance(payload, dict):
        return []
    handler = HANDLERS.get(kind)
    if handler is None:
        return []
    fields = handler(payload)
    if fields is None:
        return []
    fields["url"] = http_url(fields.get("url"))  # payload values are not trusted to be links
    labels = {
        "repo": dig(payload, "repository.full_name", ""),
        "org": dig(payload, "organization.login") or dig(payload, "repository.owner.login", ""),
        **fields.pop("labels", {}),
    }
    return [
        Event(
            source=source_name,
            provider="github",
            actor=text(dig(payload, "sender.login")) or None,
            labels={k: str(v) for k, v in labels.items() if v},
            payload=payload,
            **fields,
        )
    ]


def _repo(payload: dict[str, Any]) -> str:
    return str(dig(payload, "repository.full_name", "?"))


# -- push, branches and tags ----------------------------------------------------------


def _push(payload: dict[str, Any]) -> dict[str, Any] | None:
    if payload.get("deleted"):
        return None  # the `delete` event says it better
    ref = str(payload.get("ref", ""))
    commits = mappings(payload.get("commits"))
    kind, _, name = ref.removeprefix("refs/").partition("/")
    if kind == "tags":
        return {
            "event": "push.tag",
            "title": f"[{_repo(payload)}] tag {name} pushed",
            "url": payload.get("compare"),
            "labels": {"tag": name},
            "occurred_at": moment(dig(payload, "head_commit.timestamp")),
        }
    count = len(commits)
    forced = " (force-push)" if payload.get("forced") else ""
    return {
        "event": "push",
        "title": f"[{_repo(payload)}:{name}] {count} new commit{'s' if count != 1 else ''}"
        + forced,
        "text": "\n".join(text(c.get("message")).split("\n")[0] for c in commits[:5]),
        "url": payload.get("compare"),
        "labels": {"branch": name},
        "occurred_at": moment(dig(payload, "head_commit.timestamp")),
    }


def _ref_event(verb: str) -> Handler:
    def handler(payload: dict[str, Any]) -> dict[str, Any]:
        ref_type = str(payload.get("ref_type", "branch"))
        ref = str(payload.get("ref", ""))
        return {
            "event": f"{verb}.{ref_type}",
            "title": f"[{_repo(payload)}] {ref_type} {ref} {verb}d",
            "url": dig(payload, "repository.html_url"),
            "labels": {"branch" if ref_type == "branch" else "tag": ref},
        }

    return handler


# -- pull requests and reviews --------------------------------------------------------


def _pr_key(payload: dict[str, Any], number: Any = None) -> str:
    number = number or dig(payload, "pull_request.number") or payload.get("number")
    return f"github:{_repo(payload)}#pr{number}"


_PR_STATE = {"opened", "reopened", "ready_for_review", "review_requested", "converted_to_draft"}
"""Actions that change what the pull request's first message shows (its state, its
reviewers); every other action only replies in its thread."""


def _pull_request(payload: dict[str, Any]) -> dict[str, Any] | None:
    pr = mapping(payload.get("pull_request"))
    action = str(payload.get("action"))
    if action == "closed":
        action = "merged" if pr.get("merged") else "closed"
    status = {"merged": "resolved", "closed": "resolved"}.get(action)
    if action in _PR_STATE:
        status = "open"
    return {
        "event": f"pull_request.{action}",
        "title": f"[{_repo(payload)}] Pull request #{pr.get('number')}: {pr.get('title', '')}",
        "text": _first_paragraph(pr.get("body")) if action == "opened" else "",
        "url": pr.get("html_url"),
        "status": status,
        "thread_key": _pr_key(payload),
        "thread_alias": _head_alias(payload, dig(pr, "head.sha")),
        "labels": {
            "branch": dig(pr, "base.ref", ""),
            "head": dig(pr, "head.ref", ""),
            "author": dig(pr, "user.login", ""),
            "draft": "true" if pr.get("draft") else "",
        },
        "occurred_at": moment(pr.get("merged_at") or pr.get("closed_at") or pr.get("updated_at")),
    }


_REVIEW_WORDS = {
    "approved": "approved",
    "changes_requested": "requested changes on",
    "commented": "reviewed",
    "dismissed": "had a review dismissed on",
}


def _pull_request_review(payload: dict[str, Any]) -> dict[str, Any] | None:
    review = mapping(payload.get("review"))
    action = str(payload.get("action"))
    state = "dismissed" if action == "dismissed" else str(review.get("state", "")).lower()
    if state not in _REVIEW_WORDS:
        return None  # a pending review is the reviewer's draft: GitHub shows it to nobody
    pr = mapping(payload.get("pull_request"))
    return {
        "event": "pull_request_review.edited"
        if action == "edited"
        else f"pull_request_review.{state}",
        "title": f"[{_repo(payload)}] {dig(review, 'user.login', 'someone')} "
        f"{_REVIEW_WORDS[state]} #{pr.get('number')}: {pr.get('title', '')}",
        "text": _first_paragraph(review.get("body")),
        "url": review.get("html_url") or pr.get("html_url"),
        "thread_key": _pr_key(payload),
        "severity": "warning" if state == "changes_requested" else "info",
        "occurred_at": moment(review.get("submitted_at")),
    }


def _review_comment(payload: dict[str, Any]) -> dict[str, Any]:
    """A comment on a line of a pull request's diff: a reply in the pull request's thread."""
    comment = mapping(payload.get("comment"))
    pr = mapping(payload.get("pull_request"))
    return {
        "event": f"pull_request_review_comment.{payload.get('action')}",
        "title": f"[{_repo(payload)}] Pull request #{pr.get('number')}: {pr.get('title', '')}",
        "text": _first_paragraph(comment.get("body")),
        "url": comment.get("html_url") or pr.get("html_url"),
        "thread_key": _pr_key(payload),
        "labels": {"path": text(comment.get("path"))},
        "occurred_at": moment(comment.get("updated_at") or comment.get("created_at")),
    }


# -- issues, discussions and comments -------------------------------------------------


def _issue_key(payload: dict[str, Any]) -> str:
    issue = mapping(payload.get("issue"))
    kind = "pr" if "pull_request" in issue else "issue"
    return f"github:{_repo(payload)}#{kind}{issue.get('number')}"


def _issues(payload: dict[str, Any]) -> dict[str, Any] | None:
    issue = mapping(payload.get("issue"))
    action = str(payload.get("action"))
    return {
        "event": f"issues.{action}",
        "title": f"[{_repo(payload)}] Issue #{issue.get('number')}: {issue.get('title', '')}",
        "text": _first_paragraph(issue.get("body")) if action == "opened" else "",
        "url": issue.get("html_url"),
        "status": {"closed": "resolved", "opened": "open", "reopened": "open"}.get(action),
        "thread_key": _issue_key(payload),
        "labels": {
            "labels": ",".join(text(label.get("name")) for label in mappings(issue.get("labels")))
        },
        "occurred_at": moment(issue.get("closed_at") or issue.get("updated_at")),
    }


def _issue_comment(payload: dict[str, Any]) -> dict[str, Any]:
    issue = mapping(payload.get("issue"))
    comment = mapping(payload.get("comment"))
    noun = "pull request" if "pull_request" in issue else "issue"
    return {
        "event": f"issue_comment.{payload.get('action')}",
        "title": f"[{_repo(payload)}] New comment on {noun} #{issue.get('number')}: "
        f"{issue.get('title', '')}",
        "text": _first_paragraph(comment.get("body")),
        "url": comment.get("html_url"),
        "thread_key": _issue_key(payload),
        "occurred_at": moment(comment.get("created_at")),
    }


def _commit_comment(payload: dict[str, Any]) -> dict[str, Any]:
    comment = mapping(payload.get("comment"))
    sha = text(comment.get("commit_id"))
    return {
        "event": "commit_comment.created",
        "title": f"[{_repo(payload)}] Commit {sha[:7]}",
        "text": _first_paragraph(comment.get("body")),
        "url": comment.get("html_url"),
        "thread_key": f"github:{_repo(payload)}:commit:{sha}",
        "labels": {"path": text(comment.get("path"))},
        "occurred_at": moment(comment.get("created_at")),
    }


def _discussion_key(payload: dict[str, Any]) -> str:
    return f"github:{_repo(payload)}#discussion{dig(payload, 'discussion.number')}"


def _discussion(payload: dict[str, Any]) -> dict[str, Any]:
    discussion = mapping(payload.get("discussion"))
    action = str(payload.get("action"))
    return {
        "event": f"discussion.{action}",
        "title": f"[{_repo(payload)}] Discussion #{discussion.get('number')}: "
        f"{discussion.get('title', '')}",
        "text": _first_paragraph(discussion.get("body")) if action == "created" else "",
        "url": discussion.get("html_url"),
        "status": {"created": "open", "reopened": "open", "closed": "resolved"}.get(action),
        "thread_key": _discussion_key(payload),
        "labels": {"category": text(dig(discussion, "category.name"))},
        "occurred_at": moment(discussion.get("updated_at")),
    }


def _discussion_comment(payload: dict[str, Any]) -> dict[str, Any]:
    discussion = mapping(payload.get("discussion"))
    comment = mapping(payload.get("comment"))
    return {
        "event": f"discussion_comment.{payload.get('action')}",
        "title": f"[{_repo(payload)}] Discussion #{discussion.get('number')}: "
        f"{discussion.get('title', '')}",
        "text": _first_paragraph(comment.get("body")),
        "url": comment.get("html_url") or discussion.get("html_url"),
        "thread_key": _discussion_key(payload),
        "occurred_at": moment(comment.get("updated_at") or comment.get("created_at")),
    }


# -- releases, CI and deployments -----------------------------------------------------


def _release(payload: dict[str, Any]) -> dict[str, Any]:
    release = mapping(payload.get("release"))
    name = release.get("name") or release.get("tag_name")
    kind = "Pre-release" if release.get("prerelease") else "Release"
    action = str(payload.get("action"))
    return {
        "event": f"release.{action}",
        "title": f"[{_repo(payload)}] {kind} {name} {action}",
        "text": _first_paragraph(release.get("body")) if action == "published" else "",
        "url": release.get("html_url"),
        "labels": {"tag": release.get("tag_name", "")},
        "occurred_at": moment(release.get("published_at") or release.get("created_at")),
    }


def _conclusion_event(kind: str, conclusion: str) -> tuple[str, str]:
    if conclusion in _FAILED_CONCLUSIONS:
        return f"{kind}.failed", "error"
    if conclusion == "success":
        return f"{kind}.succeeded", "info"
    return f"{kind}.{conclusion or 'completed'}", "info"


def _head_alias(payload: dict[str, Any], sha: Any) -> str | None:
    """A commit's name as a conversation alias: a pull request's events carry their head
    commit's, and a CI result of that commit that names no pull request (a fork's, or a
    commit status) joins the pull request's thread through it."""
    return f"github:{_repo(payload)}@{sha}" if sha else None


def _ci_thread(payload: dict[str, Any], run: dict[str, Any]) -> str | None:
    """The pull request a CI result belongs to, when GitHub names one: its thread.

    GitHub lists the open pull requests whose head is the run's commit, for pull requests
    within the repository; a fork's are not listed, and are found by their head commit
    (``_head_alias``) when the bot has seen the pull request.
    """
    for pr in mappings(run.get("pull_requests")):
        if pr.get("number") is not None:
            return _pr_key(payload, pr["number"])
    return None


def _workflow_run(payload: dict[str, Any]) -> dict[str, Any]:
    run = mapping(payload.get("workflow_run"))
    conclusion = str(run.get("conclusion") or "")
    action = str(payload.get("action"))
    event, severity = _conclusion_event("workflow_run", conclusion)
    if action != "completed":
        event = f"workflow_run.{action}"
    name = run.get("name") or dig(payload, "workflow.name", "workflow")
    pr_thread = _ci_thread(payload, run)
    return {
        "event": event,
        "severity": severity,
        "title": f"[{_repo(payload)}] {name} #{run.get('run_number')} {conclusion or action}"
        f" on {run.get('head_branch')}",
        "text": str(run.get("display_title") or ""),
        "url": run.get("html_url"),
        "labels": {
            "branch": run.get("head_branch", ""),
            "workflow": name,
            "conclusion": conclusion,
            "run": text(run.get("id")),
        },
        # A run and its re-runs (same id, the next run_attempt) are one conversation: the
        # pull request's, when the run tested one.
        "thread_key": pr_thread or f"github:{_repo(payload)}:run:{run.get('id')}",
        "thread_via": None if pr_thread else _head_alias(payload, run.get("head_sha")),
        "occurred_at": moment(run.get("updated_at")),
    }


def _check(kind: str) -> Handler:
    def handler(payload: dict[str, Any]) -> dict[str, Any] | None:
        check = mapping(payload.get(kind))
        conclusion = str(check.get("conclusion") or "")
        action = str(payload.get("action"))
        event, severity = _conclusion_event(kind, conclusion)
        if action != "completed":
            event = f"{kind}.{action}"
        branch = check.get("head_branch") or dig(check, "check_suite.head_branch", "")
        name = check.get("name") or dig(check, "app.name", kind)
        suite = mapping(check.get("check_suite")) if kind == "check_run" else check
        return {
            "event": event,
            "severity": severity,
            "title": f"[{_repo(payload)}] {name} {conclusion or action} on {branch}",
            "text": str(dig(check, "output.title", "")),
            "url": check.get("html_url")
            or check.get("details_url")
            or dig(payload, "repository.html_url"),
            "labels": {"branch": branch, "conclusion": conclusion},
            "thread_key": (thread := _ci_thread(payload, check) or _ci_thread(payload, suite)),
            "thread_via": None if thread else _head_alias(payload, check.get("head_sha")),
            "occurred_at": moment(check.get("completed_at") or check.get("updated_at")),
        }

    return handler


def _status(payload: dict[str, Any]) -> dict[str, Any]:
    """A commit status (the Statuses API: older CI services, Jenkins, deploy checks)."""
    state = text(payload.get("state"))
    sha = text(payload.get("sha"))
    branches = [text(b.get("name")) for b in mappings(payload.get("branches"))]
    return {
        "event": f"status.{state}",
        "severity": "error" if state in ("failure", "error") else "info",
        "title": f"[{_repo(payload)}] {payload.get('context')} {state} on "
        f"{branches[0] if len(branches) == 1 else sha[:7]}",
        "text": text(payload.get("description")),
        "url": http_url(payload.get("target_url"))
        or dig(payload, "commit.html_url")
        or dig(payload, "repository.html_url"),
        "labels": {
            "context": text(payload.get("context")),
            "branch": branches[0] if len(branches) == 1 else "",
        },
        "thread_via": _head_alias(payload, sha),
        "occurred_at": moment(payload.get("updated_at")),
    }


_DEPLOY_SEVERITY = {"failure": "error", "error": "error"}
_DEPLOY_DONE = {"success", "failure", "error", "inactive"}


def _deployment_key(payload: dict[str, Any]) -> str:
    return f"github:{_repo(payload)}:deployment:{dig(payload, 'deployment.id')}"


def _deployment(payload: dict[str, Any]) -> dict[str, Any]:
    """A deployment requested: its statuses follow in the same conversation."""
    deployment = mapping(payload.get("deployment"))
    environment = text(deployment.get("environment"))
    return {
        "event": "deployment.created",
        "status": "open",
        "title": f"[{_repo(payload)}] Deployment to {environment} requested",
        "text": text(deployment.get("description")),
        "url": f"{dig(payload, 'repository.html_url', '')}/deployments",
        "thread_key": _deployment_key(payload),
        "labels": {"env": environment, "branch": text(deployment.get("ref"))},
        "occurred_at": moment(deployment.get("updated_at") or deployment.get("created_at")),
    }


def _deployment_status(payload: dict[str, Any]) -> dict[str, Any]:
    status = mapping(payload.get("deployment_status"))
    deployment = mapping(payload.get("deployment"))
    state = str(status.get("state", ""))
    environment = status.get("environment") or deployment.get("environment", "")
    return {
        "event": f"deployment_status.{state}",
        "severity": _DEPLOY_SEVERITY.get(state, "info"),
        "status": "resolved" if state in _DEPLOY_DONE else "open",
        "title": f"[{_repo(payload)}] Deployment to {environment}: {state}",
        "text": str(status.get("description") or ""),
        "url": status.get("target_url")
        or status.get("log_url")
        or f"{dig(payload, 'repository.html_url', '')}/deployments",
        "thread_key": _deployment_key(payload),
        "labels": {"env": environment, "branch": deployment.get("ref", "")},
        "occurred_at": moment(status.get("updated_at") or status.get("created_at")),
    }


# -- the repository, its wiki, its people ---------------------------------------------


def _repository(payload: dict[str, Any]) -> dict[str, Any]:
    action = text(payload.get("action"))  # `public`, the older event, has none
    return {
        "event": f"repository.{action}" if action else "public",
        "severity": "warning" if action in ("deleted", "publicized", "") else "info",
        "title": _repo(payload),
        "url": dig(payload, "repository.html_url"),
    }


def _gollum(payload: dict[str, Any]) -> dict[str, Any]:
    pages = mappings(payload.get("pages"))
    return {
        "event": "gollum",
        "title": f"[{_repo(payload)}] Wiki",
        "text": "\n".join(
            f"{text(page.get('title'))} ({text(page.get('action'))})" for page in pages[:10]
        ),
        "url": pages[0].get("html_url") if len(pages) == 1 else None,
        "labels": {"page": text(pages[0].get("title")) if len(pages) == 1 else ""},
    }


def _member(payload: dict[str, Any]) -> dict[str, Any]:
    """A collaborator added to, changed on or removed from a repository."""
    return {
        "event": f"member.{payload.get('action')}",
        "title": _repo(payload),
        "url": dig(payload, "member.html_url"),
        "labels": {"member": text(dig(payload, "member.login"))},
    }


def _membership(payload: dict[str, Any]) -> dict[str, Any]:
    """Someone added to or removed from a team of the organization."""
    team = mapping(payload.get("team"))
    return {
        "event": f"membership.{payload.get('action')}",
        "title": f"Team {text(team.get('name'))}",
        "url": team.get("html_url"),
        "labels": {"member": text(dig(payload, "member.login")), "team": text(team.get("slug"))},
    }


def _team(payload: dict[str, Any]) -> dict[str, Any]:
    team = mapping(payload.get("team"))
    return {
        "event": f"team.{payload.get('action')}",
        "title": f"Team {text(team.get('name'))}",
        "url": team.get("html_url"),
        "labels": {"team": text(team.get("slug"))},
    }


# -- social ---------------------------------------------------------------------------


def _star(payload: dict[str, Any]) -> dict[str, Any]:
    count = dig(payload, "repository.stargazers_count", 0)
    return {
        "event": f"star.{payload.get('action')}",
        "title": f"[{_repo(payload)}] New star ({count} total)",
        "url": dig(payload, "repository.html_url"),
        "occurred_at": moment(payload.get("starred_at")),
    }


def _fork(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "event": "fork",
        "title": f"[{_repo(payload)}] Forked to {dig(payload, 'forkee.full_name', '?')}",
        "url": dig(payload, "forkee.html_url"),
        "occurred_at": moment(dig(payload, "forkee.created_at")),
    }


def _first_paragraph(text: Any, limit: int = 600) -> str:
    if not isinstance(text, str):
        return ""
    paragraph = text.strip().split("\r\n\r\n")[0].split("\n\n")[0].strip()
    return shorten(paragraph, limit)


HANDLERS: dict[str, Handler] = {
    "push": _push,
    "create": _ref_event("create"),
    "delete": _ref_event("delete"),
    "pull_request": _pull_request,
    "pull_request_review": _pull_request_review,
    "pull_request_review_comment": _review_comment,
    "issues": _issues,
    "issue_comment": _issue_comment,
    "commit_comment": _commit_comment,
    "discussion": _discussion,
    "discussion_comment": _discussion_comment,
    "release": _release,
    "workflow_run": _workflow_run,
    "check_run": _check("check_run"),
    "check_suite": _check("check_suite"),
    "status": _status,
    "deployment": _deployment,
    "deployment_status": _deployment_status,
    "repository": _repository,
    "public": _repository,
    "gollum": _gollum,
    "member": _member,
    "membership": _membership,
    "team": _team,
    "star": _star,
    "fork": _fork,
}
"""By ``X-GitHub-Event``: each handler reads every action of its event, so an action
GitHub adds later still gets a message (its name in words) rather than none."""

# Accepted and recorded as ignored (no event): `ping` (GitHub's hello when a hook is
# created; the 2xx is all it needs) and events with no handler above.

_NOT_COMPLETED = "in progress: the completed event says how it ended"

IGNORED_BY_DEFAULT: dict[str, str] = {
    # Triage and bookkeeping: frequent, often by bots, seldom news to a channel.
    "pull_request.edited": "a title, description or base edit; the pull request's "
    "message shows the new title at its next change of state",
    "pull_request.labeled": "labels are triage, often set by bots",
    "pull_request.unlabeled": "labels are triage, often set by bots",
    "pull_request.milestoned": "milestones are planning, not activity",
    "pull_request.demilestoned": "milestones are planning, not activity",
    "pull_request.review_request_removed": "undoes a review request; "
    "the message shows the reviewers at its next change of state",
    "pull_request_review.edited": "the review was posted when it was submitted",
    "pull_request_review_comment.edited": "the comment was posted when it was made",
    "pull_request_review_comment.deleted": "the comment was posted when it was made",
    "issues.edited": "a title or description edit",
    "issues.labeled": "labels are triage, often set by bots",
    "issues.unlabeled": "labels are triage, often set by bots",
    "issues.milestoned": "milestones are planning, not activity",
    "issues.demilestoned": "milestones are planning, not activity",
    "issue_comment.edited": "the comment was posted when it was made",
    "issue_comment.deleted": "the comment was posted when it was made",
    "discussion.edited": "a title or body edit",
    "discussion.labeled": "labels are triage",
    "discussion.unlabeled": "labels are triage",
    "discussion.pinned": "pinning is presentation, not activity",
    "discussion.unpinned": "pinning is presentation, not activity",
    "discussion.category_changed": "re-filing is presentation, not activity",
    "discussion_comment.edited": "the comment was posted when it was made",
    "discussion_comment.deleted": "the comment was posted when it was made",
    "repository.edited": "a description, homepage, topics or default branch edit",
    "team.edited": "a team's name, description or privacy edit",
    "star.deleted": "an unstar",
    # GitHub sends several events for one thing: the one that says it all is posted.
    "release.created": "sent with release.published, which is posted",
    "release.released": "sent with release.published, which is posted",
    "release.prereleased": "sent with release.published, which is posted",
    "release.edited": "the release was posted when it was published",
    # CI: a result is news when it fails; workflow_run reports success once per run.
    "workflow_run.requested": _NOT_COMPLETED,
    "workflow_run.in_progress": _NOT_COMPLETED,
    "check_run.created": _NOT_COMPLETED,
    "check_run.rerequested": _NOT_COMPLETED,
    "check_run.requested_action": "a button of a check app, for that app to act on",
    "check_suite.requested": _NOT_COMPLETED,
    "check_suite.rerequested": _NOT_COMPLETED,
    **{
        f"{kind}.{conclusion}": "only failed checks are posted: one workflow run or status "
        "says a commit passed, where each of its checks would say it again"
        for kind in ("check_run", "check_suite")
        for conclusion in ("succeeded", "neutral", "skipped", "cancelled", "stale")
    },
    "status.pending": "every commit status starts pending; its final state is posted",
    "status.success": "one per CI context and commit: failures are posted, success is "
    "the normal case",
}
"""GitHub events made and rendered but posted only by a route that names them (see
``Provider.ignored_by_default``)."""

PROVIDER = Provider(
    name="github",
    config=GitHubSource,
    verify=verify,
    delivery_id=delivery_id,
    normalize=normalize,
    kept_headers=("x-github-event", "x-github-delivery", "x-github-hook-id", "content-type"),
    supported_events=tuple(HANDLERS),
    sign=sign,
    id_from_body=False,
    ignored_by_default=IGNORED_BY_DEFAULT,
)

"""GitHub webhooks: ``X-Hub-Signature-256``, ``X-GitHub-Event`` + ``action`` dispatch.

The handler table is keyed by ``"<X-GitHub-Event>"`` or ``"<X-GitHub-Event>.<action>"``
(Zulip's pattern); the list of supported events is derived from it. Actions that are
mostly noise (``labeled``, ``synchronize``, ``edited``...) are accepted and recorded as
ignored, like every event without a handler.
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
    action = payload.get("action")
    handler = HANDLERS.get(f"{kind}.{action}") or HANDLERS.get(kind)
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


def _pr_key(payload: dict[str, Any]) -> str:
    number = dig(payload, "pull_request.number") or payload.get("number")
    return f"github:{_repo(payload)}#pr{number}"


def _pull_request(payload: dict[str, Any]) -> dict[str, Any] | None:
    pr = mapping(payload.get("pull_request"))
    action = str(payload.get("action"))
    if action == "closed":
        action = "merged" if pr.get("merged") else "closed"
    status = {"merged": "resolved", "closed": "resolved"}.get(action, "open")
    return {
        "event": f"pull_request.{action}",
        "title": f"[{_repo(payload)}] Pull request #{pr.get('number')}: {pr.get('title', '')}",
        "text": _first_paragraph(pr.get("body")) if action == "opened" else "",
        "url": pr.get("html_url"),
        "status": status,
        "thread_key": _pr_key(payload),
        "labels": {
            "branch": dig(pr, "base.ref", ""),
            "head": dig(pr, "head.ref", ""),
            "author": dig(pr, "user.login", ""),
            "draft": "true" if pr.get("draft") else "",
        },
        "occurred_at": moment(pr.get("merged_at") or pr.get("closed_at") or pr.get("updated_at")),
    }


def _pull_request_review(payload: dict[str, Any]) -> dict[str, Any] | None:
    review = mapping(payload.get("review"))
    state = str(review.get("state", "")).lower()
    if state not in ("approved", "changes_requested", "commented"):
        return None
    pr = mapping(payload.get("pull_request"))
    words = {
        "approved": "approved",
        "changes_requested": "requested changes on",
        "commented": "reviewed",
    }[state]
    return {
        "event": f"pull_request_review.{state}",
        "title": f"[{_repo(payload)}] {dig(review, 'user.login', 'someone')} {words} "
        f"#{pr.get('number')}: {pr.get('title', '')}",
        "text": _first_paragraph(review.get("body")),
        "url": review.get("html_url") or pr.get("html_url"),
        "thread_key": _pr_key(payload),
        "severity": "warning" if state == "changes_requested" else "info",
        "occurred_at": moment(review.get("submitted_at")),
    }


# -- issues and comments --------------------------------------------------------------


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
        "status": "resolved" if action == "closed" else "open",
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
        "event": "issue_comment.created",
        "title": f"[{_repo(payload)}] New comment on {noun} #{issue.get('number')}: "
        f"{issue.get('title', '')}",
        "text": _first_paragraph(comment.get("body")),
        "url": comment.get("html_url"),
        "thread_key": _issue_key(payload),
        "occurred_at": moment(comment.get("created_at")),
    }


# -- releases, CI and deployments -----------------------------------------------------


def _release(payload: dict[str, Any]) -> dict[str, Any]:
    release = mapping(payload.get("release"))
    name = release.get("name") or release.get("tag_name")
    kind = "Pre-release" if release.get("prerelease") else "Release"
    return {
        "event": "release.published",
        "title": f"[{_repo(payload)}] {kind} {name} published",
        "text": _first_paragraph(release.get("body")),
        "url": release.get("html_url"),
        "labels": {"tag": release.get("tag_name", "")},
        "occurred_at": moment(release.get("published_at")),
    }


def _conclusion_event(kind: str, conclusion: str) -> tuple[str, str]:
    if conclusion in _FAILED_CONCLUSIONS:
        return f"{kind}.failed", "error"
    if conclusion == "success":
        return f"{kind}.succeeded", "info"
    return f"{kind}.{conclusion or 'completed'}", "info"


def _workflow_run(payload: dict[str, Any]) -> dict[str, Any]:
    run = mapping(payload.get("workflow_run"))
    conclusion = str(run.get("conclusion") or "")
    event, severity = _conclusion_event("workflow_run", conclusion)
    name = run.get("name") or dig(payload, "workflow.name", "workflow")
    return {
        "event": event,
        "severity": severity,
        "title": f"[{_repo(payload)}] {name} #{run.get('run_number')} {conclusion or 'completed'}"
        f" on {run.get('head_branch')}",
        "text": str(run.get("display_title") or ""),
        "url": run.get("html_url"),
        "labels": {
            "branch": run.get("head_branch", ""),
            "workflow": name,
            "conclusion": conclusion,
        },
        # A run and its re-runs (same id, the next run_attempt) are one conversation.
        "thread_key": f"github:{_repo(payload)}:run:{run.get('id')}",
        "occurred_at": moment(run.get("updated_at")),
    }


def _check(kind: str) -> Handler:
    def handler(payload: dict[str, Any]) -> dict[str, Any] | None:
        check = mapping(payload.get(kind))
        conclusion = str(check.get("conclusion") or "")
        if conclusion not in _FAILED_CONCLUSIONS:
            return None  # successful checks are noise; workflow_run reports success
        event, severity = _conclusion_event(kind, conclusion)
        branch = check.get("head_branch") or dig(check, "check_suite.head_branch", "")
        name = check.get("name") or dig(check, "app.name", kind)
        return {
            "event": event,
            "severity": severity,
            "title": f"[{_repo(payload)}] {name} {conclusion} on {branch}",
            "text": str(dig(check, "output.title", "")),
            "url": check.get("html_url")
            or check.get("details_url")
            or dig(payload, "repository.html_url"),
            "labels": {"branch": branch, "conclusion": conclusion},
            "occurred_at": moment(check.get("completed_at") or check.get("updated_at")),
        }

    return handler


_DEPLOY_SEVERITY = {"failure": "error", "error": "error"}
_DEPLOY_DONE = {"success", "failure", "error", "inactive"}


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
        "thread_key": f"github:{_repo(payload)}:deployment:{deployment.get('id')}",
        "labels": {"env": environment, "branch": deployment.get("ref", "")},
        "occurred_at": moment(status.get("updated_at") or status.get("created_at")),
    }


# -- social ---------------------------------------------------------------------------


def _star(payload: dict[str, Any]) -> dict[str, Any]:
    count = dig(payload, "repository.stargazers_count", 0)
    return {
        "event": "star.created",
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
    **{
        f"pull_request.{action}": _pull_request
        for action in (
            "opened",
            "closed",
            "reopened",
            "ready_for_review",
            "review_requested",
            "converted_to_draft",
        )
    },
    "pull_request_review.submitted": _pull_request_review,
    **{f"issues.{action}": _issues for action in ("opened", "closed", "reopened")},
    "issue_comment.created": _issue_comment,
    "release.published": _release,
    "workflow_run.completed": _workflow_run,
    "check_run.completed": _check("check_run"),
    "check_suite.completed": _check("check_suite"),
    "deployment_status.created": _deployment_status,
    "star.created": _star,
    "fork": _fork,
}

# Accepted and recorded as ignored, on purpose:
# - ping: GitHub's hello when a hook is created; answering 2xx is all it needs.
# - release.created/released/prereleased: sent together with release.published.
# - workflow_run.requested/in_progress, check_*.created: the completed event says it all.

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
)

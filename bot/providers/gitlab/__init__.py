"""GitLab webhooks: ``X-Gitlab-Token`` (the hook's secret token), ``object_kind`` dispatch.

GitLab does not sign bodies: it sends the webhook's "Secret token" as it is, so the check
is a constant-time comparison against every configured ``secret`` (a list rotates). The
handler table is keyed by ``object_kind`` or ``"<object_kind>.<action>"``; the body names
its kind whichever ``X-Gitlab-Event`` header (``Build Hook`` or ``Job Hook``, ``Issue
Hook`` or ``Confidential Issue Hook``) carried it.

Conversations: one per merge request (opened, approved, new commits, merged or closed),
one per issue, one per pipeline ref (a failure, its failed jobs, and the success that
recovers it), one per deployment.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from bot.config.source import SourceBase
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


class GitLabSource(SourceBase):
    """``[sources.<name>]`` with ``provider = "gitlab"``: the webhook's "Secret token" is
    the source's ``secret``; GitLab can present nothing else."""

    credentials: ClassVar[frozenset[str]] = frozenset({"secret"})
    provider: Literal["gitlab"]


Handler = Callable[[dict[str, Any]], dict[str, Any] | None]
"""Payload -> Event fields (``None`` when this payload is not worth a message)."""

_NO_COMMIT = "0" * 40
"""``before``/``after`` of a push that creates or deletes a ref."""


def verify(source: GitLabSource, request: WebhookRequest, now: float) -> None:
    if not source.secrets:
        return  # allow_unsigned (config validation guarantees that)
    presented = request.header("x-gitlab-token")
    if not presented:
        raise VerificationError(
            "missing X-Gitlab-Token (set the same secret as the webhook's Secret token in GitLab)",
            code="missing_token",
        )
    if any(hmac.compare_digest(presented.encode(), s.encode()) for s in source.secrets):
        return
    raise VerificationError("X-Gitlab-Token does not match the configured secret", code="bad_token")


def sign(source: GitLabSource, body: bytes, now: float) -> dict[str, str]:
    return {"X-Gitlab-Token": source.secrets[0]} if source.secrets else {}


def delivery_id(request: WebhookRequest, payload: Any) -> str:
    """``Idempotency-Key`` stays the same when GitLab retries a delivery (GitLab 17.4+);
    ``X-Gitlab-Event-UUID`` names the event on older versions."""
    return (
        request.header("idempotency-key")
        or request.header("x-gitlab-event-uuid")
        or content_digest(request.body)
    )


def normalize(
    source_name: str, source: GitLabSource, request: WebhookRequest, payload: Any
) -> list[Event]:
    if not isinstance(payload, dict):
        return []
    kind = text(payload.get("object_kind"))
    action = text(dig(payload, "object_attributes.action") or payload.get("action"))
    handler = HANDLERS.get(f"{kind}.{action}") or HANDLERS.get(kind)
    if handler is None:
        return []
    fields = handler(payload)
    if fields is None:
        return []
    fields["url"] = http_url(fields.get("url"))  # payload values are not trusted to be links
    labels = {"project": _project(payload), **fields.pop("labels", {})}
    return [
        Event(
            source=source_name,
            provider="gitlab",
            actor=text(dig(payload, "user.username") or payload.get("user_username")) or None,
            labels={k: str(v) for k, v in labels.items() if v},
            payload=payload,
            **fields,
        )
    ]


def _project(payload: dict[str, Any]) -> str:
    return text(dig(payload, "project.path_with_namespace") or payload.get("project_name"))


def _name(payload: dict[str, Any]) -> str:
    return _project(payload) or "?"


def _first_paragraph(value: Any, limit: int = 600) -> str:
    """The first paragraph of Markdown ``value`` that is more than a heading (release
    notes start with ``## v1.1``, which the title already says)."""
    if not isinstance(value, str):
        return ""
    paragraphs = [p.strip() for p in value.strip().split("\n\n") if p.strip()]
    said = [p for p in paragraphs if not all(line.startswith("#") for line in p.splitlines())]
    return shorten((said or paragraphs or [""])[0], limit)


# -- pushes ---------------------------------------------------------------------------


def _push(payload: dict[str, Any]) -> dict[str, Any] | None:
    if payload.get("after") == _NO_COMMIT:
        return None  # a deleted branch: nothing to read
    branch = text(payload.get("ref")).removeprefix("refs/heads/")
    commits = mappings(payload.get("commits"))
    count = payload.get("total_commits_count")
    count = count if isinstance(count, int) else len(commits)
    web = dig(payload, "project.web_url")
    before, after = text(payload.get("before")), text(payload.get("after"))
    compare = f"{web}/-/compare/{before}...{after}" if web and before != _NO_COMMIT else web
    return {
        "event": "push",
        "title": f"[{_name(payload)}:{branch}] {count} new commit{'s' if count != 1 else ''}",
        "text": "\n".join(text(c.get("message")).split("\n")[0] for c in commits[:5]),
        "url": compare,
        "labels": {"branch": branch},
        "occurred_at": moment(commits[-1].get("timestamp") if commits else None),
    }


def _tag_push(payload: dict[str, Any]) -> dict[str, Any] | None:
    if payload.get("after") == _NO_COMMIT:
        return None  # a removed tag
    tag = text(payload.get("ref")).removeprefix("refs/tags/")
    web = dig(payload, "project.web_url")
    return {
        "event": "push.tag",
        "title": f"[{_name(payload)}] tag {tag} pushed",
        "url": f"{web}/-/tags/{tag}" if web else None,
        "labels": {"tag": tag},
    }


# -- merge requests -------------------------------------------------------------------


def _mr_key(payload: dict[str, Any], iid: Any) -> str:
    return f"gitlab:{_name(payload)}!{iid}"


_MR_WORDS = {
    "open": ("opened", "open"),
    "reopen": ("reopened", "open"),
    "merge": ("merged", "resolved"),
    "close": ("closed", "resolved"),
    "approved": ("approved", None),
    "unapproved": ("unapproved", None),
}
"""GitLab's ``action`` -> our event suffix and the conversation's status (``None``: a
reply under the first message, which keeps showing the state)."""


def _merge_request(payload: dict[str, Any]) -> dict[str, Any] | None:
    mr = mapping(payload.get("object_attributes"))
    action = text(mr.get("action"))
    if action == "update":
        if not mr.get("oldrev"):
            return None  # title, labels, assignees: noise; oldrev is set only for new commits
        verb, status = "new_commits", None
    elif action in _MR_WORDS:
        verb, status = _MR_WORDS[action]
    else:
        return None
    who = text(dig(payload, "user.username")) or "someone"
    title = {
        "approved": f"{who} approved",
        "unapproved": f"{who} withdrew approval of",
        "new_commits": f"{who} pushed new commits to",
    }.get(verb, "Merge request")
    last_commit = text(dig(mr, "last_commit.message")).split("\n")[0]
    return {
        "event": f"merge_request.{verb}",
        "title": f"[{_name(payload)}] {title} !{mr.get('iid')}: {text(mr.get('title'))}",
        "text": _first_paragraph(mr.get("description"))
        if verb == "opened"
        else last_commit
        if verb == "new_commits"
        else "",
        "url": mr.get("url"),
        "status": status,
        "thread_key": _mr_key(payload, mr.get("iid")),
        "labels": {
            "branch": text(mr.get("target_branch")),
            "head": text(mr.get("source_branch")),
            "draft": "true" if mr.get("work_in_progress") or mr.get("draft") else "",
        },
        "occurred_at": moment(mr.get("updated_at")),
    }


# -- pipelines and jobs ---------------------------------------------------------------


def _pipeline_key(payload: dict[str, Any], ref: Any) -> str:
    return f"gitlab:{_name(payload)}:pipeline:{ref}"


_PIPELINE_DONE = {
    "failed": ("failed", "error", "open"),
    "success": ("succeeded", "info", "resolved"),
}
"""Pipeline ``status`` -> our event suffix, severity and status; running, pending and
canceled pipelines are not worth a message."""


def _pipeline(payload: dict[str, Any]) -> dict[str, Any] | None:
    run = mapping(payload.get("object_attributes"))
    outcome = _PIPELINE_DONE.get(text(run.get("status")))
    if outcome is None:
        return None
    verb, severity, status = outcome
    ref = text(run.get("ref"))
    failed = [b.get("name") for b in mappings(payload.get("builds")) if b.get("status") == "failed"]
    web = dig(payload, "project.web_url")
    return {
        "event": f"pipeline.{verb}",
        "severity": severity,
        "status": status,
        "title": f"[{_name(payload)}] Pipeline #{run.get('id')} {verb} on {ref}",
        "text": f"Failed jobs: {', '.join(text(n) for n in failed)}" if failed else "",
        "url": run.get("url") or (f"{web}/-/pipelines/{run.get('id')}" if web else None),
        "thread_key": _pipeline_key(payload, ref),
        "labels": {"branch": ref, "tag": "true" if run.get("tag") else ""},
        "occurred_at": moment(run.get("finished_at") or run.get("created_at")),
    }


def _job(payload: dict[str, Any]) -> dict[str, Any] | None:
    if payload.get("build_status") != "failed":
        return None  # the pipeline reports success; a job's progress is noise
    ref = text(payload.get("ref"))
    allowed = bool(payload.get("build_allow_failure"))
    web = dig(payload, "project.web_url") or dig(payload, "repository.homepage")
    return {
        "event": "job.failed",
        "severity": "warning" if allowed else "error",
        "title": f"[{_name(payload)}] Job {text(payload.get('build_name'))} "
        f"({text(payload.get('build_stage'))}) failed on {ref}"
        + (" (allowed to fail)" if allowed else ""),
        "text": text(payload.get("build_failure_reason")),
        "url": f"{web}/-/jobs/{payload.get('build_id')}" if web else None,
        "thread_key": _pipeline_key(payload, ref),
        "labels": {"branch": ref, "job": text(payload.get("build_name"))},
        "occurred_at": moment(payload.get("build_finished_at")),
    }


# -- issues and comments --------------------------------------------------------------

_ISSUE_WORDS = {"open": "open", "reopen": "open", "close": "resolved"}


def _issue_key(payload: dict[str, Any], iid: Any) -> str:
    return f"gitlab:{_name(payload)}#{iid}"


def _issue(payload: dict[str, Any]) -> dict[str, Any] | None:
    issue = mapping(payload.get("object_attributes"))
    action = text(issue.get("action"))
    if action not in _ISSUE_WORDS:
        return None  # updates: edits of title, labels, assignees
    verb = {"open": "opened", "reopen": "reopened", "close": "closed"}[action]
    return {
        "event": f"issue.{verb}",
        "title": f"[{_name(payload)}] Issue #{issue.get('iid')}: {text(issue.get('title'))}",
        "text": _first_paragraph(issue.get("description")) if action == "open" else "",
        "url": issue.get("url"),
        "status": _ISSUE_WORDS[action],
        "thread_key": _issue_key(payload, issue.get("iid")),
        "labels": {"confidential": "true" if issue.get("confidential") else ""},
        "occurred_at": moment(issue.get("updated_at")),
    }


def _note(payload: dict[str, Any]) -> dict[str, Any] | None:
    note = mapping(payload.get("object_attributes"))
    if note.get("system"):
        return None  # GitLab's own notes ("added 1 commit"): the events say it
    if note.get("action") == "update":
        return None  # an edited comment (GitLab 16.11+) was posted when it was made
    noteable = text(note.get("noteable_type"))
    if noteable == "MergeRequest":
        iid = dig(payload, "merge_request.iid")
        on, key = f"!{iid}: {text(dig(payload, 'merge_request.title'))}", _mr_key(payload, iid)
    elif noteable == "Issue":
        iid = dig(payload, "issue.iid")
        on, key = f"#{iid}: {text(dig(payload, 'issue.title'))}", _issue_key(payload, iid)
    elif noteable == "Commit":
        on, key = text(dig(payload, "commit.id"))[:8] or "a commit", None
    else:
        on, key = noteable.lower() or "something", None
    return {
        "event": "note.created",
        "title": f"[{_name(payload)}] New comment on {on}",
        "text": _first_paragraph(note.get("note")),
        "url": note.get("url"),
        "thread_key": key,
        "labels": {"noteable": noteable},
        "occurred_at": moment(note.get("created_at")),
    }


# -- releases and deployments ---------------------------------------------------------


def _release(payload: dict[str, Any]) -> dict[str, Any]:
    name = payload.get("name") or payload.get("tag")
    return {
        "event": "release.published",
        "title": f"[{_name(payload)}] Release {text(name)} published",
        "text": _first_paragraph(payload.get("description")),
        "url": payload.get("url"),
        "labels": {"tag": text(payload.get("tag"))},
        "occurred_at": moment(payload.get("released_at") or payload.get("created_at")),
    }


_DEPLOY_DONE = {"success", "failed", "canceled"}


def _deployment(payload: dict[str, Any]) -> dict[str, Any]:
    status = text(payload.get("status"))
    environment = text(payload.get("environment"))
    return {
        "event": f"deployment.{status or 'unknown'}",
        "severity": "error" if status == "failed" else "info",
        "status": "resolved" if status in _DEPLOY_DONE else "open",
        "title": f"[{_name(payload)}] Deployment to {environment}: {status}",
        "text": text(payload.get("commit_title")),
        "url": payload.get("deployable_url") or payload.get("environment_external_url"),
        "thread_key": f"gitlab:{_name(payload)}:deployment:{payload.get('deployment_id')}",
        "labels": {"env": environment, "branch": text(payload.get("ref"))},
        "occurred_at": moment(payload.get("status_changed_at")),
    }


HANDLERS: dict[str, Handler] = {
    "push": _push,
    "tag_push": _tag_push,
    **{f"merge_request.{action}": _merge_request for action in (*_MR_WORDS, "update")},
    "pipeline": _pipeline,
    "build": _job,
    **{f"issue.{action}": _issue for action in _ISSUE_WORDS},
    "note": _note,
    "release.create": _release,
    "deployment": _deployment,
}

# Accepted and recorded as ignored, on purpose: issue and merge request updates (edits),
# edited comments,
# release updates and deletions, wiki pages, emoji, feature flags, member and
# subgroup events, and "Test Hook" bodies of kinds without a handler.

PROVIDER = Provider(
    name="gitlab",
    config=GitLabSource,
    verify=verify,
    delivery_id=delivery_id,
    normalize=normalize,
    kept_headers=(
        "x-gitlab-event",
        "x-gitlab-event-uuid",
        "idempotency-key",
        "x-gitlab-instance",
        "x-gitlab-webhook-uuid",
        "content-type",
    ),
    supported_events=tuple(HANDLERS),
    sign=sign,
    id_from_body=False,
)

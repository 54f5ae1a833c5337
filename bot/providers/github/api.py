"""GitHub's REST API for the Re-run failed jobs button on a failed workflow run."""

from __future__ import annotations

import aiohttp

from bot.providers.api import call
from bot.providers.github import GitHubSource


async def rerun_failed_jobs(
    session: aiohttp.ClientSession, source: GitHubSource, repo: str, run_id: str
) -> None:
    """``POST /repos/{owner}/{repo}/actions/runs/{id}/rerun-failed-jobs`` (201, no body)."""
    await call(
        session,
        "GitHub",
        "POST",
        f"{source.api_url.rstrip('/')}/repos/{repo}/actions/runs/{run_id}/rerun-failed-jobs",
        headers={
            "Authorization": f"Bearer {source.api_token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
    )

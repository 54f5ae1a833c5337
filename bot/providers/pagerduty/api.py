"""PagerDuty's REST API for the Acknowledge and Resolve buttons.

``PUT /incidents/{id}`` with the incident's new status. PagerDuty requires ``From``: the
e-mail of a PagerDuty user, which is who the incident log says acted (the clicker's,
from ``[people]``, else the source's ``from_email``).
"""

from __future__ import annotations

import aiohttp

from bot.core.errors import ActionFailed
from bot.providers.api import call
from bot.providers.pagerduty import PagerDutySource


async def set_status(
    session: aiohttp.ClientSession,
    source: PagerDutySource,
    incident_id: str,
    status: str,
    email: str,
) -> str:
    """Acknowledge or resolve an incident; returns what PagerDuty says it now is."""
    sender = email if "@" in email else source.from_email
    if not sender:
        raise ActionFailed(
            "PagerDuty needs the e-mail of a PagerDuty user as From: map your chat id to it "
            "in [people], or set from_email on the source"
        )
    answer = await call(
        session,
        "PagerDuty",
        "PUT",
        f"{source.api_url.rstrip('/')}/incidents/{incident_id}",
        headers={
            "Authorization": f"Token token={source.api_token}",
            "Accept": "application/vnd.pagerduty+json;version=2",
            "From": sender,
        },
        body={"incident": {"type": "incident_reference", "status": status}},
    )
    incident = answer.get("incident") if isinstance(answer, dict) else None
    return str(incident.get("status", status)) if isinstance(incident, dict) else status

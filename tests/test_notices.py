"""What a channel is told when a mute ends."""

from __future__ import annotations

from bot.pipeline.notices import digest, ended_message
from bot.store import DeliveryRecord, MuteRecord

MUTE = MuteRecord(
    selector={"source": ["github"]},
    platform="slack",
    channel="C1",
    channel_name="eng",
    everywhere=False,
    reason="",
    creator="slack:U1",
    created_at=0.0,
    expires_at=7200.0,
    id=3,
    ended_at=7200.0,
    end_reason="expired",
)


def suppressed(event_id: str, title: str, thread: str, status: str) -> DeliveryRecord:
    return DeliveryRecord(
        id=f"{event_id}/eng",
        event_id=event_id,
        target="eng",
        platform="slack",
        address="C1",
        message={"title": title},
        thread_key=thread,
        status=status,
    )


def test_a_mute_that_kept_nothing_back_offers_nothing_to_replay():
    summary, top = digest([], {})
    message = ended_message(MUTE, "slack", summary, top)
    assert "nothing was held back" in message.title
    assert "replay" not in message.footer


def test_the_digest_counts_alerts_and_what_still_fires():
    kept = [
        suppressed("1.0", "Disk full", "t1", "open"),
        suppressed("2.0", "Disk full", "t2", "open"),
        suppressed("3.0", "CPU hot", "t3", "open"),
    ]
    summary, top = digest(kept, {"t1": "open", "t2": "resolved", "t3": "acknowledged"})
    message = ended_message(MUTE, "slack", summary, top)
    assert summary == "while muted: 3 alerts, 2 still firing"
    assert top.splitlines() == ["2× Disk full", "CPU hot"]
    assert "replay" in message.footer

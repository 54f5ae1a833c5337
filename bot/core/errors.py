"""A shallow hierarchy: each stage raises one kind, the stage above decides what to do."""

from __future__ import annotations


class BotError(Exception):
    """Base of every error the bot raises on purpose."""


class VerificationError(BotError):
    """The request is not from the configured sender (401); ``reason`` is safe to show.

    ``code`` is the same cause as a short stable word (``bad_signature``) for a metric
    label: the sentence names headers and fixes, and may be reworded."""

    def __init__(self, reason: str, *, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class PayloadError(BotError):
    """The body cannot be read as the sender's format (400)."""


class StoreUnavailable(BotError):
    """The store cannot be opened; the message names the cause and the fix."""


class DeliveryError(BotError):
    """A chat platform refused or failed a call; ``http_status`` is its answer, if any."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.http_status = http_status


class MessageGone(DeliveryError):
    """The message to edit or reply to was deleted; a new one may take its place."""

    def __init__(self, reason: str, *, http_status: int | None = None) -> None:
        super().__init__(reason, retryable=False, http_status=http_status)


class ActionFailed(BotError):
    """A provider refused or did not answer an action; the reason is safe to show the
    clicker (it names the provider's answer, never a token). ``http_status`` is the
    provider's answer, if any: 401 and 403 call for a fix in the source's config."""

    def __init__(self, reason: str, *, http_status: int | None = None) -> None:
        super().__init__(reason)
        self.http_status = http_status


class LookupFailed(BotError):
    """A chat platform could not say which workspace or guild something belongs to."""

"""The bytes of request bodies the intake holds at once, across all requests.

Each request reserves its declared size (or ``max_body_bytes`` when it declares none)
before its body is read, and gives it back once answered. Past the budget a request is
refused unread, so a crowd of large posts costs a bounded amount of memory whatever
their credentials turn out to be.
"""

from __future__ import annotations


class BodyBudget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0

    def reserve(self, size: int) -> bool:
        """Take ``size`` bytes of the budget; False (nothing taken) when they do not fit."""
        if self.in_flight + size > self.limit:
            return False
        self.in_flight += size
        return True

    def release(self, size: int) -> None:
        self.in_flight -= size

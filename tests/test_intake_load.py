"""Background work gives way to a busy intake, but never for longer than ``max_defer``."""

from __future__ import annotations

import asyncio
import time

from bot.pipeline.intake_load import IntakeLoad


async def test_a_quiet_intake_holds_nothing_up() -> None:
    load = IntakeLoad(busy_at=4, max_defer=5.0)
    load.in_flight = 3
    await asyncio.wait_for(load.give_way(), 0.5)


async def test_a_busy_intake_defers_work_until_it_calms_down() -> None:
    load = IntakeLoad(busy_at=4, max_defer=5.0)
    load.in_flight = 4
    waiting = asyncio.ensure_future(load.give_way())
    await asyncio.sleep(0.1)
    assert not waiting.done()
    load.in_flight = 1
    await asyncio.wait_for(waiting, 0.5)


async def test_a_flood_that_never_ends_still_lets_work_through() -> None:
    load = IntakeLoad(busy_at=4, max_defer=0.2)
    load.in_flight = 100
    started = time.monotonic()
    await asyncio.wait_for(load.give_way(), 2.0)
    assert time.monotonic() - started >= 0.2


async def test_waiters_are_released_together_and_one_cancelled_waiter_frees_no_other() -> None:
    load = IntakeLoad(busy_at=4, max_defer=5.0)
    load.in_flight = 10
    waiters = [asyncio.ensure_future(load.give_way()) for _ in range(50)]
    await asyncio.sleep(0.05)
    waiters[0].cancel()
    await asyncio.sleep(0.05)
    assert not any(w.done() for w in waiters[1:])
    load.in_flight = 0
    await asyncio.wait_for(asyncio.gather(*waiters[1:]), 0.5)


async def test_a_moment_of_calm_inside_a_flood_releases_nothing() -> None:
    """A commit answering many requests at once empties the intake for a moment."""
    load = IntakeLoad(busy_at=4, max_defer=5.0)
    load.in_flight = 10
    waiting = asyncio.ensure_future(load.give_way())
    for _ in range(10):
        await asyncio.sleep(0.02)
        load.in_flight = 0
        await asyncio.sleep(0.015)  # shorter than the calm it takes
        load.in_flight = 10
    assert not waiting.done()
    load.in_flight = 0
    await asyncio.wait_for(waiting, 0.5)


async def test_background_work_gets_its_turn_between_waits_in_a_flood() -> None:
    load = IntakeLoad(busy_at=4, max_defer=0.1, turn=0.3)
    load.in_flight = 100
    await asyncio.wait_for(load.give_way(), 1.0)  # held for max_defer
    await asyncio.wait_for(load.give_way(), 0.05)  # then its turn: through at once
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await load.give_way()  # the turn is over: held again
    assert time.monotonic() - started >= 0.1


def test_the_intake_is_quiet_only_once_no_webhook_came_for_a_while() -> None:
    """A backlog planned while senders are quiet may hold the store longer; one that
    arrives while webhooks come must not make their acknowledgements wait for it."""
    soon = IntakeLoad(quiet_after=3600)
    assert soon.quiet  # nothing has come since the start
    soon.arrived()
    assert not soon.quiet
    soon.answered()
    assert not soon.quiet  # answered a moment ago: more may follow

    at_once = IntakeLoad(quiet_after=0)
    at_once.arrived()
    at_once.arrived()
    at_once.answered()
    assert not at_once.quiet  # one still in flight
    at_once.answered()
    assert at_once.quiet

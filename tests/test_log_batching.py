"""Log lines are written a loop pass at a time, in order, and warnings at once."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
import weakref

import pytest

from bot.ops.logs import LoopBatchedHandler, TextFormatter


class Recording(io.StringIO):
    """A stream that remembers each write, as the system calls would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


@pytest.fixture
def logged():
    stream = Recording()
    handler = LoopBatchedHandler(stream)
    handler.setFormatter(TextFormatter())
    logger = logging.getLogger("test.batched")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


async def test_the_lines_of_one_loop_pass_go_out_together_right_after_it(logged):
    logger, stream = logged
    for n in range(3):
        logger.info("accepted", extra={"inbox": n})
    assert stream.writes == []

    await asyncio.sleep(0)

    assert len(stream.writes) == 1
    assert [line.split("inbox=")[1] for line in stream.getvalue().splitlines()] == ["0", "1", "2"]
    logger.info("accepted", extra={"inbox": 3})
    await asyncio.sleep(0)
    assert stream.getvalue().splitlines()[-1].endswith("inbox=3")


async def test_a_warning_is_written_at_once_after_the_lines_before_it(logged):
    logger, stream = logged
    logger.info("accepted")
    logger.warning("store unavailable")

    assert stream.getvalue().splitlines() == ["info    accepted", "warning store unavailable"]


async def test_a_line_from_another_thread_keeps_its_place(logged):
    logger, stream = logged
    logger.info("first, on the loop")
    worker = threading.Thread(target=logger.info, args=("second, from a thread",))
    worker.start()
    worker.join()

    assert stream.getvalue().splitlines() == [
        "info    first, on the loop",
        "info    second, from a thread",
    ]


def test_without_a_running_loop_each_line_is_written_at_once(logged):
    logger, stream = logged
    logger.info("from a command")

    assert stream.getvalue() == "info    from a command\n"


def log_as_a_loop_stops(logger: logging.Logger, message: str) -> None:
    loop = asyncio.new_event_loop()

    async def log_and_stop() -> None:
        logger.info(message)
        loop.stop()

    task = loop.create_task(log_and_stop())
    loop.run_forever()  # stops before the pass that would write the line
    loop.close()
    assert task.done()


def test_lines_a_stopped_loop_left_waiting_are_written_by_the_next_loop(logged):
    logger, stream = logged
    log_as_a_loop_stops(logger, "logged as the loop stopped")
    assert stream.getvalue() == ""

    async def next_loop() -> None:
        logger.info("on the next loop")
        await asyncio.sleep(0)

    asyncio.run(next_loop())
    assert stream.getvalue().splitlines() == [
        "info    logged as the loop stopped",
        "info    on the next loop",
    ]


def test_exit_writes_the_lines_still_waiting(logged):
    logger, stream = logged
    log_as_a_loop_stops(logger, "the last line")

    logging.shutdown([weakref.ref(logger.handlers[0])])  # what the interpreter runs at exit

    assert stream.getvalue() == "info    the last line\n"

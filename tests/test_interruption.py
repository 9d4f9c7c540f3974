"""Ctrl-C and SIGTERM end the block for sure: swallowed deliveries come again, cleanup is not cut short.

The signals are sent to this process; the block's handlers catch them, and the
previous handlers (pytest's) are back once it ends.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time

import pytest

from mspec.interruption import REDELIVERY_SECONDS, interruptions_delivered

# Long enough for several redeliveries; a block that is never ended fails the test instead of hanging.
PATIENCE_SECONDS = 10 * REDELIVERY_SECONDS


class SwallowsWhatArrivesInItsFinalizer:
    """A finalizer busy when the signal lands: Python reports the exception as ignored and goes on."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:  # the handler runs (and raises) on one of these lines
            pass


def wait_to_be_ended() -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.01)


def test_sigterm_raises_system_exit_as_a_shell_reports_it() -> None:
    with pytest.raises(SystemExit) as ending, interruptions_delivered():
        os.kill(os.getpid(), signal.SIGTERM)
        wait_to_be_ended()
    assert ending.value.code == 128 + signal.SIGTERM


def test_ctrl_c_raises_keyboard_interrupt() -> None:
    with pytest.raises(KeyboardInterrupt), interruptions_delivered():
        os.kill(os.getpid(), signal.SIGINT)
        wait_to_be_ended()


def test_an_interruption_swallowed_by_a_finalizer_is_delivered_again(
    capfd: pytest.CaptureFixture[str],
) -> None:
    started = time.monotonic()
    with pytest.raises(SystemExit), interruptions_delivered():
        SwallowsWhatArrivesInItsFinalizer()  # dropped at once: its finalizer runs here
        gc.collect()
        wait_to_be_ended()
    assert time.monotonic() - started < PATIENCE_SECONDS  # ended by a redelivery, not by running out
    assert "Exception ignored" not in capfd.readouterr().err


def test_a_block_that_ran_to_its_end_after_a_swallowed_interruption_still_ends() -> None:
    with pytest.raises(SystemExit), interruptions_delivered():
        SwallowsWhatArrivesInItsFinalizer()
        gc.collect()


def test_cleanup_under_way_is_not_cut_short_by_a_redelivery() -> None:
    cleaned = []
    with pytest.raises(SystemExit), interruptions_delivered():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            wait_to_be_ended()
        finally:
            time.sleep(3 * REDELIVERY_SECONDS)  # redeliveries arrive while the cleanup runs
            cleaned.append(True)
    assert cleaned == [True]


def test_the_previous_handlers_are_back_and_nothing_is_sent_afterwards() -> None:
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    with pytest.raises(SystemExit), interruptions_delivered():
        os.kill(os.getpid(), signal.SIGTERM)
        wait_to_be_ended()
    assert {signum: signal.getsignal(signum) for signum in before} == before
    assert not [thread for thread in threading.enumerate() if thread.name == "mspec-interruption"]


def test_outside_the_main_thread_the_block_runs_as_it_is() -> None:
    ran = []

    def body() -> None:
        with interruptions_delivered():
            ran.append(signal.getsignal(signal.SIGTERM))

    worker = threading.Thread(target=body)
    worker.start()
    worker.join()
    assert ran == [signal.getsignal(signal.SIGTERM)]

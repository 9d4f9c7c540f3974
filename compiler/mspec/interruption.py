"""Ctrl-C and SIGTERM end a command for sure, with its cleanup run, even when a framework swallows them.

Python delivers a signal by raising its exception in whatever Python code the
main thread runs next. When that code is a finalizer (a `__del__` method or a
weakref callback, which TensorFlow and Keras run many of while training), the
exception is reported as "ignored" and lost: the run goes on as if it had never
been interrupted. So, inside `interruptions_delivered`, an interruption is
delivered again every REDELIVERY_SECONDS until it is on its way out — and
never while it is, so that the cleanup in `finally` blocks is not cut short.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

REDELIVERY_SECONDS = 1.0
ENDING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def ending_exception(signum: int) -> BaseException:
    """What a signal raises: KeyboardInterrupt for Ctrl-C, SystemExit(128 + n) for SIGTERM."""
    return KeyboardInterrupt() if signum == signal.SIGINT else SystemExit(128 + signum)


def ending_under_way() -> bool:
    """Whether the code now running is unwinding from (or handling) an interruption or an exit."""
    error = sys.exc_info()[1]
    while error is not None:
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            return True
        error = error.__context__
    return False


@contextlib.contextmanager
def interruptions_delivered() -> Iterator[None]:
    """Raise KeyboardInterrupt on Ctrl-C and SystemExit on SIGTERM in the block, until one gets through.

    A SIGTERM thus runs the same cleanup as Ctrl-C (workers stop, temporary
    files go). Finalizers that swallow the exception do not hide it, and the
    "Exception ignored" report they would print is not shown. Outside the main
    thread, which alone may set signal handlers, the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    stop_redelivering = threading.Event()
    redelivery: list[threading.Thread] = []
    main_thread = threading.main_thread().ident

    def redeliver(signum: int) -> None:
        while not stop_redelivering.wait(REDELIVERY_SECONDS):
            # To the main thread only: the framework's native threads go on undisturbed.
            signal.pthread_kill(main_thread, signum)

    def on_signal(signum: int, frame: object) -> None:
        if not received:
            received.append(signum)
            thread = threading.Thread(target=redeliver, args=(signum,), name="mspec-interruption")
            thread.daemon = True
            thread.start()
            redelivery.append(thread)
        if not ending_under_way():
            raise ending_exception(received[0])

    previous_unraisable_hook = sys.unraisablehook

    def quiet_about_swallowed_interruptions(unraisable: object) -> None:
        if received and isinstance(getattr(unraisable, "exc_value", None), (KeyboardInterrupt, SystemExit)):
            return  # delivered again shortly; the "ignored" report would only alarm
        previous_unraisable_hook(unraisable)

    # A signal the process was started to ignore (SIGINT in a shell's background job) stays ignored.
    previous_handlers = {
        signum: signal.signal(signum, on_signal)
        for signum in ENDING_SIGNALS
        if signal.getsignal(signum) is not signal.SIG_IGN
    }
    sys.unraisablehook = quiet_about_swallowed_interruptions
    try:
        yield
        if received and not ending_under_way():
            raise ending_exception(received[0])  # every delivery was swallowed and the block ran to its end
    finally:
        stop_redelivering.set()
        for thread in redelivery:
            thread.join()  # no signal may be sent once the previous handlers are back
        for signum, handler in previous_handlers.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        sys.unraisablehook = previous_unraisable_hook

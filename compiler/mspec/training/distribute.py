"""Where a model trains: this process, the devices of one machine, or several processes.

- "none": Keras' default device placement in this process.
- "mirrored": tf.distribute.MirroredStrategy, one replica per device of this
  machine (GPUs, or logical CPU devices made with `cpu_devices`).
- "multi_worker": Keras 3's own distribution API on the JAX backend
  (`keras.distribution.initialize` + `DataParallel`), one process per
  machine (or several on one machine), each reading its own shard of the
  data. tf.distribute.MultiWorkerMirroredStrategy is not used: Keras 3's
  `model.fit` does not run under it.

The cluster of a multi-worker run comes from `Cluster` (command-line options)
or from Keras' own environment variables: KERAS_DISTRIBUTION_JOB_ADDRESSES
(the coordinator first, "host:port,..."), KERAS_DISTRIBUTION_NUM_PROCESSES
and KERAS_DISTRIBUTION_PROCESS_ID.

A lost process: when a process of a multi-worker run dies, the others fail in
their next exchange of gradients (gloo sees the connection closed). JAX's
coordination service would then leave them waiting until it aborts them with a
native stack trace. Instead, the service runs with JAX's recoverability on
(it does not abort the survivors) and a heartbeat timeout of
`Cluster.worker_timeout` seconds; a survivor asks it which processes are
still alive (waiting at most that long, for the service to notice), says
which one was lost and how to resume, and ends with EXIT_WORKER_LOST, writing
nothing but the backup it already had. When the lost process is the
coordinator (process 0), JAX ends the others itself, at once.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

# Seconds without a heartbeat after which JAX's coordination service counts a process as lost.
DEFAULT_WORKER_TIMEOUT = 60
# Exit status of a process whose run lost another process (sysexits' EX_TEMPFAIL: try again, with --resume).
EXIT_WORKER_LOST = 75
# How gloo reports a collective whose peer went away (JaxRuntimeError or ValueError, by the call).
_PEER_GONE = re.compile(r"Gloo \S+ failed|Connection (?:closed|reset) by peer|Broken pipe")


class DistributeError(RuntimeError):
    """The requested distribution cannot run here (wrong backend, missing JAX, no cluster)."""


@dataclass(frozen=True)
class Cluster:
    """The processes of a multi-worker run; `coordinator` is "host:port" of process 0."""

    coordinator: str | None = None
    num_processes: int | None = None
    process_id: int | None = None
    # Seconds of silence after which a process counts as lost (DEFAULT_WORKER_TIMEOUT when None).
    worker_timeout: int | None = None

    @classmethod
    def from_environment(cls) -> Cluster:
        addresses = os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
        count = os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES")
        index = os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID")
        return cls(
            coordinator=addresses.split(",")[0] if addresses else None,
            num_processes=int(count) if count else None,
            process_id=int(index) if index else None,
        )

    def merged_with(self, other: Cluster) -> Cluster:
        """Fill what this cluster leaves unset from `other`."""
        return Cluster(
            self.coordinator or other.coordinator,
            self.num_processes if self.num_processes is not None else other.num_processes,
            self.process_id if self.process_id is not None else other.process_id,
            self.worker_timeout if self.worker_timeout is not None else other.worker_timeout,
        )


@dataclass(frozen=True)
class Placement:
    """What the run found out about where it trains: recorded in run.json."""

    strategy: str
    backend: str
    replicas: int
    process_id: int = 0
    num_processes: int = 1
    worker_timeout: int = DEFAULT_WORKER_TIMEOUT

    @property
    def is_chief(self) -> bool:
        """Only process 0 writes outputs."""
        return self.process_id == 0

    @property
    def shard(self) -> tuple[int, int]:
        return self.process_id, self.num_processes


def required_backend(distribute: str) -> str | None:
    """The Keras backend a strategy needs, which must be chosen before Keras is imported."""
    if distribute == "multi_worker":
        return "jax"
    if distribute == "mirrored":
        return "tensorflow"
    return None


def choose_backend(distribute: str) -> str:
    """Set KERAS_BACKEND for the strategy (before Keras is imported); return the backend in use."""
    import sys

    needed = required_backend(distribute)
    current = os.environ.get("KERAS_BACKEND", "tensorflow")
    if needed is None:
        return current
    if "keras" in sys.modules and current != needed:
        raise DistributeError(
            f"distribute = {distribute!r} needs Keras' {needed} backend, but Keras is already loaded with "
            f"{current!r}; set KERAS_BACKEND={needed} before importing keras"
        )
    if needed == "jax":
        import importlib.util

        if importlib.util.find_spec("jax") is None:
            raise DistributeError(
                "distribute = 'multi_worker' trains on Keras' JAX backend; install it with: "
                "pip install 'mspec[jax]'"
            )
    os.environ["KERAS_BACKEND"] = needed
    return needed


def split_cpu(devices: int) -> None:
    """Make `devices` logical CPU devices (TensorFlow), to run mirrored training on a machine without GPUs."""
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(devices)]
    )


@contextlib.contextmanager
def placement_scope(distribute: str, cluster: Cluster, cpu_devices: int | None):
    """Enter the strategy for building and fitting a model; yield its Placement."""
    import keras

    backend = keras.backend.backend()
    if distribute == "none":
        yield Placement("none", backend, 1)
    elif distribute == "mirrored":
        import tensorflow as tf

        if cpu_devices:
            split_cpu(cpu_devices)
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        strategy = tf.distribute.MirroredStrategy(devices)
        with strategy.scope():
            yield Placement("mirrored", backend, strategy.num_replicas_in_sync)
    elif distribute == "multi_worker":
        yield _multi_worker(cluster.merged_with(Cluster.from_environment()), backend)
    else:
        raise DistributeError(f"unknown distribute setting {distribute!r}")


def _multi_worker(cluster: Cluster, backend: str) -> Placement:
    import keras

    missing = [
        flag
        for flag, value in (
            ("--coordinator", cluster.coordinator),
            ("--num-processes", cluster.num_processes),
            ("--process-id", cluster.process_id),
        )
        if value is None
    ]
    if missing:
        raise DistributeError(
            "distribute = 'multi_worker' needs the cluster: give "
            + ", ".join(missing)
            + " (or KERAS_DISTRIBUTION_JOB_ADDRESSES, _NUM_PROCESSES and _PROCESS_ID)"
        )
    if not 0 <= cluster.process_id < cluster.num_processes:
        raise DistributeError(f"--process-id {cluster.process_id} is not in 0..{cluster.num_processes - 1}")
    import jax

    # On CPUs, JAX's processes exchange gradients through gloo.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    # The coordination service must not abort the survivors of a lost process: they stop themselves
    # (worker_loss_ends_run), which lets them say which process was lost, with no native stack trace.
    jax.config.update("jax_enable_recoverability", True)
    timeout = cluster.worker_timeout or DEFAULT_WORKER_TIMEOUT
    # What keras.distribution.initialize does, with the timeouts it does not pass on.
    jax.distributed.initialize(
        cluster.coordinator,
        cluster.num_processes,
        cluster.process_id,
        heartbeat_timeout_seconds=timeout,
        shutdown_timeout_seconds=timeout,
    )
    _same_seed_everywhere(keras)
    # Each process feeds its own shard: Keras must not shard the data again.
    distribution = keras.distribution.DataParallel(auto_shard_dataset=False)
    keras.distribution.set_distribution(distribution)
    placement = Placement(
        "multi_worker", backend, len(jax.devices()), cluster.process_id, cluster.num_processes, timeout
    )
    # Registered after JAX's own exit handler (jax.distributed.shutdown), so it runs before it.
    atexit.register(_leave_in_order, placement)
    return placement


def _leave_in_order(place: Placement) -> None:
    """At exit, leave the coordination service in order: the others first, process 0 (which hosts it) last.

    With recoverability on, JAX's shutdown no longer waits for every process:
    process 0 would close the service under a process still leaving it, which
    JAX then aborts. Process 0 waits (at most the worker timeout) until the
    others are gone.
    """
    import jax

    if place.is_chief:
        waiting = threading.Thread(target=_until_alone, name="mspec-leaving", daemon=True)
        waiting.start()
        waiting.join(place.worker_timeout)
    with contextlib.suppress(Exception):
        jax.distributed.shutdown()


def _until_alone() -> None:
    """Return once this is the only process the coordination service counts as alive."""
    import time

    import jax
    from jax.experimental import multihost_utils

    me = jax.process_index()
    while True:
        try:
            # A barrier among the live processes: it returns when the others have asked too, or left.
            with multihost_utils.live_devices(jax.devices()) as alive:
                others = {d.process_index for d in alive} - {me}
        except multihost_utils.ProcessFailureError:
            continue  # some left while asking: ask again
        except Exception:
            return
        if not others:
            return
        time.sleep(0.05)


def _same_seed_everywhere(keras: Any) -> None:
    """One random seed for every process (as keras.distribution.initialize does): the same initial weights.

    A seeded run sets its own seed afterwards.
    """
    import numpy as np
    from jax.experimental import multihost_utils

    mine = np.asarray(np.random.SeedSequence().generate_state(1)[0] >> 1, dtype=np.int64)
    keras.utils.set_random_seed(int(multihost_utils.broadcast_one_to_all(mine)))


@contextlib.contextmanager
def worker_loss_ends_run(place: Placement) -> Iterator[None]:
    """In a multi-worker run, a collective failed by a process that died ends in stop_for_lost_process."""
    if place.strategy != "multi_worker":
        yield
        return
    try:
        yield
    except Exception as error:
        if not _PEER_GONE.search(str(error)):
            raise
        stop_for_lost_process(place)


def stop_for_lost_process(place: Placement) -> NoReturn:
    """Say which process was lost and how to go on, then end this process at once (EXIT_WORKER_LOST).

    At once (os._exit): the interpreter's normal exit would wait on JAX's
    shutdown barrier, which the lost process never reaches.
    """
    from .checkpoint import resume_note

    lost = _lost_processes(place)
    if lost is None:
        who = f"the coordination service did not answer within {place.worker_timeout} s"
    elif lost:
        names = ", ".join(str(p) for p in sorted(lost))
        who = f"lost process {names} of {place.num_processes} (it stopped answering)"
    else:
        who = "an exchange with another process failed, though every process still answers"
    note = resume_note("restart every process") or "no epoch was completed: start every process again"
    message = (
        f"mspec: not trained: {who}; process {place.process_id} stopped, nothing written\nmspec: {note}\n"
    )
    _exit_with(message, EXIT_WORKER_LOST)


def _lost_processes(place: Placement) -> set[int] | None:
    """The processes JAX's coordination service counts as lost; None if it does not say in time.

    live_devices waits for every live process to ask too, and for the service
    to notice a dead one (its heartbeat timeout): in a thread, so that the wait
    is bounded whatever happens to the service.
    """
    import jax
    from jax.experimental import multihost_utils

    found: list[set[int]] = []

    def ask() -> None:
        everyone = {d.process_index for d in jax.devices()}
        try:
            with multihost_utils.live_devices(jax.devices()) as alive:
                found.append(everyone - {d.process_index for d in alive})
        except multihost_utils.ProcessFailureError as failure:
            found.append({d.process_index for d in failure.failed_devices})
        except Exception:  # the service itself is gone: not knowing is the answer
            pass

    asking = threading.Thread(target=ask, name="mspec-live-processes", daemon=True)
    asking.start()
    asking.join(place.worker_timeout + 10)
    return found[0] if found else None


def _exit_with(message: str, status: int) -> NoReturn:
    """Write `message` to stderr and end the process now, once what was written has reached its reader."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.write(message)
        sys.stderr.flush()
    _drain(2)
    os._exit(status)


def _drain(fd: int, wait: float = 2.0) -> None:
    """Wait (at most `wait` seconds) until a pipe on `fd` is read empty.

    While a command runs, stderr may be a pipe to a thread that filters out
    native log lines (quiet.native_lines_held_back); ending the process first
    would lose the lines still in it.
    """
    import fcntl
    import struct
    import termios
    import time

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            pending = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0]
        except OSError:
            return  # not a pipe: written already
        if not pending:
            time.sleep(0.05)  # the reader may hold the last line, read but not yet passed on
            return
        time.sleep(0.02)


def describe(placement: Placement) -> dict[str, Any]:
    return {
        "strategy": placement.strategy,
        "backend": placement.backend,
        "replicas": placement.replicas,
        "process_id": placement.process_id,
        "num_processes": placement.num_processes,
    }

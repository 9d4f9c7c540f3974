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
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any


class DistributeError(RuntimeError):
    """The requested distribution cannot run here (wrong backend, missing JAX, no cluster)."""


@dataclass(frozen=True)
class Cluster:
    """The processes of a multi-worker run; `coordinator` is "host:port" of process 0."""

    coordinator: str | None = None
    num_processes: int | None = None
    process_id: int | None = None

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
        )


@dataclass(frozen=True)
class Placement:
    """What the run found out about where it trains: recorded in run.json."""

    strategy: str
    backend: str
    replicas: int
    process_id: int = 0
    num_processes: int = 1

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
    keras.distribution.initialize(cluster.coordinator, cluster.num_processes, cluster.process_id)
    # Each process feeds its own shard: Keras must not shard the data again.
    distribution = keras.distribution.DataParallel(auto_shard_dataset=False)
    keras.distribution.set_distribution(distribution)
    return Placement("multi_worker", backend, len(jax.devices()), cluster.process_id, cluster.num_processes)


def describe(placement: Placement) -> dict[str, Any]:
    return {
        "strategy": placement.strategy,
        "backend": placement.backend,
        "replicas": placement.replicas,
        "process_id": placement.process_id,
        "num_processes": placement.num_processes,
    }

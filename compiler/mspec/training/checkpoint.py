"""A backup after every epoch, so that `mspec fit --resume` continues a run that was stopped.

Where: `<output-dir>/.<name>.backup/`, beside the outputs it will become (in a
multi-worker run, process P > 0 keeps its own, `.<name>.backup-P/`: the
processes may share a folder). After each completed epoch N it holds

    epoch-N.weights.h5   the model's weights and the optimizer's state (Keras' save_weights)
    epoch-N.state.npz    the random generators' states (Dropout ...) and early stopping's best weights
    epoch-N.json         the epoch, the whole history so far, the NumPy random state, early
                         stopping's and ReduceLROnPlateau's counters, and what the run trains on

Each file is written to a temporary file and renamed into place, the JSON last:
an epoch is in the backup once its JSON is, so a process killed at any moment
(SIGKILL included) leaves a backup that loads. The last two epochs are kept: in
a multi-worker run a process may have been lost after some processes saved
epoch N and before others did, and every process must resume from the same.

Resuming restores the weights, the optimizer, the random states and the
callbacks' counters, and passes fit the epoch to start from: with a seed, a
resumed run ends with the weights of a run never stopped (on one machine), and
its history, balance included, is the whole run's. The backup records the
sha256 of the spec and the data and every setting; a backup of another spec,
other data or other settings is refused (ResumeError), never loaded.

keras.callbacks.BackupAndRestore is not used: it writes its weights and then
its epoch number in place, so a process killed between the two resumes from
the wrong epoch, and it keeps neither the history nor the random state.

A run without --resume starts over: it replaces an earlier backup once its own
first epoch is saved. The backup is removed once the run's outputs are written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..files import temporary_beside
from . import record

FORMAT = 1
# Epochs kept in a backup: the last, and the one before for a multi-worker run to agree on.
KEPT_EPOCHS = 2
# Counters of Keras' stateful callbacks that decide what they do next (and so the run's weights).
CALLBACK_STATE = {
    "EarlyStopping": ("wait", "best", "best_epoch", "stopped_epoch"),
    "ReduceLROnPlateau": ("wait", "best", "cooldown_counter"),
}
_EPOCH_FILE = re.compile(r"^epoch-(\d+)\.json$")


class ResumeError(RuntimeError):
    """The backup cannot be resumed: it is of another spec, other data or other settings, or is unreadable."""


def backup_folder(output_dir: str | os.PathLike, name: str, process_id: int = 0) -> Path:
    """`<output-dir>/.<name>.backup`, or `.<name>.backup-P` for process P > 0 of a multi-worker run."""
    suffix = "" if process_id == 0 else f"-{process_id}"
    return Path(output_dir) / f".{name}.backup{suffix}"


def fingerprint(spec_sha256: str, data: Any, validation: Any, settings: Any, processes: int) -> dict:
    """What a run trains on and how: a backup resumes only a run with the same.

    `spec_sha256` is the hash of the spec bytes that were checked (Document.sha256).
    """
    return {
        "spec_sha256": spec_sha256,
        "data_sha256": record.sha256_of(data),
        "validation_sha256": None if validation is None else record.sha256_of(validation),
        # Through JSON, so that a fingerprint read back compares equal (tuples become lists).
        "settings": json.loads(json.dumps(dataclasses.asdict(settings), default=str)),
        "processes": processes,
    }


def differences(saved: dict, current: dict) -> list[str]:
    """What differs between the fingerprint of a backup and the current run's, in words."""
    found = []
    for key, what in (
        ("spec_sha256", "the spec"),
        ("data_sha256", "the training data"),
        ("validation_sha256", "the validation data"),
    ):
        if saved.get(key) != current.get(key):
            found.append(f"{what} changed")
    old, new = saved.get("settings", {}), current.get("settings", {})
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            found.append(f"{key} was {_shown(old.get(key))}, now {_shown(new.get(key))}")
    if saved.get("processes") != current.get("processes"):
        found.append(f"it ran on {saved.get('processes')} process(es), now {current.get('processes')}")
    return found


def _shown(value: Any) -> str:
    return json.dumps(value) if value is not None else "unset"


class Backup:
    """The backup folder of one run: its saved epochs, what they were trained on, and their removal."""

    def __init__(self, folder: Path, fingerprint: dict):
        self.folder = folder
        self.fingerprint = fingerprint
        # Set by the first save of a run that does not resume: older epochs are then replaced.
        self.replacing = True
        # The output folder, when the backup made it: a process that writes no output leaves none behind.
        self.made_parent: Path | None = None

    def epochs(self) -> list[int]:
        """The complete epochs on disk (their JSON is written last), oldest first."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.iterdir():
            match = _EPOCH_FILE.match(path.name)
            if match:
                found.append(int(match.group(1)))
        return sorted(found)

    def state(self, epoch: int) -> dict:
        """The JSON of a saved epoch; ResumeError if it cannot be read."""
        path = self._path(epoch, "json")
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise ResumeError(f"the backup {path} cannot be read: {error}") from error
        if state.get("format") != FORMAT or state.get("epoch") != epoch:
            raise ResumeError(f"{path} is not a backup this version of mspec writes")
        return state

    def check(self) -> int:
        """The last epoch to resume from (0: no backup); ResumeError if the backup is of another run."""
        epochs = self.epochs()
        if not epochs:
            return 0
        state = self.state(epochs[-1])
        changed = differences(state.get("fingerprint", {}), self.fingerprint)
        if changed:
            raise ResumeError(
                f"the backup in {self.folder} is of another run ({'; '.join(changed)}); "
                "run without --resume to start over (the backup is then replaced)"
            )
        return epochs[-1]

    def _path(self, epoch: int, kind: str) -> Path:
        suffix = {"json": "json", "weights": "weights.h5", "arrays": "state.npz"}[kind]
        return self.folder / f"epoch-{epoch:04d}.{suffix}"

    def save(self, epoch: int, model: Any, state: dict, arrays: dict[str, Any]) -> None:
        """Write epoch `epoch`: weights, arrays, then its JSON; then drop the epochs no longer kept."""
        import numpy as np

        if self.replacing:
            # A run that does not resume starts its own backup: no other run's epoch may pass for one of it.
            self.remove()
            self.replacing = False
        if not self.folder.parent.exists():
            self.made_parent = self.folder.parent
        self.folder.mkdir(parents=True, exist_ok=True)
        weights = self._path(epoch, "weights")
        with temporary_beside(weights, ".weights.h5") as temporary:
            model.save_weights(str(temporary))
            _fsync(temporary)
            temporary.replace(weights)
        saved_arrays = self._path(epoch, "arrays")
        with temporary_beside(saved_arrays, ".npz") as temporary:
            with open(temporary, "wb") as stream:
                np.savez(stream, **arrays)
            _fsync(temporary)
            temporary.replace(saved_arrays)
        document = {"format": FORMAT, "epoch": epoch, "fingerprint": self.fingerprint, **state}
        with temporary_beside(self._path(epoch, "json")) as temporary:
            temporary.write_text(json.dumps(document, indent=1) + "\n")
            _fsync(temporary)
            temporary.replace(self._path(epoch, "json"))
        for old in self.epochs()[:-KEPT_EPOCHS]:
            for kind in ("json", "weights", "arrays"):  # the JSON first: the epoch is gone before its files
                self._path(old, kind).unlink(missing_ok=True)
        _kept.update(folder=self.folder, epoch=epoch)

    def load_arrays(self, epoch: int) -> dict[str, Any]:
        import numpy as np

        with np.load(self._path(epoch, "arrays")) as saved:
            return {key: saved[key] for key in saved.files}

    def weights_path(self, epoch: int) -> Path:
        return self._path(epoch, "weights")

    def remove(self) -> None:
        """Remove the backup (after the run's outputs are written, or when a new run replaces it)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.made_parent is not None:
            with contextlib.suppress(OSError):  # not empty: the outputs are there
                self.made_parent.rmdir()
        if _kept.get("folder") == self.folder:
            _kept.clear()


def _fsync(path: Path) -> None:
    with open(path, "rb+") as stream:
        os.fsync(stream.fileno())


def prepare(
    output_dir: str | os.PathLike | None,
    name: str,
    fingerprint_of: Callable[[], dict],
    resume: bool,
    process_id: int,
    log: Callable[[str], None],
) -> tuple[Backup | None, int]:
    """The run's backup and the epoch it resumes from (0: from the start), before any framework starts.

    No output folder, no backup. With `resume`, a backup of another run raises
    ResumeError; no backup at all is said, and the run starts from the first
    epoch (as a restarted job that always passes --resume expects).
    """
    if output_dir is None:
        if resume:
            raise ResumeError("resuming needs the output folder, where the backup is")
        return None, 0
    backup = Backup(backup_folder(output_dir, name, process_id), fingerprint_of())
    if not resume:
        earlier = backup.epochs()
        if earlier and process_id == 0:
            log(
                f"starting over: the backup of epoch {earlier[-1]} in {backup.folder} is replaced "
                "once this run's first epoch is done (--resume continues it instead)"
            )
        return backup, 0
    epoch = backup.check()
    if epoch == 0:
        if process_id == 0:
            log(f"nothing to resume: no backup in {backup.folder}; training from the first epoch")
        return backup, 0
    backup.replacing = False
    return backup, epoch


def agree(backup: Backup | None, epoch: int, resume: bool, place: Any) -> int:
    """The epoch every process of a multi-worker run resumes from: the last one all of them saved.

    Every process must join (a collective), whatever it found. Raises
    ResumeError, on every process, when only some were given --resume, or
    when the processes' backups have no epoch in common.
    """
    if place.num_processes == 1:
        return epoch
    import numpy as np
    from jax.experimental import multihost_utils

    saved = backup.epochs() if (backup is not None and resume and epoch) else []
    mine = [int(resume), *([-1] * KEPT_EPOCHS + saved)[-KEPT_EPOCHS:]]
    everyone = np.asarray(multihost_utils.process_allgather(np.asarray(mine, dtype=np.int64)))
    if len(set(everyone[:, 0].tolist())) > 1:
        raise ResumeError("--resume was given to some processes and not to others: give it to all or none")
    if not resume:
        return 0
    sets = [{int(e) for e in row[1:] if e > 0} for row in everyone]
    if not any(sets):
        return 0
    common = set.intersection(*sets)
    if not common:
        found = ", ".join(f"process {i}: {sorted(s) or 'none'}" for i, s in enumerate(sets))
        raise ResumeError(
            f"the processes' backups have no epoch in common ({found}); run without --resume to start over"
        )
    return max(common)


def make_callback(
    keras: Any,
    backup: Backup,
    resume_from: int,
    callbacks: list[Any],
    recorders: list[Any],
) -> Any:
    """The Keras callback that saves after each epoch and, resuming, restores in on_train_begin.

    It must come after `callbacks` (EarlyStopping ...) and `recorders`
    (balance) in fit's list: their on_train_begin resets what it restores, and
    their on_epoch_end updates what it saves.
    """

    # Only Keras' own stateful callbacks: the settings (in the fingerprint) make the same ones.
    stateful = [c for c in callbacks if type(c).__name__ in CALLBACK_STATE]

    class BackupCallback(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.history: dict[str, list[float | None]] = {}
            self.restored = 0

        def on_train_begin(self, logs=None):
            if resume_from:
                self._restore(resume_from)

        def on_epoch_end(self, epoch, logs=None):
            for key, value in record.clean_history({k: [v] for k, v in (logs or {}).items()}).items():
                self.history.setdefault(key, []).append(value[0])
            backup.save(epoch + 1, self.model, self._state(), self._arrays())

        def whole_history(self) -> dict[str, list[float | None]]:
            """Keras' logs of every epoch, restored ones included, and the recorders' series."""
            whole = {key: list(values) for key, values in self.history.items()}
            for recorder in recorders:
                whole.update(getattr(recorder, "history_entries", dict)())
            return whole

        def _state(self) -> dict:
            import numpy as np

            kind, keys, position, has_gauss, cached = np.random.get_state()
            return {
                "history": self.whole_history(),
                "keras_keys": sorted(self.history),
                "stopped": bool(getattr(self.model, "stop_training", False)),
                "numpy_random": [kind, keys.tolist(), int(position), int(has_gauss), float(cached)],
                "callbacks": [_callback_state(c) for c in stateful],
            }

        def _arrays(self) -> dict[str, Any]:
            arrays = {f"random_{i}": _numpy(v) for i, v in enumerate(_random_state_variables(self.model))}
            for i, callback in enumerate(stateful):
                for j, weights in enumerate(getattr(callback, "best_weights", None) or []):
                    arrays[f"best_{i}_{j}"] = _numpy(weights)
            return arrays

        def _restore(self, epoch: int) -> None:
            import numpy as np

            model = self.model
            if model.optimizer is not None and not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)  # its variables must exist to be loaded
            model.load_weights(str(backup.weights_path(epoch)))
            state = backup.state(epoch)
            arrays = backup.load_arrays(epoch)
            for i, variable in enumerate(_random_state_variables(model)):
                variable.assign(arrays[f"random_{i}"])
            kind, keys, position, has_gauss, cached = state["numpy_random"]
            np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
            for i, (callback, saved) in enumerate(zip(stateful, state["callbacks"], strict=True)):
                for key, value in saved.items():
                    if key != "type":
                        setattr(callback, key, value)
                best = [arrays[f"best_{i}_{j}"] for j in range(len(arrays)) if f"best_{i}_{j}" in arrays]
                if best:
                    callback.best_weights = best
            history = state["history"]
            self.history = {key: list(history[key]) for key in state["keras_keys"] if key in history}
            for recorder in recorders:
                series = getattr(recorder, "history", None)
                if isinstance(series, dict):
                    for key in series:
                        if key in history:
                            series[key] = list(history[key])
            self.restored = epoch

    return BackupCallback()


def stopped_early(backup: Backup, epoch: int) -> bool:
    """Whether the run saved at `epoch` had been stopped by early stopping: nothing is left to train."""
    return bool(epoch) and bool(backup.state(epoch).get("stopped"))


def _callback_state(callback: Any) -> dict:
    names = CALLBACK_STATE[type(callback).__name__]
    state: dict[str, Any] = {"type": type(callback).__name__}
    for name in names:
        value = getattr(callback, name, None)
        state[name] = None if value is None else float(value) if name == "best" else int(value)
    return state


def _random_state_variables(model: Any) -> list[Any]:
    """The model's variables that are not weights: the seed generators' states (Dropout, noise ...).

    model.save_weights leaves them out; without them a resumed run draws other
    dropout masks than the run it continues.
    """
    weights = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def _numpy(value: Any) -> Any:
    import numpy as np

    return np.asarray(value)


# The backup this process saved last, for the messages of a run that stops before its end.
_kept: dict[str, Any] = {}


def resume_note(who: str = "run the same command") -> str | None:
    """'the backup of epoch N is in FOLDER: WHO with --resume ...', if this process saved one in the run."""
    if not _kept:
        return None
    return (
        f"the backup of epoch {_kept['epoch']} is in {_kept['folder']}: "
        f"{who} with --resume to continue from there"
    )


@contextlib.contextmanager
def noted_on_interruption(log: Callable[[str], None]) -> Iterator[None]:
    """Say where the backup is when the run is interrupted (Ctrl-C, SIGTERM); the interruption goes on."""
    try:
        yield
    except (KeyboardInterrupt, SystemExit) as ending:
        note = resume_note()
        if note and not (isinstance(ending, SystemExit) and ending.code in (None, 0)):
            log(f"mspec: {note}")
        raise

"""Data files that cannot be read: a clear message naming the file, exit 2, never a traceback.

A corpus of broken files (empty, truncated, damaged pages behind a valid
footer, another format under the suffix, pickled arrays, ragged or non-UTF-8
CSV rows, binary garbage, a directory, a missing path, no permission) goes
through `mspec lint --data`, `mspec fit` and `mspec explain`, each in a
process of its own: every run must exit 2, name the file and what could not
be read in it on standard error, show no traceback, write nothing and never
import TensorFlow, Keras or JAX. Files damaged after they were opened, and
random damage, must give `DataError` from every reading function.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pacsv = pytest.importorskip("pyarrow.csv")

from mspec.api import check_text  # noqa: E402
from mspec.data import DataError, bind, check_data, iter_batches, load_arrays, open_data  # noqa: E402

SPEC = """\
[model]
name = "m"

[inputs.x]
shape = [1]

[outputs.y]
from = "x"
layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
loss = "binary_crossentropy"
"""
ROWS = 5000
ROW_GROUP = 1000
FRAMEWORKS = ("tensorflow", "keras", "jax")
# Rows before the ragged row of ragged_late.csv: more than one 4 MiB block, so the row is found
# by the full scan, not when the file is opened.
LATE_ROWS = 400_000


def good_table(rows: int = ROWS) -> pa.Table:
    rng = np.random.default_rng(0)
    return pa.table({"x": rng.random(rows), "y": rng.integers(0, 2, rows).astype(np.float64)})


def parquet_bytes(folder: Path) -> bytes:
    path = folder / "good_source.parquet"
    pq.write_table(good_table(), path, row_group_size=ROW_GROUP)
    return path.read_bytes()


def npz_bytes(folder: Path, *, compressed: bool = False) -> bytes:
    path = folder / "good_source.npz"
    table = good_table()
    arrays = {name: table.column(name).to_numpy() for name in ("x", "y")}
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return path.read_bytes()


def garble(raw: bytes, start: int, stop: int, seed: int = 0) -> bytes:
    """`raw` with bytes [start, stop) replaced by seeded random bytes."""
    noise = random.Random(seed).randbytes(stop - start)
    return raw[:start] + noise + raw[stop:]


def damage_parquet_column(path: Path, row_group: int, column: str) -> None:
    """Garble the second half of one column chunk in place; the footer stays valid."""
    chunk = (
        pq.ParquetFile(path)
        .metadata.row_group(row_group)
        .column(pq.ParquetFile(path).schema_arrow.get_field_index(column))
    )
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    middle, end = start + chunk.total_compressed_size // 2, start + chunk.total_compressed_size
    raw = path.read_bytes()
    path.write_bytes(garble(raw, middle, end))


def damage_npz_member(path: Path, member: str) -> None:
    """Garble the middle of a compressed member's deflate stream; the zip directory stays valid."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    raw = path.read_bytes()
    # The local header (30 bytes, the name, the extra field) comes before the member's data.
    data = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    path.write_bytes(garble(raw, data + info.compress_size // 3, data + 2 * info.compress_size // 3))


class Unpickled:
    """Unpickling this object creates the directory `marker`: proof that a pickle was loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def _corrupt_pages(folder: Path, path: Path) -> None:
    pq.write_table(good_table(), path, row_group_size=ROW_GROUP)
    damage_parquet_column(path, 3, "y")


def _corrupt_member(folder: Path, path: Path) -> None:
    path.write_bytes(npz_bytes(folder, compressed=True))
    damage_npz_member(path, "y.npy")


def _pickled(folder: Path, path: Path) -> None:
    objects = np.empty(ROWS, dtype=object)
    objects[:] = [Unpickled(folder / "UNPICKLED")] * ROWS
    np.savez(path, x=objects, y=np.zeros(ROWS))


def _ragged_late(folder: Path, path: Path) -> None:
    with path.open("wb") as handle:
        handle.write(b"x,y\n" + b"0.1234567,1\n" * LATE_ROWS + b"0.5,1,7\n" + b"0.25,0\n" * 10)


def _write(data: bytes) -> Callable[[Path, Path], None]:
    return lambda folder, path: path.write_bytes(data)


NOISE = random.Random(1).randbytes(4096)
# name -> (how to make it, what the message must say after "{path}: ").
CORPUS: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "empty.csv": (_write(b""), "cannot read as csv: the file is empty (0 bytes)"),
    "empty.parquet": (_write(b""), "cannot read as parquet: the file is empty (0 bytes)"),
    "empty.npz": (_write(b""), "cannot read as npz: the file is empty (0 bytes)"),
    "truncated.parquet": (
        lambda folder, path: path.write_bytes(parquet_bytes(folder)[:20_000]),
        "its footer is missing or damaged (truncated?)",
    ),
    "truncated.npz": (
        lambda folder, path: path.write_bytes(npz_bytes(folder)[:50_000]),
        "its directory is missing or damaged (truncated?)",
    ),
    "corrupt_pages.parquet": (_corrupt_pages, "cannot read as parquet: row group 3, column 'y': "),
    "corrupt_member.npz": (_corrupt_member, "cannot read as npz: array 'y': "),
    "text.parquet": (_write(b"x,y\n0.5,1\n"), "the file holds text (a CSV file? name it .csv)"),
    "parquet_inside.npz": (
        lambda folder, path: path.write_bytes(parquet_bytes(folder)),
        "the file is a Parquet file: name it .parquet",
    ),
    "pickled.npz": (_pickled, "array 'x' holds Python objects (pickled), which mspec never loads"),
    "ragged_early.csv": (
        _write(b"x,y\n0.5,1\n0.25,0,7\n0.75,1\n"),
        "cannot read as csv: line 3: 3 cells where the header has 2: '0.25,0,7'",
    ),
    "ragged_late.csv": (
        _ragged_late,
        f"cannot read as csv: line {LATE_ROWS + 2:,}: 3 cells where the header has 2: '0.5,1,7'",
    ),
    "binary.csv": (_write(NOISE), "cannot read as csv: the file holds binary data, not text"),
    "parquet_inside.csv": (
        lambda folder, path: path.write_bytes(parquet_bytes(folder)),
        "cannot read as csv: the file is a Parquet file: name it .parquet",
    ),
    "utf16.csv": (
        _write("x,y\r\n0.5,1\r\n".encode("utf-16")),
        "cannot read as csv: the file is UTF-16 text, not UTF-8 text: mspec reads CSV files as UTF-8",
    ),
    "binary.parquet": (_write(NOISE), "cannot read as parquet: "),
    "binary.npz": (_write(NOISE), "cannot read as npz: "),
    "latin1_cell.csv": (
        _write("x,y\n0.5,1\ncafé,0\n".encode("latin-1")),
        "cannot read as csv: column 'x': not UTF-8 text: mspec reads CSV files as UTF-8",
    ),
    "latin1_header.csv": (
        _write("x,y,année\n0.5,1,2\n".encode("latin-1")),
        "cannot read as csv: the header line: byte 0xe9 is not UTF-8 text",
    ),
    "directory.csv": (lambda folder, path: path.mkdir(), ""),
    "missing.parquet": (lambda folder, path: None, ""),
}
# What `mspec lint --data` says of the two paths that are not files (fit and explain say their own).
NOT_A_FILE = {"directory.csv": "is a directory", "missing.parquet": "no such file"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("unreadable")
    (folder / "spec.toml").write_text(SPEC)
    (folder / "model.keras").write_bytes(b"")  # never opened: the data fails first
    for name, (make, _) in CORPUS.items():
        make(folder, folder / name)
    return folder


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python -X importtime -m mspec ARGS`: standard error also lists every module imported."""
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mspec", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def imported(stderr: str) -> set[str]:
    """The top-level packages `-X importtime` reported (lines "import time: self | total | name")."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def message(stderr: str) -> str:
    """Standard error without the import-time lines."""
    return "\n".join(line for line in stderr.splitlines() if not line.startswith("import time:"))


COMMANDS = {
    "lint": lambda data, out: ["lint", "spec.toml", "--data", data],
    "fit": lambda data, out: ["fit", "spec.toml", "--data", data, "-o", str(out)],
    "explain": lambda data, out: [
        "explain", "spec.toml", "--model", "model.keras", "--data", data, "-o", str(out / "report.png")
    ],
}  # fmt: skip
PREFIX = {"lint": "mspec: ", "fit": "mspec: not trained: ", "explain": "mspec: not explained: "}


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_unreadable_file_exits_2_naming_it(corpus: Path, tmp_path: Path, name: str, command: str) -> None:
    out = tmp_path / "out"
    done = run(*COMMANDS[command](name, out), cwd=corpus)
    said = message(done.stderr)
    assert done.returncode == 2, (done.returncode, said, done.stdout)
    assert "Traceback" not in said + done.stdout, said
    assert name in said, said
    if CORPUS[name][1]:
        # One line: the command's prefix, the file, what could not be read and why.
        lines = [line for line in said.splitlines() if line.startswith(f"{PREFIX[command]}{name}: ")]
        assert len(lines) == 1 and CORPUS[name][1] in lines[0], said
    elif command == "lint":
        assert NOT_A_FILE[name] in said, said
    assert not out.exists(), sorted(out.rglob("*"))
    assert not imported(done.stderr) & set(FRAMEWORKS), imported(done.stderr) & set(FRAMEWORKS)
    # The pickled array was refused unread: its object's __reduce__ would have made this directory.
    assert not (corpus / "UNPICKLED").exists()


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_file_without_read_permission(corpus: Path, tmp_path: Path, command: str) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root, which reads a file whatever its permissions (chmod 000)")
    path = tmp_path / "locked.csv"
    path.write_text("x,y\n0.5,1\n")
    path.chmod(0)
    done = run(*COMMANDS[command](str(path), tmp_path / "out"), cwd=corpus)
    said = message(done.stderr)
    assert done.returncode == 2 and "Traceback" not in said, said
    assert f"{path}: cannot open: Permission denied" in said, said


def test_every_corpus_file_fails_to_open_or_check(corpus: Path) -> None:
    """The same messages from the Python API: open_data or check_data raise DataError."""
    result = check_text(SPEC, name=str(corpus / "spec.toml"))
    assert result.ok
    for name, (_, expected) in CORPUS.items():
        path = corpus / name
        with pytest.raises(DataError) as caught:
            check_data(result, path)
        assert caught.value.message.startswith(f"{path}: "), caught.value.message
        assert expected in caught.value.message, (name, caught.value.message)
    assert not (corpus / "UNPICKLED").exists()


# --- files damaged after they were opened: every later read says so ------------------------


def opened(path: Path):
    """Open and bind a good file, as `mspec fit` does before training."""
    result = check_text(SPEC, name="spec.toml")
    source = open_data(path)
    binding, diagnostics = bind(result, source)
    assert binding.ok and not diagnostics, diagnostics
    return source, binding


def _damage_parquet(path: Path) -> str:
    damage_parquet_column(path, 2, "x")
    return "cannot read as parquet: row group 2, column 'x': "


def _damage_npz(path: Path) -> str:
    damage_npz_member(path, "x.npy")
    return "cannot read as npz: array 'x': "


def _damage_csv(path: Path) -> str:
    with path.open("ab") as handle:
        handle.write(b"0.5,1,7\n")
    return f"cannot read as csv: line {ROWS + 2:,}: 3 cells where the header has 2"


DAMAGE = {"parquet": _damage_parquet, "npz": _damage_npz, "csv": _damage_csv}


@pytest.mark.parametrize("fmt", sorted(DAMAGE))
@pytest.mark.parametrize("reading", ["load_arrays", "iter_batches", "load_arrays_slice"])
def test_damage_found_while_loading_is_a_data_error(tmp_path: Path, fmt: str, reading: str) -> None:
    path = tmp_path / f"data.{fmt}"
    if fmt == "parquet":
        pq.write_table(good_table(), path, row_group_size=ROW_GROUP)
    elif fmt == "npz":
        path.write_bytes(npz_bytes(tmp_path, compressed=True))
    else:
        pacsv.write_csv(good_table(), path)
    source, binding = opened(path)
    expected = DAMAGE[fmt](path)
    with pytest.raises(DataError) as caught:
        if reading == "load_arrays":
            load_arrays(source, binding)
        elif reading == "load_arrays_slice":
            load_arrays(source, binding, rows=slice(0, ROWS))
        else:
            for _ in iter_batches(source, binding, 64):
                pass
    assert caught.value.message.startswith(f"{path}: {expected}"), caught.value.message


# --- random damage: a DataError or good data, nothing else ----------------------------------


def _mutations(raw: bytes, seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    found = []
    for index in range(count):
        kind = index % 3
        if kind == 0:  # a run of random bytes
            start = rng.randrange(len(raw))
            found.append(garble(raw, start, min(len(raw), start + rng.randint(1, 64)), rng.random()))
        elif kind == 1:  # cut short
            found.append(raw[: rng.randrange(len(raw))])
        else:  # one byte changed to a character that matters to a parser
            at = rng.randrange(len(raw))
            found.append(
                raw[:at] + rng.choice([b",", b"\n", b'"', b"\xe9", b"\x00", b"\xff"]) + raw[at + 1 :]
            )
    return found


@pytest.mark.parametrize("fmt", ["parquet", "npz", "npz_compressed", "csv"])
def test_random_damage_gives_a_data_error_or_data(tmp_path: Path, fmt: str) -> None:
    result = check_text(SPEC, name="spec.toml")
    if fmt == "parquet":
        raw = parquet_bytes(tmp_path)
    elif fmt.startswith("npz"):
        raw = npz_bytes(tmp_path, compressed=fmt == "npz_compressed")
    else:
        pacsv.write_csv(good_table(1000), tmp_path / "good.csv")
        raw = (tmp_path / "good.csv").read_bytes()
    path = tmp_path / f"damaged.{fmt.split('_')[0]}"
    outcomes = {"read": 0, "refused": 0}
    for damaged in _mutations(raw, seed=len(fmt), count=45):
        path.write_bytes(damaged)
        try:
            check_data(result, path)
            source = open_data(path)
            binding, _ = bind(result, source)
            if binding.ok:
                with np.errstate(all="ignore"):  # damaged numbers may not fit the labels' dtype
                    load_arrays(source, binding)
                    for _ in iter_batches(source, binding, 256):
                        pass
            outcomes["read"] += 1
        except DataError as error:
            assert error.message.startswith(f"{path}: "), error.message
            assert "\n" not in error.message and len(error.message) < 600, error.message
            outcomes["refused"] += 1
    assert outcomes["refused"] >= 10, outcomes  # the damage was real: most copies are refused

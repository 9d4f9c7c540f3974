"""Native libraries' log lines are held back from a command's output; everything else passes, as written.

No framework is needed: the lines are written straight to the file
descriptors, as TensorFlow's, XLA's and Gloo's native code writes them.
"""

from __future__ import annotations

import os

import pytest

from mspec.training.quiet import native_lines_held_back, stderr_held_back

ABSL = b"E0000 00:00:1796456324.821061    7126 node_def_util.cc:682] NodeDef mentions attribute\n"
OLD_TF = b"2026-12-05 08:00:00.123456: I tensorflow/core/util/port.cc:153] oneDNN custom operations are on\n"
GLOO = b"[Gloo] Rank 0 is connected to 1 peer ranks. Expected number of connected peer ranks is : 1\n"


def test_native_lines_are_held_back_and_the_rest_passes(capfd) -> None:
    with native_lines_held_back((1, 2)) as native:
        os.write(2, ABSL)
        os.write(1, GLOO)
        os.write(1, b"Epoch 1/2\n")
        os.write(1, b"\x08\x08\r 1/50 \xe2\x94\x81\xe2\x94\x81 0s")  # a progress bar, redrawn, unended
        os.write(2, b"adapted layer 'n' to the training data\n")
        os.write(2, OLD_TF)
        os.write(1, b"\r50/50 \xe2\x94\x81\xe2\x94\x81 1s - loss: 0.5\n")
        os.write(2, ABSL[:30])  # one native line in two writes
        os.write(2, ABSL[30:])
        os.write(2, b"E")  # the start of a line that turns out to be mspec's own
        os.write(2, b"nd of the run\n")
    out, err = capfd.readouterr()
    assert out == "Epoch 1/2\n\x08\x08\r 1/50 ━━ 0s\r50/50 ━━ 1s - loss: 0.5\n"
    assert err == "adapted layer 'n' to the training data\nEnd of the run\n"
    # Two descriptors, two forwarding threads: the order between them is not kept.
    assert sorted(native.held) == sorted([ABSL, GLOO, OLD_TF, ABSL])


def test_descriptors_are_restored_after_the_block(capfd) -> None:
    with native_lines_held_back((1, 2)):
        os.write(1, b"inside\n")
    os.write(1, ABSL)  # after the block, nothing is filtered any more
    out, _ = capfd.readouterr()
    assert out == "inside\n" + ABSL.decode()


def test_a_held_back_stderr_passes_on_only_the_kept_lines(capfd) -> None:
    with stderr_held_back(keep=lambda line: not line.startswith(b"INFO: ")):
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"a warning worth seeing\n")
    assert capfd.readouterr().err == "a warning worth seeing\n"


def test_a_held_back_stderr_shows_everything_when_the_block_fails(capfd) -> None:
    with pytest.raises(ImportError), stderr_held_back(all_on_failure=True):
        os.write(2, OLD_TF)
        raise ImportError("no module named 'tensorflow'")
    assert capfd.readouterr().err == OLD_TF.decode()
    with stderr_held_back(all_on_failure=True):
        os.write(2, OLD_TF)
    assert capfd.readouterr().err == ""

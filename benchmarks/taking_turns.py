"""Run measurements in turns, so that a change in the machine's load hits every side alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

Sample = TypeVar("Sample")


def in_turns(measures: dict[str, Callable[[], Sample]], runs: int) -> dict[str, list[Sample]]:
    """Take `runs` samples of each measure, one of each per round, and return them by name."""
    samples: dict[str, list[Sample]] = {name: [] for name in measures}
    for _ in range(runs):
        for name, measure in measures.items():
            samples[name].append(measure())
    return samples

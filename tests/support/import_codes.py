"""The diagnostic codes of `mspec import`.

They come from Keras model files, not spec files, so tests/cases/ cannot hold golden cases for
them: the tests in tests/importer/ test each, and the golden cases' coverage check allows for them.
"""

from __future__ import annotations

IMPORT_CODES = {
    "MS401", "MS402", "MS403", "MS404", "MS405", "MS406", "MS407", "MS408", "MS409", "MS410",
    "MS411",
}  # fmt: skip

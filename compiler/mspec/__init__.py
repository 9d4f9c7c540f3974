"""mspec: declarative multi-input Keras model specs, checked statically.

The Python API (`check`, `check_text`, `generate_source`, `build_model`,
`fit`, `predict`, `evaluate`, `export`, `init`, `compare`, `tune`, `diff`, `SpecError`,
`FitError`, `ExportRefused`, `InitError`, `SideUnreadable`) lives in `mspec.api` and is
re-exported here on first use, so that `import mspec` stays cheap.
"""

__version__ = "0.1.0"

_API = (
    "check",
    "check_text",
    "generate_source",
    "build_model",
    "fit",
    "predict",
    "evaluate",
    "export",
    "init",
    "compare",
    "tune",
    "diff",
    "SpecError",
    "FitError",
    "ExportRefused",
    "InitError",
    "SideUnreadable",
)


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'mspec' has no attribute {name!r}")


__all__ = ["__version__", *_API]

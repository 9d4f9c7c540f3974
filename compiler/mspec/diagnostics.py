"""The one Diagnostic type every stage reports through, and the code catalogue."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding about a spec, located in its source file.

    Ordering is by file, then position, then code, so any list of diagnostics
    sorts into the order a reader expects.
    """

    file: str
    line: int
    col: int
    code: str
    severity: Severity
    message: str
    hint: str | None = None
    # The graph node at fault, when there is one (diagrams mark it); not part
    # of the printed form, nor of the ordering.
    node: str | None = field(default=None, compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def format(self) -> str:
        """Render as `PATH:LINE:COL: CODE severity: message (hint)`."""
        text = f"{self.file}:{self.line}:{self.col}: {self.code} {self.severity.value}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "node": self.node,
        }


# The code catalogue: stable codes, never reused for another meaning.
# 0xx: reading the file; 1xx: the spec language; 2xx: the graph; 3xx: shapes.
CODES: dict[str, str] = {
    "MS001": "syntax error in the JSON or TOML text",
    "MS002": "duplicate key (JSON) or redefined key or table (TOML)",
    "MS003": "encoding error: invalid UTF-8, lone surrogate, forbidden control character",
    "MS004": "number out of range: NaN, infinity, overflow, past int64, too many digits",
    "MS005": "limit exceeded: file size, nesting depth, dotted key length",
    "MS006": "the top level of the file is not a table (object)",
    "MS101": "unknown section, key or layer parameter",
    "MS102": "missing required section or key",
    "MS103": "value of the wrong type",
    "MS104": "value out of range (negative units, zero dimension, rate above 1 ...)",
    "MS105": "invalid value: unknown activation, dtype, loss, metric, optimizer, or inconsistent parameters",
    "MS106": "unknown layer type",
    "MS107": "invalid name: not an identifier, or a Python keyword",
    "MS108": "malformed layer step: neither `type` nor `shared`, or a shared use where a layer is needed",
    "MS109": "refused layer or key: it would run or load code (Lambda, TFSMLayer, module, class_name ...)",
    "MS110": "layer in the wrong place: a merge layer in a chain, or a one-input layer under [merges]",
    "MS111": "wrong number of inputs for a merge",
    "MS201": "reference to an unknown node",
    "MS202": "cycle in the graph",
    "MS203": "name used twice across sections",
    "MS204": "output that depends on no input",
    "MS205": "input not used by any output (warning)",
    "MS206": "branch or merge not used by any output (warning)",
    "MS207": "shared layer never used (warning)",
    "MS208": "reference to an unknown shared layer",
    "MS301": "merge inputs with incompatible shapes",
    "MS302": "shared layer used on an input it was not built for",
    "MS303": "layer cannot take its input shape",
    "MS304": "over the resource budget: too many parameters (memory estimate given), nodes or layers deep",
    "MS305": "configuration that TensorFlow's CPU kernels cannot run without oneDNN (portability, warning)",
    # 4xx: `mspec import`, reading a Keras model into a spec.
    "MS401": "import: the file holds no readable Keras model (bad archive, no config.json, not a config)",
    "MS402": "import: a model nested inside the model (Functional or Sequential as a layer)",
    "MS403": "import: a layer that runs code of its own (Lambda, TFSMLayer ...)",
    "MS404": "import: a custom or unsupported layer class, or a Keras operation applied to tensors",
    "MS405": "import: a layer with several outputs (return_state, merge_mode=None, a second output used)",
    "MS406": "import: a layer or input setting a spec cannot express (initializer settings, dtype ...)",
    "MS407": "import: a call a spec cannot express (call arguments, own masks, a merge layer called twice)",
    "MS408": "import: a compile setting left out: loss or metric object, optimizer setting (warning)",
    "MS409": "import: an output read directly from a merge or an input, given an Identity head (warning)",
    "MS410": "import: the imported spec fails its own check (an importer fault)",
    # 5xx: training data checked against the spec (`mspec lint SPEC --data PATH`, `mspec fit`).
    "MS501": "data: a bound column or array is missing (an input's name or `columns`, an output's labels)",
    "MS502": "data: columns or arrays that bind to no input or output (warning)",
    "MS503": "data: the file holds no rows",
    "MS504": "data: NPZ arrays with different numbers of rows",
    "MS505": "data: examples whose shape is not the input's (rank, sizes, ragged or varying list lengths)",
    "MS506": "data: values of the wrong kind: text for numbers, numbers for text, fractions for integers",
    "MS507": "data: missing values (null), NaN or infinity in an input or in labels",
    "MS508": "data: ids outside the Embedding's input_dim or the CategoryEncoding's num_tokens they feed",
    "MS509": "data: labels that do not fit the output's loss and units (binary, class index, one-hot width)",
    # 6xx: `mspec fit` and `mspec explain`, training a model.
    "MS601": "fit: an output without a loss (neither its own nor a [compile] default)",
    "MS602": "fit: settings that contradict each other (early stopping on val_loss without validation data)",
    "MS603": "fit: one input branch takes most of the gradient at a merge, overwhelming the others (warning)",
    "MS604": "fit: an input branch whose gradient share at a merge stays near zero: a dead input (warning)",
}

"""The rule registry: every diagnostic code, declared once.

Each rule has a stable code (never reused for another meaning), a name, a
default severity, a one-line summary, an explanation (why it matters, an
example and the fix) and whether a user may turn it off. `mspec rules` lists
them, `mspec rule CODE` prints one, `python -m mspec.backends.docgen` writes
docs/diagnostics.md (and the rule tables of README.md) from them, and the
selection (`[lint] ignore`, `[tool.mspec]`, `--select`/`--ignore`) reads
`ignorable` from here.

Every rule is a module-level name, its `name` in upper case with `_` for `-`
(`unknown-key` is `UNKNOWN_KEY`), and builds its own located diagnostic
with the severity it declares:

    UNKNOWN_KEY.at(document, path, f"unknown key {key!r} in {what}", hint)

Code elsewhere names rules this way rather than writing "MS101": a
misspelt name fails at import, where a misspelt code would be a new one.

This module imports nothing else from mspec but the Diagnostic type beside
it (and, for type checking only, the Document it locates findings in), so
that every other module can read it.

Ranges: 0xx reading the file; 1xx the spec language; 2xx the graph; 3xx
shapes; 4xx `mspec import`; 5xx training data; 6xx `mspec fit` and
`mspec explain`; 7xx training hazards (a model that builds, then trains
badly or not at all); 8xx search spaces ([search], checked statically for
`mspec tune`).

It is one module past 600 lines on purpose: the catalogue is one table read
top to bottom in code order, and splitting it would scatter the ranges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .diagnostic import Diagnostic, Severity

if TYPE_CHECKING:
    from ..syntax.document import DataPath, Document

ERROR = Severity.ERROR
WARNING = Severity.WARNING

# Concatenate inputs from different inputs whose widths differ by at least
# this factor are reported (MS712).
IMBALANCE_FACTOR = 32

STAGES = {
    "MS0": "loading",
    "MS1": "language",
    "MS2": "graph",
    "MS3": "shapes",
    "MS4": "import",
    "MS5": "data",
    "MS6": "fit",
    "MS7": "training hazards",
    "MS8": "search",
}


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity  # the severity it is reported with
    summary: str
    why: str
    example: str
    fix: str
    # False for errors that make the model unbuildable (or that a command
    # cannot go past): no selection turns them off.
    ignorable: bool
    # The command that reports it when not `mspec lint` (e.g. "mspec build").
    reported_by: str = "mspec lint"
    # A shorter summary for the rule tables of README.md, where the full one would crowd the table.
    brief: str | None = None

    @property
    def stage(self) -> str:
        return STAGES[self.code[:3]]

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def at(
        self,
        document: Document,
        path: DataPath,
        message: str,
        hint: str | None = None,
        *,
        at: str = "key",
        node: str | None = None,
    ) -> Diagnostic:
        """Report this rule at `path` in a spec: at its key, or at its value with at="value".

        `node` names the graph node at fault, when there is one.
        """
        where = document.locate(path, prefer=at)
        return self.at_position(document.path, where.line, where.col, message, hint, node=node)

    def at_position(
        self,
        file: str,
        line: int,
        col: int,
        message: str,
        hint: str | None = None,
        *,
        node: str | None = None,
    ) -> Diagnostic:
        """Report this rule at a line and column already known (a load error's)."""
        return Diagnostic(file, line, col, self.code, self.severity, message, hint, node)

    def at_file(
        self, file: str, message: str, hint: str | None = None, *, node: str | None = None
    ) -> Diagnostic:
        """Report this rule about a whole file, at its start (an imported model, a data file)."""
        return self.at_position(file, 1, 1, message, hint, node=node)

    def explanation(self) -> str:
        """The rule as `mspec rule CODE` prints it (Markdown)."""
        lines = [
            f"{self.code} ({self.name}): {self.summary}",
            "",
            f"Severity: {self.severity}. Reported by: {self.reported_by}. "
            + ("Can be ignored." if self.ignorable else "Cannot be ignored."),
            "",
            "Why: " + self.why,
            "",
            "Example:",
            "",
            *("    " + line if line else "" for line in self.example.splitlines()),
            "",
            "Fix: " + self.fix,
        ]
        return "\n".join(lines) + "\n"


# The catalogue in code order; `_rule` adds each rule as it is declared.
_RULES: list[Rule] = []


def _rule(
    code: str,
    name: str,
    severity: Severity,
    summary: str,
    why: str,
    example: str,
    fix: str,
    *,
    ignorable: bool | None = None,
    reported_by: str = "mspec lint",
    brief: str | None = None,
) -> Rule:
    if ignorable is None:
        ignorable = severity == WARNING
    rule = Rule(code, name, severity, summary, why, example.strip("\n"), fix, ignorable, reported_by, brief)
    _RULES.append(rule)
    return rule


_LOAD = "mspec lint, and every command that reads a spec"
_DATA = "mspec lint --data, mspec fit"

# fmt: off
# --- 0xx: reading the file ------------------------------------------------
SYNTAX_ERROR = _rule(
    "MS001", "syntax-error", ERROR, "syntax error in the JSON or TOML text",
    "The file cannot be parsed, so nothing else in it can be checked.",
    '[model\nname = "m"',
    "Correct the text at the position given (here: close the table header, `[model]`).",
    reported_by=_LOAD,
)
DUPLICATE_KEY = _rule(
    "MS002", "duplicate-key", ERROR, "duplicate key (JSON) or redefined key or table (TOML)",
    "JSON parsers silently keep one of two equal keys, so the spec would mean something "
    "else than it says; TOML forbids redefining a key or table.",
    '{ "model": { "name": "a", "name": "b" } }',
    "Keep one of the two keys.",
    reported_by=_LOAD,
)
ENCODING_ERROR = _rule(
    "MS003", "encoding-error", ERROR,
    "encoding error: invalid UTF-8, lone surrogate, forbidden control character",
    "A spec is UTF-8 text; other bytes would reach names and generated code.",
    'name = "caf\\xe9"   # a Latin-1 byte',
    "Save the file as UTF-8 and remove control characters.",
    reported_by=_LOAD,
)
NUMBER_OUT_OF_RANGE = _rule(
    "MS004", "number-out-of-range", ERROR,
    "number out of range: NaN, infinity, overflow, past int64, too many digits",
    "Such a number cannot be a layer parameter, and some parsers would silently round it.",
    "units = 1e999",
    "Write a finite number in range.",
    reported_by=_LOAD,
)
LIMIT_EXCEEDED = _rule(
    "MS005", "limit-exceeded", ERROR, "limit exceeded: file size, nesting depth, dotted key length",
    "The limits (docs/loading.md) keep a hostile or generated file from exhausting memory or the stack.",
    "a 20 MB spec, or arrays nested 1,000 deep",
    "Split or simplify the spec.",
    reported_by=_LOAD,
)
NOT_A_TABLE = _rule(
    "MS006", "not-a-table", ERROR, "the top level of the file is not a table (object)",
    "A spec is a table of sections.",
    '["model", "inputs"]',
    'Make the top level an object: `{ "model": { ... }, "inputs": { ... } }`.',
    reported_by=_LOAD,
)
# --- 1xx: the spec language -------------------------------------------------
UNKNOWN_KEY = _rule(
    "MS101", "unknown-key", ERROR, "unknown section, key or layer parameter",
    "A misspelt key would otherwise be dropped and the Keras default used instead of the value "
    "written.",
    '{ type = "Dense", unit = 8 }',
    "Use the name given in the hint: `units = 8`.",
)
MISSING_KEY = _rule(
    "MS102", "missing-key", ERROR, "missing required section or key",
    "The model cannot be built without it.",
    '{ type = "Dense" }   # no units',
    'Add the key: `{ type = "Dense", units = 8 }`.',
)
WRONG_TYPE = _rule(
    "MS103", "wrong-type", ERROR, "value of the wrong type",
    "Keras would fail, or silently convert the value, when the layer is created.",
    'units = "8"',
    "Write the value with its type: `units = 8`.",
)
OUT_OF_RANGE = _rule(
    "MS104", "out-of-range", ERROR,
    "value out of range (negative units, zero dimension, rate above 1 ...)",
    "Keras refuses such a value, or builds a layer that cannot run.",
    '{ type = "Dropout", rate = 1.5 }',
    "Use a value in the documented range: `rate = 0.5`.",
)
INVALID_VALUE = _rule(
    "MS105", "invalid-value", ERROR,
    "invalid value: unknown activation, dtype, loss, metric, optimizer, or inconsistent parameters",
    "Keras resolves these names at build or compile time; an unknown one fails there, "
    "after TensorFlow has started.",
    'metrics = ["roc_auc"]',
    'Use the Keras name given in the hint: `metrics = ["auc"]`.',
)
UNKNOWN_LAYER = _rule(
    "MS106", "unknown-layer", ERROR, "unknown layer type",
    "The layer is not a Keras layer that mspec supports (docs/layers.md).",
    '{ type = "Dence", units = 8 }',
    'Use the class name exactly as in keras.layers: `type = "Dense"`.',
)
INVALID_NAME = _rule(
    "MS107", "invalid-name", ERROR, "invalid name: not an identifier, or a Python keyword",
    "Every name becomes a Python variable and a Keras layer name in generated code.",
    "[branches.2nd-branch]",
    "Use letters, digits and underscores, starting with a letter: `[branches.second_branch]`.",
)
MALFORMED_STEP = _rule(
    "MS108", "malformed-step", ERROR,
    "malformed layer step: neither `type` nor `shared`, or a shared use where a layer is needed",
    "A step must say which layer it is.",
    "layers = [{ units = 8 }]",
    'Add `type = "Dense"`, or refer to a shared layer with `{ shared = "NAME" }`.',
)
CODE_CARRYING = _rule(
    "MS109", "code-carrying", ERROR,
    "refused layer or key: it would run or load code (Lambda, TFSMLayer, module, class_name ...)",
    "A spec is data: building it must never run code from the file.",
    '{ type = "Lambda", function = "..." }',
    "Express the computation with supported layers, or build that part in Python.",
)
WRONG_PLACE = _rule(
    "MS110", "wrong-place", ERROR,
    "layer in the wrong place: a merge layer in a chain, a one-input layer under [merges], "
    "or a recurrent cell outside an RNN's `cell`",
    "Merge layers take a list of tensors, chain layers one tensor; a recurrent cell (LSTMCell ...) "
    "computes one time step, which an RNN runs over the time axis.",
    'layers = [{ type = "Concatenate" }]',
    "Declare merges under [merges] with a `from` list; put one-input layers in `layers`; put a cell "
    'in an RNN: `{ type = "RNN", cell = { type = "LSTMCell", units = 32 } }`, or use LSTM.',
)
MERGE_ARITY = _rule(
    "MS111", "merge-arity", ERROR, "wrong number of inputs for a merge",
    "Keras refuses the call (Dot and Subtract take exactly two inputs, others at least two).",
    '[merges.d]\ntype = "Dot"\nfrom = ["a", "b", "c"]\naxes = 1',
    "Give the merge the number of inputs it takes.",
)
LINT_SETTING_WITHOUT_EFFECT = _rule(
    "MS112", "lint-setting-without-effect", WARNING,
    "a lint setting that has no effect: an unknown rule code, a rule that cannot be ignored, "
    "or an unknown node in per_node_ignores",
    "A misspelt code in an ignore list would silently ignore nothing.",
    '[lint]\nignore = ["MS9999"]',
    "Name an existing, ignorable rule (`mspec rules` lists them) and an existing node.",
)
# --- 2xx: the graph -------------------------------------------------------
UNKNOWN_NODE = _rule(
    "MS201", "unknown-node", ERROR, "reference to an unknown node",
    "A `from` must name an input, branch, merge or output.",
    'from = "inptu"',
    'Name an existing node: `from = "input"`.',
)
CYCLE = _rule(
    "MS202", "cycle", ERROR, "cycle in the graph",
    "A Keras Functional model is a directed acyclic graph.",
    '[branches.x]\nfrom = "y"\n...\n[branches.y]\nfrom = "x"',
    "Break the loop by changing one `from`.",
)
DUPLICATE_NAME = _rule(
    "MS203", "duplicate-name", ERROR, "name used twice across sections",
    "Names become Python variables and Keras layer names, which must be unique.",
    "[inputs.x]\n...\n[branches.x]",
    "Rename one of them.",
)
OUTPUT_WITHOUT_INPUT = _rule(
    "MS204", "output-without-input", ERROR, "output that depends on no input",
    "Keras cannot build a model whose output no input reaches.",
    '[outputs.out]\nfrom = "constant_branch"   # a branch that reads no input',
    "Connect the output to an input.",
)
UNUSED_INPUT = _rule(
    "MS205", "unused-input", WARNING, "input not used by any output",
    "Keras drops the input from the model (or refuses to fit data for it); usually a forgotten "
    "`from`. Not reported when the input only feeds something that is already an error.",
    "[inputs.a]\nshape = [8]\n[inputs.b]   # nothing reads b\nshape = [3]",
    "Remove it, or connect it to the model.",
)
UNUSED_NODE = _rule(
    "MS206", "unused-node", WARNING, "branch or merge not used by any output",
    "Keras leaves it out of the model: its weights are never trained. Not reported for nodes "
    "that are themselves in error or only feed one.",
    '[branches.side]\nfrom = "a"   # no output reads side',
    "Remove it, or feed it to an output.",
)
UNUSED_SHARED_LAYER = _rule(
    "MS207", "unused-shared-layer", WARNING, "shared layer never used",
    "A shared layer no step uses is dead configuration.",
    '[shared.s]\ntype = "Dense"\nunits = 4   # no { shared = "s" } anywhere',
    'Use it with `{ shared = "s" }`, or remove it.',
)
UNKNOWN_SHARED_LAYER = _rule(
    "MS208", "unknown-shared-layer", ERROR, "reference to an unknown shared layer",
    "A `{ shared = NAME }` step must name an entry under [shared].",
    'layers = [{ shared = "encodr" }]',
    "Name an existing shared layer, or declare it under [shared].",
)
# --- 3xx: shapes ------------------------------------------------------------
MERGE_SHAPES = _rule(
    "MS301", "merge-shapes", ERROR, "merge inputs with incompatible shapes",
    "Keras raises a ValueError while building the model (the seed article's example 3).",
    '[merges.interaction]\ntype = "Multiply"\nfrom = ["x_a", "x_b"]   # (None, 64) and (None, 32)',
    "Give the inputs equal shapes (e.g. the same Dense units), or use Concatenate.",
)
SHARED_LAYER_SHAPE = _rule(
    "MS302", "shared-layer-shape", ERROR, "shared layer used on an input it was not built for",
    "A shared layer's weights are created for the sizes of its first use; Keras fails at a "
    "later use with other sizes (the seed article's example 2).",
    '[shared.proj]\ntype = "Dense"\nunits = 32\n# used on a (None, 10) input, then on a (None, 5) one',
    "Project every input to the same size before the shared layer.",
)
LAYER_SHAPE = _rule(
    "MS303", "layer-shape", ERROR, "layer cannot take its input shape",
    "Keras refuses the input while building the model.",
    '{ type = "Conv2D", filters = 8, kernel_size = 3 }   # on a (None, 8) input',
    "Reshape the input, or use a layer for that rank.",
)
OVER_BUDGET = _rule(
    "MS304", "over-budget", ERROR,
    "over the resource budget: too many parameters (memory estimate given), nodes or layers deep",
    "Keras would start building a model that exhausts memory; the limits turn that into a "
    "diagnostic.",
    '{ type = "Embedding", input_dim = 100000000, output_dim = 32 }',
    "Shrink the layer named in the message.",
)
CPU_KERNEL_PORTABILITY = _rule(
    "MS305", "cpu-kernel-portability", WARNING,
    "configuration that some backends cannot run: TensorFlow's CPU kernels without oneDNN, or "
    "TensorFlow at all (portability)",
    "The model builds, but fails at run time on CPUs where TensorFlow leaves oneDNN off "
    "(UnimplementedError; it runs on GPU, JAX, and with oneDNN), or, for some configurations, "
    "on TensorFlow altogether while JAX runs it: adaptive pooling with a size of 1, an even "
    "transposed-convolution window with padding 'same', an element type TensorFlow's kernel lacks "
    "(int32 into Conv1D: JAX promotes it), a mask of more than (batch, steps) into a recurrent "
    "layer, an RNN over a stack of one cell (the reverse: TensorFlow runs it, JAX does not).",
    '{ type = "Conv2D", filters = 8, kernel_size = 3, data_format = "channels_first" }',
    "Use the setting given in the hint (e.g. channels_last) for a model that runs everywhere.",
)
LAYER_DTYPE = _rule(
    "MS306", "layer-dtype", ERROR,
    "layer that cannot compute with the element type (dtype) of its input on any backend",
    "Keras only casts floating-point inputs to a layer's compute dtype; integer, boolean and "
    "string tensors reach the layer's operations as they are. Many operations exist for floating "
    "point only: the model builds, then every call fails, on TensorFlow and on JAX alike (an "
    "int32 tensor into Activation('sigmoid'), a boolean one into AveragePooling2D).",
    '[inputs.ids]\nshape = [4]\ndtype = "int32"\n\n[branches.gate]\nfrom = "ids"\n'
    'layers = [{ type = "Activation", activation = "sigmoid" }]',
    "Turn ids into vectors first (Embedding, CategoryEncoding), or declare the input as "
    'floating point (dtype = "float32") if its values are quantities.',
)
MASK_SHAPE = _rule(
    "MS307", "mask-shape", ERROR,
    "a mask that the layer using it cannot broadcast against its inputs",
    "Keras passes the mask of Embedding(mask_zero = true) or Masking on to the layers after it; "
    "a layer that uses it (Attention, MultiHeadAttention ...) combines it with its scores. When "
    "the mask's rank does not fit the scores (ids of rank 3, attention over several axes), the "
    "model builds and every call fails (TensorFlow's SelectV2, JAX alike); without the mask the "
    "same model runs.",
    '[inputs.ids]\nshape = [4, 6]\ndtype = "int32"\n\n[branches.tokens]\nfrom = "ids"\n'
    'layers = [{ type = "Embedding", input_dim = 100, output_dim = 8, mask_zero = true }]\n\n'
    '[merges.attended]\ntype = "Attention"\nfrom = ["tokens", "tokens"]',
    "Set mask_zero = false, reshape the ids to one sequence axis before the Embedding, or attend "
    "over one axis.",
)
# --- 4xx: import ------------------------------------------------------------
IMPORT_NO_MODEL = _rule(
    "MS401", "import-no-model", ERROR,
    "import: the file holds no readable Keras model (bad archive, no config.json, not a config)",
    "There is nothing to import.",
    "mspec import weights.h5",
    "Import a .keras file or the JSON of model.to_json().",
    reported_by="mspec import",
)
IMPORT_NESTED_MODEL = _rule(
    "MS402", "import-nested-model", ERROR,
    "import: a model nested inside the model that cannot be inlined (called with arguments of its own)",
    "A spec describes one flat graph: a nested model is inlined (MS411) unless its call carries "
    "more than its inputs.",
    "a Sequential called as block(x, training=True) inside a Functional model",
    "Call the nested model on its inputs alone, or flatten it into the outer one before saving.",
    reported_by="mspec import",
)
IMPORT_CODE_LAYER = _rule(
    "MS403", "import-code-layer", ERROR,
    "import: a layer that runs code of its own (Lambda, TFSMLayer ...)",
    "A spec never carries code (MS109).",
    "layers.Lambda(lambda x: x * 2)",
    "Replace it with a supported layer (e.g. Rescaling) before saving.",
    reported_by="mspec import",
)
IMPORT_UNSUPPORTED_LAYER = _rule(
    "MS404", "import-unsupported-layer", ERROR,
    "import: a custom or unsupported layer class, or a Keras operation applied to tensors",
    "Only layers in the registry (docs/layers.md) can be written in a spec.",
    "a subclassed MyAttention layer, or keras.ops.add(x, y) in the model",
    "Use supported layers (e.g. layers.Add instead of ops.add).",
    reported_by="mspec import",
)
IMPORT_MULTIPLE_OUTPUTS = _rule(
    "MS405", "import-multiple-outputs", ERROR,
    "import: a layer with several outputs (return_state, merge_mode=None, a second output used)",
    "Every node of a spec produces one tensor.",
    "layers.LSTM(32, return_state=True)",
    "Use one output per layer.",
    reported_by="mspec import",
)
IMPORT_UNEXPRESSIBLE_SETTING = _rule(
    "MS406", "import-unexpressible-setting", ERROR,
    "import: a layer or input setting a spec cannot express (initializer settings, dtype ...)",
    "Leaving it out would import a different model.",
    'layers.Dense(8, kernel_initializer=RandomNormal(stddev=0.5))',
    "Use a setting a spec can express (the default arguments of a named initializer).",
    reported_by="mspec import",
)
IMPORT_UNEXPRESSIBLE_CALL = _rule(
    "MS407", "import-unexpressible-call", ERROR,
    "import: a call a spec cannot express (call arguments, own masks, a merge layer called twice)",
    "A spec has no way to write the call.",
    "layer(x, training=True)",
    "Call the layer without extra arguments.",
    reported_by="mspec import",
)
IMPORT_COMPILE_LEFT_OUT = _rule(
    "MS408", "import-compile-left-out", WARNING,
    "import: a compile setting left out: loss or metric object, optimizer setting",
    "The spec is written without it; the model itself is imported whole.",
    "loss=keras.losses.BinaryCrossentropy(label_smoothing=0.1)",
    "Add the setting by hand if the spec language has it, or train with the default.",
    reported_by="mspec import",
)
IMPORT_IDENTITY_HEAD = _rule(
    "MS409", "import-identity-head", WARNING,
    "import: an output read directly from a merge or an input, given an Identity head",
    "A spec output names its own layer, so an Identity step is added to keep the output name.",
    "keras.Model(inputs, layers.Concatenate(name='out')([a, b]))",
    "Nothing to do; the imported model is equivalent.",
    reported_by="mspec import",
)
IMPORT_SELF_CHECK = _rule(
    "MS410", "import-self-check", ERROR,
    "import: the imported spec fails its own check (an importer fault)",
    "The importer wrote a spec that mspec itself rejects: a bug in mspec.",
    "(any model that triggers it)",
    "Report it with the model file.",
    reported_by="mspec import",
)
IMPORT_REWRITTEN_LAYER = _rule(
    "MS411", "import-rewritten-layer", WARNING,
    "import: a nested model inlined, or a layer written as public layers of the same function",
    "A spec is one flat graph of public Keras layers: a nested Sequential or Functional "
    "becomes its layers, `x + 3.0` a Rescaling, `x + y` an Add, LayerScale an EinsumDense. "
    "The rebuilt model computes the same and keeps the layer names and weights.",
    "keras.applications.ConvNeXtTiny(): a nested Sequential stem and LayerScale layers",
    "Nothing to do; `get_layer` of a nested model's name no longer finds a model.",
    reported_by="mspec import",
)
# --- 5xx: data ------------------------------------------------------------------
DATA_MISSING_COLUMN = _rule(
    "MS501", "data-missing-column", ERROR,
    "data: a bound column or array is missing (an input's name or `columns`, an output's labels)",
    "Keras' fit would fail with a KeyError naming no spec line. A `columns` table that picks "
    "nothing is reported with the names it nearly picks; a CSV file without a header line, or "
    "separated by ';' or tabs, is one finding, not one per column.",
    "input 'age' and no column 'age' in train.csv",
    "Rename the column, or list it in the input's `columns` (the output's `column`); save a CSV "
    "file with a header line and ',' between cells.",
    reported_by=_DATA,
)
DATA_UNUSED_COLUMN = _rule(
    "MS502", "data-unused-column", WARNING,
    "data: columns or arrays that bind to no input or output",
    "A misspelt name would otherwise be silently dropped.",
    "a column 'agee' in train.csv",
    "Bind it (input name, `columns`, `column`) or drop it from the file.",
    reported_by=_DATA,
)
DATA_EMPTY = _rule(
    "MS503", "data-empty", ERROR, "data: the file holds no rows",
    "There is nothing to train on.",
    "a CSV file with a header line only",
    "Check the file.",
    reported_by=_DATA,
)
DATA_ROW_COUNTS = _rule(
    "MS504", "data-row-counts", ERROR, "data: NPZ arrays with different numbers of rows",
    "Keras refuses inputs and labels of different lengths.",
    "input_1 with 1,000 rows and output with 999",
    "Save arrays with the same first dimension.",
    reported_by=_DATA,
)
DATA_SHAPE = _rule(
    "MS505", "data-shape", ERROR,
    "data: examples whose shape is not the input's (rank, sizes, ragged or varying list lengths, "
    "the number of columns a `columns` table picks)",
    "Keras fails deep in TensorFlow (BroadcastGradientArgs) without naming the input.",
    "input shape [5] and arrays of shape (n, 4)",
    "Change the input's shape, or reshape the data.",
    reported_by=_DATA,
)
DATA_KIND = _rule(
    "MS506", "data-kind", ERROR,
    "data: values of the wrong kind: text for numbers, numbers for text, fractions for integers",
    "Keras fails to convert them, or truncates fractions silently.",
    "an int32 input bound to a column holding 0.5",
    "Fix the data or the input's dtype.",
    reported_by=_DATA,
)
DATA_MISSING_VALUES = _rule(
    "MS507", "data-missing-values", ERROR,
    "data: missing values (null), NaN or infinity in an input or in labels",
    "One NaN makes the loss NaN for the rest of training.",
    "an empty cell in train.csv",
    "Impute or drop those rows.",
    reported_by=_DATA,
)
DATA_ID_RANGE = _rule(
    "MS508", "data-id-range", ERROR,
    "data: ids outside the Embedding's input_dim or the CategoryEncoding's num_tokens they feed",
    "Embedding lookups past the vocabulary fail (GatherV2) on CPU and return zeros on GPU.",
    "Embedding(input_dim = 100) fed id 100",
    "Raise input_dim to the largest id + 1, or remap the ids.",
    reported_by=_DATA,
)
DATA_LABELS = _rule(
    "MS509", "data-labels", ERROR,
    "data: labels that do not fit the output's loss and units (binary, class index, one-hot width)",
    "The loss is computed on nonsense, or fails (class index past the units).",
    "binary_crossentropy with labels 0, 1, 2",
    "Use labels the loss takes, or change the loss and units.",
    reported_by=_DATA,
)
# --- 6xx: fit and explain -----------------------------------------------------------
FIT_OUTPUT_WITHOUT_LOSS = _rule(
    "MS601", "fit-output-without-loss", ERROR,
    "fit: an output without a loss (neither its own nor a [compile] default)",
    "Keras' fit stops with 'No loss to compute'. `mspec fit` refuses before starting TensorFlow; "
    "`mspec lint` reports the same spec as MS706, a warning, because a spec may be built for "
    "inference only.",
    '[outputs.score]\nfrom = "trunk"\nlayers = [{ type = "Dense", units = 1 }]   # no loss',
    'Give it a loss (`loss = "mean_squared_error"`), or set [compile] loss.',
    reported_by="mspec fit",
)
FIT_CONTRADICTORY_SETTINGS = _rule(
    "MS602", "fit-contradictory-settings", ERROR,
    "fit: settings that contradict each other or the model (early stopping on val_loss without "
    "validation data, or on a quantity Keras does not log)",
    "Keras would warn every epoch and never stop early (nor restore the best weights), or fail.",
    '[train]\nearly_stopping = { monitor = "val_loss" }   # and no validation_split',
    "Set validation_split, pass --validation, or monitor a training quantity.",
    reported_by="mspec fit",
)
FIT_BRANCH_OVERWHELMS = _rule(
    "MS603", "fit-branch-overwhelms", WARNING,
    "fit: one input branch takes most of the gradient at a merge, overwhelming the others",
    "Measured during training, over the second half of the epochs (at least two of them, and the "
    "last one too): the other inputs barely learn (the article's warning about one modality "
    "overwhelming the others in the concatenation). A branch can dominate for two reasons, and the "
    "hint names the one the run shows: its width (the values per example it brings to the merge, "
    "known from the spec) when it is the widest branch and already took that share before "
    "training; or what it carries, when its share grew as the model learnt: a branch that alone "
    "carries the signal takes the gradient whatever its width, and then nothing needs changing. "
    "The message gives the others' shares: a branch starved by a wider one is not called dead "
    "(MS604), since what it carries shows only once the merge is balanced.",
    "a 4,096-wide image branch and a 4-wide tabular branch concatenated (width); or an 8-wide "
    "branch whose input alone predicts the label (signal)",
    "Width: narrow the dominant branch, project every branch to a similar width, or normalize them "
    "(LayerNormalization) before the merge. Signal: `mspec explain` measures what each input adds; "
    "if the others add nothing, leave the model as it is.",
    reported_by="mspec fit",
)
FIT_DEAD_INPUT = _rule(
    "MS604", "fit-dead-input", WARNING,
    "fit: an input branch whose gradient share at a merge stays near zero: a dead input",
    "Measured during training: the model learns nothing from that input. Early shares say nothing "
    "about it: an Embedding branch starts near 0 and grows up to tenfold an epoch, so the warning "
    "needs the second half of the epochs to hold at least two, every one of them under 1 %, and "
    "the share to stay under 1 % for as many epochs again at the rate it grew over the run. A "
    "share of exactly 0 in every epoch (the branch does not vary between examples, or gets no "
    "gradient) is reported after any number of epochs.",
    "an input whose values are all zero, or a branch ending in relu units that died",
    "Check the data, the normalization and the branch's activations; `mspec explain` measures "
    "what shuffling the input costs.",
    reported_by="mspec fit",
)
FIT_CLASS_WEIGHT = _rule(
    "MS605", "fit-class-weight", ERROR,
    "fit: class weights on an output whose loss takes no class labels, or for a class the output "
    "cannot produce",
    "Keras rounds each label to a class index to look its weight up: on a regression output, "
    "labels 0.4 and 0.6 are weighed as two different classes and -5 as none, which weighs examples "
    "by noise. A weight for class 5 of a 3-unit softmax is silently never used.",
    '[outputs.price]\nloss = "mse"\n\n[train]\nclass_weight = { price = { "0" = 1.0, "1" = 3.0 } }',
    "Weigh only outputs trained with a cross-entropy loss, and only their classes "
    "(0 .. units-1; 0 and 1 for one sigmoid unit).",
    ignorable=False,
    reported_by="mspec lint, mspec fit",
)
# --- 7xx: training hazards ---------------------------------------------------------
SOFTMAX_ON_ONE_UNIT = _rule(
    "MS701", "softmax-on-one-unit", ERROR,
    "softmax over an axis of size 1: the output is always 1.0",
    "softmax normalizes over the axis; over one value it returns 1.0 whatever the input, so "
    "nothing is learnt. Keras only warns at run time: 'You are using a softmax over axis -1 of a "
    "tensor of shape (None, 1). This axis has size 1. The softmax operation will always return "
    "the value 1'. With binary_crossentropy, every prediction is 1.0 and accuracy stays at the "
    "share of positives however long the model trains.",
    '[outputs.out]\nfrom = "features"\nlayers = [{ type = "Dense", units = 1, activation = "softmax" }]\n'
    'loss = "binary_crossentropy"',
    'For a yes/no output use `activation = "sigmoid"` on one unit; for N classes use N units with '
    "softmax.",
    ignorable=True,
    brief="softmax over an axis of size 1 (the output is always 1.0)",
)
CATEGORICAL_LOSS_WITHOUT_SOFTMAX = _rule(
    "MS702", "categorical-loss-without-softmax", WARNING,
    "categorical cross-entropy on an output that does not end in softmax (sigmoid, linear, relu ...)",
    "Keras' categorical cross-entropy (not from_logits) divides the predictions by their sum and "
    "clips them: sigmoid or linear outputs are not a distribution, negative values are clipped "
    "away without gradient, and on one unit the normalized prediction is always 1 (loss 0, "
    "nothing learnt).",
    '[outputs.label]\nlayers = [{ type = "Dense", units = 10, activation = "sigmoid" }]\n'
    'loss = "categorical_crossentropy"',
    'End the output with `activation = "softmax"` (N units for N classes), or use '
    "binary_crossentropy for independent yes/no labels.",
    brief="categorical cross-entropy on an output that does not end in softmax",
)
BINARY_LOSS_UNBOUNDED_OUTPUT = _rule(
    "MS703", "binary-loss-unbounded-output", WARNING,
    "binary cross-entropy on an output not bounded to [0, 1] (linear, relu, tanh ...)",
    "mspec passes the loss by name, so it is not from_logits: Keras clips predictions to "
    "[1e-7, 1 - 1e-7] and every clipped prediction gets no gradient. A linear or relu output "
    "spends much of training there and learns slowly or stops.",
    '[outputs.churned]\nlayers = [{ type = "Dense", units = 1 }]   # linear\n'
    'loss = "binary_crossentropy"',
    'Add `activation = "sigmoid"` to the last layer.',
    brief="binary cross-entropy on an output not bounded to [0, 1] (linear, relu ...)",
)
SPARSE_LOSS_ON_ONE_UNIT = _rule(
    "MS704", "sparse-loss-on-one-unit", ERROR,
    "sparse categorical cross-entropy on an output of one unit",
    "Keras' sparse categorical cross-entropy reads class indices 0 .. units-1; with one unit there is "
    "one class: the loss is 0 for label 0 and labels 1 are out of range (a GatherV2 error on "
    "CPU, garbage on GPU). A yes/no output needs binary cross-entropy.",
    '[outputs.churned]\nlayers = [{ type = "Dense", units = 1, activation = "sigmoid" }]\n'
    'loss = "sparse_categorical_crossentropy"',
    'Use `loss = "binary_crossentropy"` with one sigmoid unit, or give the output one unit per class.',
    ignorable=True,
    brief="sparse categorical cross-entropy on one unit",
)
METRIC_MEANINGLESS_FOR_LOSS = _rule(
    "MS705", "metric-meaningless-for-loss", WARNING,
    "a metric that means nothing for the output's loss (accuracy for a regression, r2 for "
    "a classifier, categorical accuracy on one unit ...)",
    "Keras computes it without complaint: 'accuracy' with mean squared error becomes "
    "binary_accuracy (predictions thresholded at 0.5 against real-valued targets); "
    "categorical_accuracy on one unit is always 1.0. The number logged is misleading.",
    '[outputs.price]\nlayers = [{ type = "Dense", units = 1 }]\nloss = "mean_squared_error"\n'
    'metrics = ["accuracy"]',
    'Use metrics of the task: mae or root_mean_squared_error for a regression, accuracy or auc for '
    "a classifier.",
    brief="a metric that means nothing for the loss (accuracy with mean squared error ...)",
)
OUTPUT_WITHOUT_LOSS = _rule(
    "MS706", "output-without-loss", WARNING,
    "an output without a loss in a spec that is trained (other outputs have losses, or there is "
    "a [compile] or [train] section)",
    "Keras builds and compiles the model, then fit stops with 'No loss to compute. Provide a "
    "`loss` argument in `compile()`.' "
    "`mspec fit` refuses it as MS601. A warning at lint, since a model may be built for "
    "inference only; a spec with no loss anywhere and no [compile] or [train] is not reported.",
    '[outputs.score]\nfrom = "trunk"\nlayers = [{ type = "Dense", units = 1 }]\n\n[compile]\n'
    'optimizer = "adam"',
    'Give the output a loss (`loss = "mean_squared_error"`) or set [compile] loss; for an '
    'inference-only output, `[lint] per_node_ignores = { score = ["MS706"] }`.',
    brief="an output without a loss in a spec that is trained (`mspec fit` refuses it: MS601)",
)
IDS_INTO_DENSE = _rule(
    "MS707", "ids-into-dense", WARNING,
    "integer or categorical input reaching Dense, convolution or recurrent layers without an "
    "Embedding, CategoryEncoding, IntegerLookup or Hashing",
    "Category ids are labels, not quantities: a Dense layer multiplies them, so id 7 counts as "
    "seven times id 1 and neighbouring ids look alike. Keras accepts int32 ids in Dense without "
    "a warning (they are cast to float32) and the model trains, badly; a convolution fails at run "
    "time instead ('cannot compute Conv2D as input #1 was expected to be a int32 tensor'). Counts and "
    "measurements stored as integers are fine: say so with kind = \"numeric\" (or pass them "
    "through Normalization or Rescaling).",
    '[inputs.plan]\nshape = [1]\ndtype = "int32"\nkind = "categorical"\n\n[branches.plan_features]\n'
    'from = "plan"\nlayers = [{ type = "Dense", units = 4 }]',
    'Put `{ type = "Embedding", input_dim = N, output_dim = 4 }` (then Flatten) or '
    '`{ type = "CategoryEncoding", num_tokens = N }` first.',
    brief="integer or categorical ids reaching Dense, convolution or recurrent layers without an Embedding",
)
FLOAT_INTO_EMBEDDING = _rule(
    "MS708", "float-into-embedding", WARNING,
    "a floating-point input feeding an Embedding or CategoryEncoding",
    "Keras casts the values to int32: 1.7 becomes id 1 and 0.3 id 0 (reproduced), so real-valued "
    "features are silently truncated. Ids stored as floats work, but nothing can tell "
    "ids from fractions.",
    '[inputs.category]\nshape = [1]   # float32 by default\n\n[branches.c]\nfrom = "category"\n'
    'layers = [{ type = "Embedding", input_dim = 50, output_dim = 8 }]',
    'Declare the ids as integers: `dtype = "int32"` (or feed real values to Dense).',
    brief="a float input feeding an Embedding (Keras truncates it to ids)",
)
STRING_INTO_LAYER = _rule(
    "MS709", "string-into-layer", ERROR,
    "a string input reaching a layer other than StringLookup, Hashing, HashedCrossing or "
    "TextVectorization",
    "Keras builds the model, then fails when the first batch is cast to numbers. Only string "
    "lookup, hashing and vectorization layers take strings: put one first, or turn strings into "
    "ids before the model.",
    '[inputs.city]\nshape = [1]\ndtype = "string"\n\n[branches.c]\nfrom = "city"\n'
    'layers = [{ type = "Embedding", input_dim = 100, output_dim = 8 }]',
    'Put `{ type = "StringLookup" }` first (its vocabulary inline, from `vocabulary_file`, or adapted '
    'by `mspec fit`), or map the strings to integer ids in the data and declare `dtype = "int32"`.',
    ignorable=True,
    brief="a string input reaching a layer",
)
MASK_DROPPED = _rule(
    "MS710", "mask-dropped", WARNING,
    "a mask (Embedding mask_zero, Masking) destroyed by a layer that does not support masking",
    "Keras warns at run time: 'Layer 'flatten' (of type Flatten) was passed an input with a mask "
    "attached to it. However, this layer does not support masking and will therefore destroy the "
    "mask information.' Padding positions then count as data downstream: pooling, recurrent and "
    "attention layers average over them, and the loss is no longer masked.",
    '[branches.tokens]\nfrom = "ids"\nlayers = [\n'
    '    { type = "Embedding", input_dim = 1000, output_dim = 8, mask_zero = true },\n'
    '    { type = "Flatten" },\n]',
    "Use layers that keep the mask (GlobalAveragePooling1D, LSTM, GRU ...) after the Embedding "
    "or Masking layer, or set mask_zero = false (remove the Masking layer) if padding is not to be "
    "masked.",
    brief="a mask (`mask_zero`) destroyed by a layer that does not support masking",
)
NORMALIZATION_NOT_ADAPTED = _rule(
    "MS711", "normalization-not-adapted", WARNING,
    "a Normalization layer without mean and variance in a model built by `mspec build`",
    "Without statistics, Keras' Normalization subtracts 0 and divides by 1 until adapt() is "
    "called: the saved model passes raw values through. `mspec fit` adapts it to the training "
    "data, so lint does not report it; `mspec build` does, since its model is not fitted by mspec.",
    '[branches.numeric_features]\nfrom = "numeric"\nlayers = [{ type = "Normalization" }]',
    "Train with `mspec fit` (which adapts the layer), adapt it yourself before training, or give "
    "mean and variance.",
    reported_by="mspec build",
    brief="a Normalization without statistics in a model built by `mspec build` "
    "(not lint: `mspec fit` adapts it)",
)
CONCATENATE_IMBALANCE = _rule(
    "MS712", "concatenate-imbalance", WARNING,
    f"Concatenate inputs from different model inputs whose widths differ {IMBALANCE_FACTOR} times "
    "or more",
    "The article: 'a model might overfit to one input modality if its representation overwhelms "
    "others in the concatenation.' A 4,096-wide image branch next to a 4-wide tabular one gives "
    "the next layer 1,000 times more weights on one input. Only inputs that come from disjoint "
    f"sets of model inputs are compared; the factor is {IMBALANCE_FACTOR}. `mspec fit` measures "
    "the actual balance (MS603).",
    '[merges.fused]\ntype = "Concatenate"\nfrom = ["image_features", "tabular"]   # (None, 4096) and '
    "(None, 4)",
    "Project the wide branch down (Dense, pooling) or the narrow one up before concatenating.",
    brief=f"Concatenate inputs from different inputs whose widths differ {IMBALANCE_FACTOR} times or more",
)
# --- 8xx: search spaces -----------------------------------------------------
SEARCH_UNKNOWN_PATH = _rule(
    "MS801", "search-unknown-path", ERROR,
    "a [search] key that names no parameter of the spec",
    "A misspelt path would tune nothing, or tune another layer than meant. A key is a dotted "
    "path into the spec's own tables (list positions as numbers, a step's `name` in place of "
    "its path); its last part may be a parameter the table does not write yet.",
    '[search]\n"branches.x2.layers.0.unit" = [32, 64]',
    'Use the path given in the hint: `"branches.x2.layers.0.units"`.',
)
SEARCH_WRONG_TYPE = _rule(
    "MS802", "search-wrong-type", ERROR,
    "a [search] value of the wrong type: for the parameter, or for a search value (a list of "
    "choices or a range table)",
    "Every trial would be refused by the parameter, or the search value cannot be sampled "
    "(an empty list, a range whose `low` is not below `high`, `log` with `step` ...).",
    '[search]\n"branches.x2.layers.0.units" = ["32", "64"]',
    'Write values of the parameter\'s type (`[32, 64]`), or a range `{ low = 16, high = 128 }`.',
)
SEARCH_VALUE_REFUSED = _rule(
    "MS803", "search-value-refused", ERROR,
    "a choice or range end that the parameter refuses: out of its range, or an unknown name",
    "Each value is checked as if written in the spec; a trial sampling it would fail before "
    "it trains.",
    '[search]\n"branches.x1.layers.1.rate" = { low = 0.0, high = 1.5 }   # Dropout: rate < 1',
    "Keep the values within what the parameter accepts: `{ low = 0.0, high = 0.5 }`.",
)
SEARCH_INVALID_POINTS = _rule(
    "MS804", "search-invalid-points", WARNING,
    "some combinations of the search space fail the static check",
    "Values that are each fine may not fit together: a Multiply of a 64-wide and a 32-wide "
    "branch. Every combination of the choices and range ends is checked (a sample of them in "
    "a larger space), and the invalid ones are reported by cause, with how many there are. "
    "`mspec tune` rejects such points when they are sampled, without training them.",
    '[search]\n"branches.x2.layers.0.units" = [32, 64]\n'
    '"merges.merged.type" = ["Concatenate", "Multiply"]',
    "Nothing, if the rest of the space is what you meant; else drop the values that cannot fit "
    "(or make them fit: equal widths for Multiply).",
)
SEARCH_SPACE_EMPTY = _rule(
    "MS805", "search-space-empty", ERROR,
    "no combination of the search space passes the static check",
    "Every trial would be rejected: a tune could never train anything.",
    '[search]\n"branches.x2.layers.0.units" = [16, 32]\n"merges.merged.type" = ["Multiply"]   '
    "# x1 is 64 wide",
    "Read the causes reported beside it (MS804) and widen the space so that some point is valid.",
    ignorable=False,
)
SEARCH_DUPLICATE_PARAMETER = _rule(
    "MS806", "search-duplicate-parameter", ERROR,
    "two [search] keys that name the same parameter",
    "A step's `name` and its position are two ways to reach the same parameter: a trial would "
    "have to take two values for it.",
    '[search]\n"branches.x2.layers.0.units" = [32, 64]\n"dense_x2.units" = [16]',
    "Keep one of the two keys.",
)
COMPARE_MISMATCH = _rule(
    "MS807", "compare-mismatch", ERROR,
    "specs compared on one data file that read it differently: another input or output, or "
    "another shape, dtype or column",
    "`mspec compare` fits every spec on the same data: specs that bind other columns, or the same "
    "columns another way, are not alternatives of one model and their scores cannot be compared.",
    "# a.toml: [inputs.input_2] shape = [5]\n# b.toml:\n[inputs.input_2]\nshape = [4]",
    "Compare specs that differ in what lies between the inputs and the outputs; give each the same "
    "[inputs] and the same outputs' label columns.",
    ignorable=False,
    reported_by="mspec compare",
)
# fmt: on

RULES: dict[str, Rule] = {rule.code: rule for rule in _RULES}
RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in _RULES}


def find_rule(code_or_name: str) -> Rule | None:
    """Look a rule up by code (case-insensitive) or by name."""
    key = code_or_name.strip()
    return RULES.get(key.upper()) or RULES_BY_NAME.get(key.lower())


def matching(selector: str) -> list[Rule]:
    """The rules a selector names: a code, a code prefix (MS7, MS70), a rule name, or ALL."""
    key = selector.strip()
    if key.upper() == "ALL":
        return list(_RULES)
    if key.lower() in RULES_BY_NAME:
        return [RULES_BY_NAME[key.lower()]]
    prefix = key.upper()
    if not prefix.startswith("MS"):
        return []
    return [rule for code, rule in RULES.items() if code.startswith(prefix)]

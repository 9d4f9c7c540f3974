"""The limits every spec file must stay within, and the stable codes of load errors."""

from __future__ import annotations

# --- Limits ------------------------------------------------------------------
# Every spec file must stay within these. Real specs are far smaller; the
# limits exist so that a broken or hostile file ends in a LoadError instead of
# exhausting memory, time or the interpreter's stack.

# Largest accepted file, in bytes (MS005).
MAX_FILE_BYTES = 16 * 1024 * 1024

# Deepest accepted nesting of arrays and tables, the root table being level 1
# (MS005). It is counted the same way for JSON objects and arrays, TOML inline
# tables and arrays, TOML table headers, arrays of tables and dotted keys: a
# container at data path P is at level len(P) + 1.
MAX_DEPTH = 64

# Most parts in one dotted TOML key or table header; `a.b.c` has three (MS005).
MAX_KEY_PARTS = 32

# Most digits in one number literal (MS004); stops huge literals before any
# conversion, since Python's int() refuses more than 4300 digits.
MAX_NUMBER_DIGITS = 100

# Integers must fit a signed 64-bit integer (MS004).
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1

# --- Error codes ---------------------------------------------------------------
# The stable codes of LoadError; docs/loading.md describes each.
SYNTAX = "MS001"  # malformed text, or a file of unknown format
DUPLICATE = "MS002"  # a key or TOML table defined twice
ENCODING = "MS003"  # not UTF-8, binary, forbidden control character, lone surrogate
NUMBER = "MS004"  # NaN, infinity, overflow, outside int64, too many digits
LIMIT = "MS005"  # one of the limits above exceeded
NOT_A_TABLE = "MS006"  # the top level is not a table (JSON object)

"""Stage 1: bytes to a Document, the spec file's plain values with the file:line:col of each."""

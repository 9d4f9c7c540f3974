"""The spec language: loading with a source map, models, validation."""

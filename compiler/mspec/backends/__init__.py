"""The last stage: what a checked ModelGraph becomes (Python source, a keras.Model, diagrams, text)."""

"""The model graph and the checks over it."""

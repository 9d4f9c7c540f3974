"""What several test modules share: paths, the Keras oracle, spec strategies, golden files.

Test modules import from here, never from one another.
"""

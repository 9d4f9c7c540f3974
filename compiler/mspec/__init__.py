"""mspec: declarative multi-input Keras model specs, checked statically."""

__version__ = "0.1.0"

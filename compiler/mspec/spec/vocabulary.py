"""Names Keras resolves from strings, allowed in specs: dtypes, losses, metrics, optimizers.

Only these strings can reach generated code, so a spec cannot smuggle an
arbitrary name into a Keras call.
"""

from __future__ import annotations

DTYPES = (
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
    "string",
)

INPUT_KINDS = ("numeric", "categorical", "text", "image", "sequence")

LOSSES = (
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_hinge",
    "cosine_similarity",
    "dice",
    "hinge",
    "huber",
    "kl_divergence",
    "log_cosh",
    "mae",
    "mape",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "mse",
    "msle",
    "poisson",
    "sparse_categorical_crossentropy",
    "squared_hinge",
    "tversky",
)

METRICS = (
    "acc",
    "accuracy",
    "auc",
    "binary_accuracy",
    "binary_crossentropy",
    "categorical_accuracy",
    "categorical_crossentropy",
    "categorical_hinge",
    "cosine_similarity",
    "hinge",
    "kl_divergence",
    "log_cosh_error",
    "mae",
    "mape",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "mse",
    "msle",
    "poisson",
    "precision",
    "r2_score",
    "recall",
    "root_mean_squared_error",
    "sparse_categorical_accuracy",
    "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy",
    "squared_hinge",
    "top_k_categorical_accuracy",
)

# Optimizer class -> the constructor arguments a spec may set (beyond learning_rate).
_COMMON_OPTIMIZER_ARGS = ("learning_rate", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm")
OPTIMIZERS: dict[str, tuple[str, ...]] = {
    "Adam": (*_COMMON_OPTIMIZER_ARGS, "beta_1", "beta_2", "epsilon", "amsgrad"),
    "AdamW": (*_COMMON_OPTIMIZER_ARGS, "beta_1", "beta_2", "epsilon", "amsgrad"),
    "Adamax": (*_COMMON_OPTIMIZER_ARGS, "beta_1", "beta_2", "epsilon"),
    "Nadam": (*_COMMON_OPTIMIZER_ARGS, "beta_1", "beta_2", "epsilon"),
    "SGD": (*_COMMON_OPTIMIZER_ARGS, "momentum", "nesterov"),
    "RMSprop": (*_COMMON_OPTIMIZER_ARGS, "rho", "momentum", "epsilon", "centered"),
    "Adagrad": (*_COMMON_OPTIMIZER_ARGS, "initial_accumulator_value", "epsilon"),
    "Adadelta": (*_COMMON_OPTIMIZER_ARGS, "rho", "epsilon"),
    "Ftrl": (*_COMMON_OPTIMIZER_ARGS, "learning_rate_power", "initial_accumulator_value"),
    "Lion": (*_COMMON_OPTIMIZER_ARGS, "beta_1", "beta_2"),
    "Adafactor": (*_COMMON_OPTIMIZER_ARGS, "beta_2_decay", "epsilon_1", "epsilon_2", "clip_threshold"),
}
# The string forms Keras accepts for the same classes: "adam", "sgd"...
OPTIMIZER_NAMES = {name.lower(): name for name in OPTIMIZERS}

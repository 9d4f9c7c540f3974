"""Carry a model's compile settings into the spec: optimizer, losses, loss weights and metrics.

Keras saves them as `compile_config` next to the model's config when the model
was compiled. A spec writes Keras' own losses, metrics and optimizers with
plain values as arguments; anything else is left out with a warning.
"""

from __future__ import annotations

from typing import Any

from ..diagnostics.rules import IMPORT_COMPILE_LEFT_OUT
from ..vocabulary import OPTIMIZER_NAMES
from .keras_format import describe, short
from .reporter import Reporter
from .values import (
    OPTIMIZER_DEFAULTS,
    OPTIMIZER_FIXED,
    is_keras_module,
    keras_object,
    same_number,
    short_float,
    unsaved_arguments,
)


class CompileSettings:
    """Carries compile_config (optimizer, losses, loss weights, metrics) into the spec."""

    # What a spec cannot hold (a loss object, a learning-rate schedule ...) is left out
    # with a warning (MS408): the model itself still imports.

    def __init__(self, reporter: Reporter, names: list[str], keras_names: list[str]):
        # `names`: the spec's outputs, in the model's order; `keras_names`: the same outputs as
        # compile_config names them (their keys when the outputs are a dict, else their layers' names).
        self.reporter = reporter
        self.names = names
        self.keras_names = keras_names

    def warn(self, message: str, hint: str | None = None) -> None:
        self.reporter.report(IMPORT_COMPILE_LEFT_OUT, message, hint)

    def apply(self, document: dict[str, Any], config: Any) -> None:
        """Add the compile settings of `config` (the saved compile_config) to the document."""
        if not isinstance(config, dict) or not config:
            return  # never compiled: Keras saves no compile_config, or an empty one
        outputs = document["outputs"]
        compile_section: dict[str, Any] = {"optimizer": self._optimizer(config.get("optimizer"))}
        for key, spec_key, check in (("loss", "loss", self._loss), ("metrics", "metrics", self._metrics)):
            value = config.get(key)
            if value is None:
                continue
            per_output = self._per_output(value, key)
            if per_output is None:  # one value for every output
                converted = check(value)
                if converted is None:
                    continue
                if len(self.names) == 1:
                    outputs[self.names[0]][spec_key] = converted
                else:
                    compile_section[spec_key] = converted
                continue
            for name, item in per_output.items():
                converted = check(item) if item is not None else None
                if converted:
                    outputs[name][spec_key] = converted
        weights = config.get("loss_weights")
        if weights is not None:
            for name, weight in (self._per_output(weights, "loss_weights") or {}).items():
                if isinstance(weight, int | float) and not isinstance(weight, bool) and weight >= 0:
                    outputs[name]["loss_weight"] = float(weight)
                elif weight is not None:
                    self.warn(f"loss weight {short(weight)} for output {name!r} is left out")
        if config.get("weighted_metrics"):
            self.warn("weighted_metrics are left out: a spec has no key for them")
        document["compile"] = compile_section
        for name, entry in outputs.items():
            # An output's keys in the order hand-written specs give them.
            keys = ("from", "layers", "loss", "loss_weight", "metrics")
            outputs[name] = {k: entry[k] for k in keys if k in entry}

    def _per_output(self, value: Any, what: str) -> dict[str, Any] | None:
        """Split a per-output dict or list by spec output name; None for one value for all outputs."""
        if isinstance(value, dict) and "class_name" not in value:
            result = {}
            for key, item in value.items():
                if key in self.keras_names:
                    result[self.names[self.keras_names.index(key)]] = item
                else:
                    self.warn(f"{what} for {key!r}, which is not an output of the model, are left out")
            return result
        if what == "metrics" and isinstance(value, list) and not any(isinstance(v, list) for v in value):
            return None
        if isinstance(value, list):
            if len(value) == len(self.names):
                return dict(zip(self.names, value, strict=True))
            self.warn(f"{what} {short(value)} do not match the model's {len(self.names)} outputs: left out")
            return {}
        return None

    def _loss(self, value: Any) -> Any:
        written = keras_object(value, "loss")
        if written is None:
            self.warn(
                f"loss {short(describe(value))} is left out",
                "a spec writes Keras' own losses, with plain values as arguments",
            )
        self._unsaved(value, "loss")
        return written

    def _unsaved(self, value: Any, family: str) -> None:
        """Warn about constructor arguments Keras did not save (Huber's delta): the spec has the default."""
        missing = unsaved_arguments(value, family)
        if missing:
            self.warn(
                f"{family} {value['class_name']}: Keras saved no {', '.join(missing)}, so the spec has "
                "Keras' default",
                "set it in the spec if the model was compiled with another value",
            )

    def _metrics(self, value: Any) -> list[Any] | None:
        items = value if isinstance(value, list) else [value]
        kept = []
        for item in items:
            written = keras_object(item, "metric")
            if written is not None:
                kept.append(written)
                self._unsaved(item, "metric")
            else:
                self.warn(
                    f"metric {short(describe(item))} is left out",
                    "a spec writes Keras' own metrics, with plain values as arguments",
                )
        return kept or None

    def _optimizer(self, value: Any) -> Any:
        if value is None:
            return "adam"
        if isinstance(value, str):
            if value.lower() in OPTIMIZER_NAMES:
                return value.lower()
            self.warn(f"optimizer {value!r} is left out: adam is used instead")
            return "adam"
        cls = value.get("class_name") if isinstance(value, dict) else None
        cls = cls if isinstance(cls, str) else None
        config = value.get("config") if isinstance(value, dict) else None
        if (
            cls not in OPTIMIZER_DEFAULTS
            or not isinstance(config, dict)
            or not is_keras_module(value.get("module"))
        ):
            self.warn(f"optimizer {short(describe(value))} is left out: adam is used instead")
            return "adam"
        defaults = OPTIMIZER_DEFAULTS[cls]
        settings: dict[str, Any] = {}
        for key, setting in config.items():
            if key == "name":
                continue
            if key in defaults:
                if isinstance(setting, dict):
                    self.warn(f"optimizer {key} {short(describe(setting))} is left out: the default is used")
                elif not (setting is None and defaults[key] is None) and not same_number(
                    setting, defaults[key]
                ):
                    if setting is None:
                        self.warn(f"optimizer {key}=None is left out: the default is used")
                    else:
                        settings[key] = short_float(setting)
            elif key in OPTIMIZER_FIXED:
                if not same_number(setting, OPTIMIZER_FIXED[key]):
                    self.warn(
                        f"optimizer setting {key}={short(setting)} is left out: a spec has no key for it"
                    )
            elif setting is not None and setting is not False:
                self.warn(f"optimizer setting {key}={short(setting)} is left out: a spec has no key for it")
        if not settings:
            return cls.lower()
        return {"type": cls, **{k: settings[k] for k in defaults if k in settings}}

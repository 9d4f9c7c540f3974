"""Training a spec's model on named data: `mspec fit` and `mspec.fit`.

Nothing here imports a framework until the spec, the settings and the data
have been checked.
"""

from .distribute import Cluster, DistributeError
from .runner import FitError, FitResult, check_before_fit, fit
from .settings import FitSettings

__all__ = ["Cluster", "DistributeError", "FitError", "FitResult", "FitSettings", "check_before_fit", "fit"]

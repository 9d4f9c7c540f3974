"""The spec strategies now live in `support.spec_graphs` and `support.spec_probes`: this name stays only
while callers move there."""

from support.spec_graphs import STRUCTURE_ONLY, Generated, valid_specs
from support.spec_probes import probe_specs

__all__ = ["STRUCTURE_ONLY", "Generated", "probe_specs", "valid_specs"]

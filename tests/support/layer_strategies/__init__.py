"""Hypothesis strategies of layer steps: one per layer kind, for cases of their own and for graphs.

Each kind (`kind.Kind`) draws its step with one function, for the shapes it
reads: fitted to them in a graph (a step Keras accepts for every one), or in
and near the valid range in a case of its own, so that the differential
tests meet refusals as often as acceptances. The modules follow
`mspec.layers`: core, merge, conv, pooling, reshaping, rnn.
"""

from __future__ import annotations

from support.layer_strategies import conv, core, merge, pooling, reshaping, rnn
from support.layer_strategies.kind import Kind

KINDS: dict[str, Kind] = core.KINDS | merge.KINDS | conv.KINDS | pooling.KINDS | reshaping.KINDS | rnn.KINDS

"""Generated specs of many parallel branches, for what must stay fast on about 1,000 nodes.

The draw tests and the benchmark of `mspec draw` (in benchmarks/) both use this generator, so that
both measure the same graph.
"""

from __future__ import annotations


def generated_spec(inputs: int, depth: int, group: int = 5) -> str:
    """A spec of `inputs` branches of `depth` layers, concatenated in groups of `group`, then added.

    `inputs` must be a multiple of `group`, so that every concatenation has the same width.
    """
    lines = ['[model]\nname = "generated"\n']
    dense, dropout = '{ type = "Dense", units = 16, activation = "relu" }', '{ type = "Dropout", rate = 0.1 }'
    layers = ", ".join(dense if k % 2 == 0 else dropout for k in range(depth))
    for i in range(inputs):
        lines.append(f"[inputs.in_{i}]\nshape = [16]\n")
        lines.append(f'[branches.b_{i}]\nfrom = "in_{i}"\nlayers = [{layers}]\n')
    groups = []
    for g in range(0, inputs, group):
        names = ", ".join(f'"b_{i}"' for i in range(g, min(g + group, inputs)))
        lines.append(f'[merges.m_{g // group}]\ntype = "Concatenate"\nfrom = [{names}]\n')
        groups.append(f'"m_{g // group}"')
    lines.append(f'[merges.total]\ntype = "Add"\nfrom = [{", ".join(groups)}]\n')
    lines.append('[outputs.out]\nfrom = "total"\nlayers = [{ type = "Dense", units = 1 }]\nloss = "mse"\n')
    return "\n".join(lines)

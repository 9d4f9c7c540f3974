"""`mspec lsp`: the checker of `mspec lint` as a language server, beside the command line.

server.py       open documents, when to re-check, which module answers which request
(the `mspec lsp` command is in mspec.cli.lsp: it imports pygls only when it runs)
analysis.py     one check of one version of a document (the front end of pipeline.py)
positions.py    the loaders' line:col <-> offsets <-> LSP positions; how far a key or value reaches
context.py      what the cursor is on, read from the text (works on half-typed specs)
knowledge.py    the layer registry, section models and vocabulary, in words
diagnostics.py  findings -> LSP diagnostics (ranges, codes, links to docs/diagnostics.md)
hover.py        shapes, weights and uses of a name; layer and parameter documentation
completion.py   layer types, parameters, node names, vocabulary values, sections
navigation.py   definition, references, rename, the outline
actions.py      quick fixes: did-you-mean, the output activation, ignore for this node
"""

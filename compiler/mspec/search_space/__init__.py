"""The search space of a spec: its [search] and [tune] sections, read and checked statically.

    space.py         [search] and [tune] read from a loaded document: parameters, paths, values
    points.py        a point of the space written into the parsed document (no text edits)
    static_check.py  every combination (or a sample) checked by the front end, invalid ones by cause

Below pipeline.py, which adds the static check to the front end of every
command (`mspec lint` reports it), and below search/, whose `mspec tune`
samples the space and checks every point before it trains. Core install only.
"""

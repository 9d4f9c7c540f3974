"""Parameters fitted to the shapes a step reads: layouts, windows that fit, axes that exist, sizes.

Each helper takes the shapes of every use of a step (several for a shared
layer, which must fit them all). Without `fit`, they draw the same kinds of
values for a case of its own, where a window may be larger than the input
and strides may come with dilation: Keras refuses those, which is the point.
"""

from __future__ import annotations

from hypothesis import strategies as st

from support.layer_strategies.drawing import FORMATS, Shape, compact, known, pick


def smallest_known(shapes: list[Shape], axis: int) -> int | None:
    sizes = [s[axis] for s in shapes if known(s[axis])]
    return min(sizes) if sizes else None


def same_known(shapes: list[Shape], axis: int) -> bool:
    """Tell whether every shape has one known size on `axis` (a size weights may depend on)."""
    return known(shapes[0][axis]) and all(s[axis] == shapes[0][axis] for s in shapes)


def layout(draw, shapes: list[Shape], spatial_rank: int, *, fit: bool, plain: bool = False):
    """Pick a data_format, and return it with the spatial axes' smallest sizes and the channel count.

    Fitted, channels_first only where axis 1 is a known size common to every shape (`plain` asks for
    channels_last, as a layer built on the last axis needs). Not fitted, any format, and no sizes.
    """
    rank = spatial_rank + 2
    formats = FORMATS
    if fit:
        formats = [None, "channels_last"] + ([] if plain or not same_known(shapes, 1) else ["channels_first"])
    data_format = pick(draw, formats)
    params = {"data_format": data_format} if data_format else {}
    if not fit:
        return params, [None] * spatial_rank, None
    first = data_format == "channels_first"
    axes = range(2, rank) if first else range(1, rank - 1)
    channels = shapes[0][1] if first else shapes[0][-1]
    return params, [smallest_known(shapes, a) for a in axes], channels


def window(draw, limits: list[int | None], *, fit: bool, paddings=("valid", "same"), transpose=False):
    """Draw kernel_size, strides, dilation_rate and padding for axes of the given smallest sizes.

    Keras refuses strides > 1 together with dilation_rate > 1: a fitted window has one or the other,
    and a 'valid' one fits its axis; one not fitted sometimes has both.
    """
    padding = pick(draw, list(paddings))
    mode = pick(draw, ["plain", "strided", "dilated"] + ([] if fit else ["both"]))
    strided, dilated = mode in ("strided", "both"), mode in ("dilated", "both")
    kernels, strides, dilations = [], [], []
    for limit in limits:
        dilation = draw(st.integers(1, 3)) if dilated else 1
        high = 4
        if padding == "valid" and limit is not None and not transpose:
            high = min(high, (limit - 1) // dilation + 1)
        kernels.append(draw(st.integers(1, high)))
        strides.append(draw(st.integers(1, 3)) if strided else 1)
        dilations.append(dilation)
    params = {"kernel_size": compact(draw, kernels)}
    if padding != "valid" or draw(st.booleans()):
        params["padding"] = padding
    if strided:
        params["strides"] = compact(draw, strides)
    if dilated:
        params["dilation_rate"] = compact(draw, dilations)
    return params


def crop(draw, limit: int | None):
    """Draw an int or [before, after] that leaves a position on an axis of smallest size `limit`."""
    before = draw(st.integers(0, 2 if limit is None else min(2, limit - 1)))
    after = draw(st.integers(0, 2 if limit is None else min(2, limit - 1 - before)))
    return before if before == after and draw(st.booleans()) else [before, after]


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def factorize(draw, total: int, parts: int) -> list[int]:
    """Draw `parts` sizes whose product is `total`."""
    sizes = []
    for _ in range(parts - 1):
        size = pick(draw, divisors(total))
        sizes.append(size)
        total //= size
    return [*sizes, total]


def normalized_axes(shapes: list[Shape], *, fit: bool, plain: bool = False) -> list[int]:
    """The axes a normalization may be built on: fitted, those of one known size in every shape."""
    rank = len(shapes[0])
    if plain:
        return [rank - 1]
    return [a for a in range(1, rank) if not fit or same_known(shapes, a)]


def write_axis(draw, axis: int, rank: int) -> int:
    """Write an axis from the front or from the back."""
    return axis if draw(st.booleans()) else axis - rank

"""Differential tests of the augmentation, audio, ReversibleEmbedding and SpectralNormalization kinds.

Same method as every layer differential test (`support.layer_agreement`): Keras
(through `support.keras_oracle`) is the truth for what is accepted, the output
shape and `count_params()`. Random layers are compared on shapes only (their
values are random); cases marked `run` also call the layer on arrays, where the
colour layers check their channels. Every generated case runs.
"""

from __future__ import annotations

import pytest

pytest.importorskip("keras")

from hypothesis import strategies as st

from mspec.layers import KIND_MODULES

from support.layer_cases import (
    Case,
    L,
    N,
    check_deliberate_refusal,
    check_every_kind_has_accepted_and_refused,
    check_explicit_case,
    check_generated_cases,
    no,
    ok,
    param,
)

pytestmark = [pytest.mark.keras]

KINDS = sorted(
    [
        *(name for name, module in KIND_MODULES.items() if module in ("augmentation", "audio")),
        "ReversibleEmbedding",
        "SpectralNormalization",
    ]
)
IMG = (N, 8, 8, 3)
GREY = (N, 8, 8, 1)
FIRST = (N, 3, 8, 8)

CASES = [
    # Colour: grey images need a grayscale-or-RGB input; hue, saturation and colour degeneration need RGB.
    ok(L("RandomGrayscale"), IMG, run=True),
    ok(L("RandomGrayscale", factor=1.0), GREY, run=True),
    ok(L("RandomGrayscale", data_format="channels_first"), FIRST, run=True),
    no(L("RandomGrayscale"), (N, 8, 8, 4), run=True),
    no(L("RandomGrayscale", factor=1.5), IMG),
    no(L("RandomGrayscale"), (N, 8), run=True),
    ok(L("RandomHue", factor=0.2), IMG, run=True),
    ok(L("RandomHue", factor=[0.1, 0.4], value_range=[0, 1]), IMG, run=True),
    no(L("RandomHue", factor=0.2), GREY, run=True),
    no(L("RandomHue", factor=1.5), IMG),
    ok(L("RandomSaturation", factor=0.3), IMG, run=True),
    ok(L("RandomSaturation", factor=0.3, data_format="channels_first"), FIRST, run=True),
    no(L("RandomSaturation", factor=0.3), GREY, run=True),
    no(L("RandomSaturation", factor=0.3, value_range=[0]), IMG),
    ok(L("RandomColorDegeneration", factor=0.3), IMG, run=True),
    no(L("RandomColorDegeneration", factor=0.3), GREY, run=True),
    ok(L("RandomColorJitter", brightness_factor=0.2, contrast_factor=0.3), GREY, run=True),
    ok(L("RandomColorJitter", hue_factor=0.2, saturation_factor=0.1), IMG, run=True),
    no(L("RandomColorJitter", saturation_factor=0.2), GREY, run=True),
    ok(L("RandomSharpness", factor=0.3), GREY, run=True),
    no(L("RandomSharpness", factor=0.3), (N, 8, 8, 8, 3), run=True),
    ok(L("RandomInvert"), IMG, run=True),
    ok(L("RandomInvert", factor=0.5, value_range=[0, 1]), GREY, run=True),
    no(L("RandomInvert"), (N, 8), run=True),
    ok(L("RandomPosterization", factor=4), IMG, run=True),
    ok(L("RandomPosterization", factor=[2, 6]), GREY, run=True),
    no(L("RandomPosterization", factor=0.5), IMG),
    no(L("RandomPosterization", factor=9), IMG),
    # Geometry
    ok(L("RandomShear", x_factor=[0.1, 0.3], y_factor=0.2, fill_mode="constant"), IMG, run=True),
    ok(L("RandomShear", data_format="channels_first"), FIRST, run=True),
    no(L("RandomShear", x_factor=1.5), IMG),
    no(L("RandomShear", x_factor=-0.2), IMG),
    ok(L("RandomPerspective"), IMG, run=True),
    ok(L("RandomPerspective", data_format="channels_first"), (N, 1, 8, 8), run=True),
    no(L("RandomPerspective", scale=1.5), IMG),
    ok(L("RandomElasticTransform"), IMG, run=True),
    ok(L("RandomElasticTransform", data_format="channels_first"), FIRST, run=True),
    no(L("RandomElasticTransform", interpolation="bicubic"), IMG),
    # Blur, erasing, histogram and contrast
    ok(L("RandomGaussianBlur"), IMG, run=True),
    ok(L("RandomGaussianBlur", kernel_size=[3, 5], sigma=[0.5, 1.0]), GREY, run=True),
    no(L("RandomGaussianBlur", kernel_size=4), IMG),
    ok(L("RandomErasing", scale=[0.1, 0.2], fill_value=0.0), IMG, run=True),
    ok(L("RandomErasing", data_format="channels_first"), FIRST, run=True),
    no(L("RandomErasing", factor=2.0), IMG),
    ok(L("AutoContrast"), IMG, run=True),
    ok(L("AutoContrast", value_range=[0, 1]), GREY, run=True),
    no(L("AutoContrast", value_range=[0, 1, 2]), IMG),
    no(L("AutoContrast"), (N, 8), run=True),
    ok(L("Solarization", addition_factor=0.2, threshold_factor=[0.1, 0.5]), IMG, run=True),
    no(L("Solarization", threshold_factor=1.2), IMG),
    ok(L("Equalization", bins=16), IMG, run=True),
    ok(L("Equalization", data_format="channels_first"), (N, 1, 8, 8), run=True),
    no(L("Equalization", value_range=5), IMG),
    ok(L("ContrastLimitedAdaptiveHistogramEqualization"), IMG, run=True),
    ok(L("ContrastLimitedAdaptiveHistogramEqualization", tile_grid_size=[2, 2]), GREY, run=True),
    no(L("ContrastLimitedAdaptiveHistogramEqualization", data_format="NHWC"), IMG),
    # Policies and batch mixing
    ok(L("AugMix"), IMG, run=True),
    ok(L("AugMix", all_ops=False, num_chains=2), GREY, run=True),
    no(L("AugMix", factor=1.5), IMG),
    ok(L("RandAugment", num_ops=1, factor=[0.1, 0.4]), IMG, run=True),
    no(L("RandAugment", interpolation="area"), IMG),
    ok(L("CutMix", factor=[0.2, 0.5]), (N, 4, 4, 2), run=True),
    no(L("CutMix", factor=2.0), IMG),
    ok(L("MixUp", alpha=0.5), (N, 4, 4, 2), run=True),
    no(L("MixUp"), (N, 4), run=True),
    # Audio
    ok(L("MelSpectrogram", fft_length=64, sequence_stride=16, num_mel_bins=10), (N, 400), run=True),
    ok(L("MelSpectrogram", fft_length=64, sequence_stride=16, num_mel_bins=10), (N, 414), run=True),
    ok(L("MelSpectrogram", fft_length=64, sequence_stride=16, sequence_length=32, window="hamming"), (N, 400),
       run=True),
    ok(L("MelSpectrogram", fft_length=64, sequence_stride=16, window=None), (N, 400), run=True),
    ok(L("MelSpectrogram"), (N, 4000), run=True),
    no(L("MelSpectrogram", fft_length=64, sequence_stride=16), (N, 415), run=True),
    no(L("MelSpectrogram", fft_length=63, sequence_stride=16), (N, 400), run=True),
    no(L("MelSpectrogram", fft_length=32, sequence_length=64), (N, 400)),
    no(L("MelSpectrogram", fft_length=64, sequence_stride=16), (N, 400, 1), run=True),
    ok(L("STFTSpectrogram"), (N, 400, 1), run=True),
    ok(L("STFTSpectrogram", frame_length=32, padding="same", frame_step=10), (N, 400, 2), run=True),
    ok(L("STFTSpectrogram", frame_length=30, mode="real"), (N, 400, 2), run=True),
    ok(L("STFTSpectrogram", frame_length=30, mode="imag", fft_length=64), (N, 400, 2), run=True),
    ok(L("STFTSpectrogram", frame_length=32, mode="stft", expand_dims=True), (N, 400, 2), run=True),
    ok(L("STFTSpectrogram", frame_length=32, expand_dims=True, data_format="channels_first"), (N, 2, 400),
       run=True),
    ok(L("STFTSpectrogram", frame_length=32, data_format="channels_first", window="hamming"), (N, 2, 400),
       run=True),
    ok(L("STFTSpectrogram", frame_length=32, window=None, scaling=None), (N, 400, 1), run=True),
    no(L("STFTSpectrogram", frame_length=32), (N, 20, 1)),
    no(L("STFTSpectrogram", frame_length=32), (N, 400, N)),
    no(L("STFTSpectrogram", frame_length=32, frame_step=40), (N, 400, 1)),
    no(L("STFTSpectrogram", frame_length=32, fft_length=16), (N, 400, 1)),
    no(L("STFTSpectrogram", frame_length=32, window="nope"), (N, 400, 1)),
    no(L("STFTSpectrogram", frame_length=32), (N, 400)),
    # ReversibleEmbedding and SpectralNormalization
    ok(L("ReversibleEmbedding", input_dim=10, output_dim=4), (N, 5), run=True),
    ok(L("ReversibleEmbedding", input_dim=10, output_dim=4, tie_weights=False, logit_soft_cap=3.0), (N, 5, 2),
       run=True),
    no(L("ReversibleEmbedding", input_dim=0, output_dim=4), (N, 5)),
    ok(L("SpectralNormalization", layer=L("Dense", units=3)), (N, 5), run=True),
    ok(L("SpectralNormalization", layer=L("Dense", units=3), power_iterations=3), (N, 2, 5), run=True),
    ok(L("SpectralNormalization", layer=L("Conv1D", filters=3, kernel_size=2)), (N, 5, 2), run=True),
    ok(L("SpectralNormalization", layer=L("Conv2D", filters=3, kernel_size=2)), (N, 5, 5, 2), run=True),
    ok(L("SpectralNormalization", layer=L("Embedding", input_dim=10, output_dim=3)), (N, 5), run=True),
    no(L("SpectralNormalization", layer=L("Flatten")), (N, 5, 2)),
    no(L("SpectralNormalization", layer=L("Dense", units=3), power_iterations=0), (N, 5)),
    no(L("SpectralNormalization", layer=L("Conv2D", filters=3, kernel_size=2)), (N, 5, 2)),
]  # fmt: skip

# What mspec refuses although Keras builds it.
DELIBERATE = [
    ("Keras takes a rank-3 tensor as one unbatched image: the batch axis would be treated as the height",
     ok(L("RandomSharpness", factor=0.2), (N, 8, 8), run=True)),
    ("Keras takes a rank-3 tensor as one unbatched image",
     ok(L("RandomInvert"), (N, 8, 3))),
    ("Keras takes a rank-1 tensor as one unbatched waveform: the batch axis would be its samples",
     ok(L("MelSpectrogram", fft_length=8, sequence_stride=4), (N,))),
    ("a number of bits written as a float: Keras builds it, and fit fails on TensorFlow (it shifts the "
     "pixels' bits by an int64 tensor made of the factor); the docs ask for an integer",
     ok(L("RandomPosterization", factor=4.0), IMG)),
    ("fill_mode 'mirror' runs on JAX only: TensorFlow's kernels refuse it",
     ok(L("RandomElasticTransform", fill_mode="mirror"), IMG)),
    ("SpectralNormalization is limited to kinds whose kernel's last axis is the output size",
     ok(L("SpectralNormalization", layer=L("DepthwiseConv2D", kernel_size=2)), (N, 5, 5, 2))),
]  # fmt: skip


@pytest.mark.parametrize("case", [param(c) for c in CASES])
def test_case(case: Case) -> None:
    check_explicit_case(case)


@pytest.mark.parametrize("reason, case", [param(c, r) for r, c in DELIBERATE])
def test_deliberate_refusal(reason: str, case: Case) -> None:
    check_deliberate_refusal(reason, case)


def test_every_kind_has_accepted_and_refused_cases() -> None:
    check_every_kind_has_accepted_and_refused(KINDS, CASES)


# --- Generated cases ------------------------------------------------------------

SHAPE_KEEPING = ["RandomSharpness", "RandomInvert", "RandomShear", "RandomGaussianBlur", "RandomErasing",
                 "RandomPerspective", "AutoContrast", "Equalization", "CutMix", "MixUp", "RandomGrayscale",
                 "RandomHue", "RandomSaturation"]  # fmt: skip


@st.composite
def image_case(draw):
    name = draw(st.sampled_from(SHAPE_KEEPING))
    step = L(name)
    if name in ("RandomSharpness", "RandomHue", "RandomSaturation"):
        step["factor"] = draw(st.floats(0, 1))
    first = name != "AutoContrast" and draw(st.booleans())
    if first:
        step["data_format"] = "channels_first"
    channels = draw(st.sampled_from([1, 3]))
    height, width = draw(st.integers(2, 6)), draw(st.integers(2, 6))
    shape = (N, channels, height, width) if first else (N, height, width, channels)
    return step, [shape], True


@st.composite
def stft_case(draw):
    frame = draw(st.integers(4, 24))
    step = L("STFTSpectrogram", frame_length=frame, mode=draw(st.sampled_from(["log", "real", "stft"])),
             padding=draw(st.sampled_from(["valid", "same"])), expand_dims=draw(st.booleans()))  # fmt: skip
    if draw(st.booleans()):
        step["frame_step"] = draw(st.integers(1, frame))
    if draw(st.booleans()):
        step["data_format"] = "channels_first"
    samples, channels = draw(st.integers(1, 60)), draw(st.integers(1, 3))
    first = step.get("data_format") == "channels_first"
    return step, [(N, channels, samples) if first else (N, samples, channels)], True


@st.composite
def mel_case(draw):
    fft = draw(st.sampled_from([16, 32]))
    step = L("MelSpectrogram", fft_length=fft, sequence_stride=draw(st.integers(1, 16)),
             num_mel_bins=draw(st.integers(1, 12)))  # fmt: skip
    # At least fft_length // 2 + 1 samples: TensorFlow's reflect padding needs them (JAX does not).
    return step, [(N, draw(st.integers(fft // 2 + 1, 80)))], True


GENERATED = {"images": image_case(), "STFTSpectrogram": stft_case(), "MelSpectrogram": mel_case()}


@pytest.mark.kernels
@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_cases(name: str) -> None:
    check_generated_cases(GENERATED[name])

"""Audio front ends: MelSpectrogram and STFTSpectrogram turn waveforms into spectrograms.

MelSpectrogram takes a batch of waveforms, shape (batch, samples), and has no
weights. STFTSpectrogram takes (batch, samples, channels) (channels first with
`data_format`) and computes its Fourier transform as a convolution with fixed,
non-trainable kernels, which Keras counts among its parameters.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from . import dtypes as dt
from .base import Dim, LayerKind, LayerParams, PositiveInt, Shape, ShapeError, Trait, register
from .geometry import DataFormat, channels_first

# MelSpectrogram windows through keras.ops.stft: these two names, or none.
StftWindow = Literal["hann", "hamming"] | None
# STFTSpectrogram reads its window from scipy.signal.get_window: the parameterless names.
ScipyWindow = (
    Literal[
        "hann", "hamming", "blackman", "bartlett", "boxcar", "triang", "bohman", "blackmanharris",
        "nuttall", "barthann", "cosine", "flattop", "parzen",
    ]
    | None
)  # fmt: skip


class MelSpectrogramParams(LayerParams):
    fft_length: PositiveInt = 2048
    sequence_stride: PositiveInt = 512
    sequence_length: PositiveInt | None = None
    window: StftWindow = "hann"
    sampling_rate: PositiveInt = 16000
    num_mel_bins: PositiveInt = 128
    min_freq: Annotated[float, Field(ge=0)] = 20.0
    max_freq: Annotated[float, Field(gt=0)] | None = None
    power_to_db: bool = True
    top_db: float = 80.0
    mag_exp: float = 2.0
    min_power: Annotated[float, Field(gt=0)] = 1e-10
    ref_power: Annotated[float, Field(gt=0)] = 1.0

    @model_validator(mode="after")
    def _lengths(self):
        if self.sequence_length is not None and self.fft_length < self.sequence_length:
            raise ValueError("fft_length must be at least sequence_length")
        return self


def _mel_shape(p: MelSpectrogramParams, shapes) -> Shape:
    (shape,) = shapes
    if len(shape) != 2:
        raise ShapeError(
            "MelSpectrogram takes a batch of waveforms, shape (batch, samples), got {0}",
            hint="give the input shape [samples]",
        )
    samples = shape[1]
    if not isinstance(samples, int):
        return (shape[0], p.num_mel_bins, None)
    # Keras declares (samples + stride + 1) // stride frames; the centred STFT it runs makes
    # 1 + (samples + 2 * (fft_length // 2) - fft_length) // stride of them.
    declared = (samples + p.sequence_stride + 1) // p.sequence_stride
    computed = 1 + (samples + 2 * (p.fft_length // 2) - p.fft_length) // p.sequence_stride
    if declared != computed:
        raise ShapeError(
            f"MelSpectrogram declares {declared} frames for {samples} samples with sequence_stride "
            f"{p.sequence_stride}, but computes {computed}: the built model would not match what runs",
            hint="choose a number of samples one less than a multiple of sequence_stride, or smaller",
        )
    return (shape[0], p.num_mel_bins, declared)


register(
    LayerKind(
        "MelSpectrogram", MelSpectrogramParams, _mel_shape, lambda p, s: 0, "audio",
        "Turns waveforms (batch, samples) into log-mel spectrograms (batch, num_mel_bins, frames).",
        key_params=("num_mel_bins", "fft_length", "sequence_stride"), traits=frozenset(), dtypes=dt.PROMOTES,
    )
)  # fmt: skip


class STFTSpectrogramParams(LayerParams):
    mode: Literal["log", "magnitude", "psd", "real", "imag", "angle", "stft"] = "log"
    frame_length: PositiveInt = 256
    frame_step: PositiveInt | None = None
    fft_length: PositiveInt | None = None
    window: ScipyWindow = "hann"
    periodic: bool = False
    scaling: Literal["density", "spectrum"] | None = "density"
    padding: Literal["valid", "same"] = "valid"
    expand_dims: bool = False
    data_format: DataFormat = None

    @model_validator(mode="after")
    def _lengths(self):
        if self.frame_step is not None and self.frame_step > self.frame_length:
            raise ValueError("frame_step must not be greater than frame_length")
        if self.fft_length is not None and self.fft_length < self.frame_length:
            raise ValueError("fft_length must be at least frame_length")
        return self

    @property
    def step(self) -> int:
        return self.frame_step or self.frame_length // 2

    @property
    def fft(self) -> int:
        return self.fft_length or 1 << (self.frame_length - 1).bit_length()

    @property
    def bins(self) -> int:
        return self.fft // 2 + 1


def _frames(p: STFTSpectrogramParams, samples: Dim) -> Dim:
    if not isinstance(samples, int):
        return None
    if p.padding == "same":
        return -(-samples // p.step)
    frames = (samples - p.frame_length) // p.step + 1
    if frames <= 0:
        raise ShapeError(
            f"STFTSpectrogram needs at least frame_length={p.frame_length} samples with padding 'valid', "
            "got {0}",
            hint="use longer inputs, a shorter frame_length or padding 'same'",
        )
    return frames


def _stft_shape(p: STFTSpectrogramParams, shapes) -> Shape:
    (shape,) = shapes
    if len(shape) != 3:
        raise ShapeError(
            "STFTSpectrogram takes (batch, samples, channels) (channels first with data_format), got {0}",
            hint="give the input shape [samples, 1] for one channel",
        )
    first = channels_first(p.data_format)
    samples, channels = (shape[2], shape[1]) if first else (shape[1], shape[2])
    if not isinstance(channels, int):
        raise ShapeError(
            "STFTSpectrogram needs a known number of channels, got {0}",
            hint="give the channels axis a fixed size in the input shape",
        )
    frames = _frames(p, samples)
    freq = p.bins * (2 if p.mode == "stft" else 1)
    if p.expand_dims:
        return (shape[0], channels, frames, freq) if first else (shape[0], frames, freq, channels)
    return (shape[0], freq * channels, frames) if first else (shape[0], frames, freq * channels)


def _stft_count(p: STFTSpectrogramParams, shapes) -> int:
    kernels = 1 if p.mode in ("real", "imag") else 2
    return kernels * p.frame_length * p.bins


register(
    LayerKind(
        "STFTSpectrogram", STFTSpectrogramParams, _stft_shape, _stft_count, "audio",
        "Turns signals (batch, samples, channels) into short-time Fourier spectrograms, with fixed kernels.",
        key_params=("mode", "frame_length", "frame_step"), build_rank=True,
        traits=frozenset({Trait.CPU_CHANNELS_LAST}), dtypes=dt.FLOAT_ONLY,
    )
)  # fmt: skip

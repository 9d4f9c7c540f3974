"""One valid step per layer kind, with its input shapes: the calls the dtype survey and tests feed each dtype.

Each step is the smallest call of its kind that both mspec and Keras accept
with float32 inputs (and, for the layers that read ids or strings, with the
dtype they are meant for), so that a failure with another dtype is the
dtype's doing and nothing else's. Known sizes only, so that the calls can run.
"""

from __future__ import annotations

from support.layer_cases import L

VECTOR = (None, 4)
SEQUENCE = (None, 5, 4)
IMAGE = (None, 8, 8, 3)
VOLUME = (None, 4, 4, 4, 2)
AB = ["a", "b"]

# kind -> (step, input shapes): a merge has two (or three) inputs.
STEPS: dict[str, tuple[dict, list[tuple]]] = {
    # core
    "Activation": (L("Activation", activation="sigmoid"), [VECTOR]),
    "BatchNormalization": (L("BatchNormalization"), [VECTOR]),
    "CategoryEncoding": (L("CategoryEncoding", num_tokens=5, output_mode="multi_hot"), [VECTOR]),
    "Dense": (L("Dense", units=3), [VECTOR]),
    "Dropout": (L("Dropout", rate=0.5), [VECTOR]),
    "Embedding": (L("Embedding", input_dim=10, output_dim=3), [VECTOR]),
    "Flatten": (L("Flatten"), [SEQUENCE]),
    "GaussianDropout": (L("GaussianDropout", rate=0.3), [VECTOR]),
    "GaussianNoise": (L("GaussianNoise", stddev=0.3), [VECTOR]),
    "Identity": (L("Identity"), [VECTOR]),
    "LayerNormalization": (L("LayerNormalization"), [VECTOR]),
    "Normalization": (L("Normalization", mean=0.5, variance=2.0), [VECTOR]),
    "Permute": (L("Permute", dims=[2, 1]), [SEQUENCE]),
    "RepeatVector": (L("RepeatVector", n=3), [VECTOR]),
    "Rescaling": (L("Rescaling", scale=0.5, offset=1.0), [VECTOR]),
    "Reshape": (L("Reshape", target_shape=[2, 2]), [VECTOR]),
    "SpatialDropout1D": (L("SpatialDropout1D", rate=0.5), [SEQUENCE]),
    # merges
    "Add": (L("Add"), [VECTOR, VECTOR]),
    "Attention": (L("Attention"), [SEQUENCE, SEQUENCE]),
    "Average": (L("Average"), [VECTOR, VECTOR]),
    "Concatenate": (L("Concatenate"), [VECTOR, VECTOR]),
    "Dot": (L("Dot", axes=1), [VECTOR, VECTOR]),
    "Maximum": (L("Maximum"), [VECTOR, VECTOR]),
    "Minimum": (L("Minimum"), [VECTOR, VECTOR]),
    "MultiHeadAttention": (L("MultiHeadAttention", num_heads=2, key_dim=2), [SEQUENCE, SEQUENCE]),
    "Multiply": (L("Multiply"), [VECTOR, VECTOR]),
    "Subtract": (L("Subtract"), [VECTOR, VECTOR]),
    "AdditiveAttention": (L("AdditiveAttention"), [SEQUENCE, SEQUENCE]),
    "GroupQueryAttention": (
        L("GroupQueryAttention", head_dim=2, num_query_heads=2, num_key_value_heads=1),
        [SEQUENCE, SEQUENCE],
    ),
    "HashedCrossing": (L("HashedCrossing", num_bins=5), [(None, 1), (None, 1)]),
    # convolutions
    "Conv1D": (L("Conv1D", filters=2, kernel_size=3), [SEQUENCE]),
    "Conv1DTranspose": (L("Conv1DTranspose", filters=2, kernel_size=3), [SEQUENCE]),
    "Conv2D": (L("Conv2D", filters=2, kernel_size=3), [IMAGE]),
    "Conv2DTranspose": (L("Conv2DTranspose", filters=2, kernel_size=3), [IMAGE]),
    "Conv3D": (L("Conv3D", filters=2, kernel_size=3), [VOLUME]),
    "Conv3DTranspose": (L("Conv3DTranspose", filters=2, kernel_size=3), [VOLUME]),
    "DepthwiseConv1D": (L("DepthwiseConv1D", kernel_size=3), [SEQUENCE]),
    "DepthwiseConv2D": (L("DepthwiseConv2D", kernel_size=3), [IMAGE]),
    "SeparableConv1D": (L("SeparableConv1D", filters=2, kernel_size=3), [SEQUENCE]),
    "SeparableConv2D": (L("SeparableConv2D", filters=2, kernel_size=3), [IMAGE]),
    # pooling
    "AveragePooling1D": (L("AveragePooling1D", pool_size=2), [SEQUENCE]),
    "AveragePooling2D": (L("AveragePooling2D", pool_size=2), [IMAGE]),
    "AveragePooling3D": (L("AveragePooling3D", pool_size=2), [VOLUME]),
    "MaxPooling1D": (L("MaxPooling1D"), [SEQUENCE]),
    "MaxPooling2D": (L("MaxPooling2D"), [IMAGE]),
    "MaxPooling3D": (L("MaxPooling3D"), [VOLUME]),
    "GlobalAveragePooling1D": (L("GlobalAveragePooling1D"), [SEQUENCE]),
    "GlobalAveragePooling2D": (L("GlobalAveragePooling2D"), [IMAGE]),
    "GlobalAveragePooling3D": (L("GlobalAveragePooling3D"), [VOLUME]),
    "GlobalMaxPooling1D": (L("GlobalMaxPooling1D"), [SEQUENCE]),
    "GlobalMaxPooling2D": (L("GlobalMaxPooling2D"), [IMAGE]),
    "GlobalMaxPooling3D": (L("GlobalMaxPooling3D"), [VOLUME]),
    "AdaptiveAveragePooling1D": (L("AdaptiveAveragePooling1D", output_size=2), [SEQUENCE]),
    "AdaptiveAveragePooling2D": (L("AdaptiveAveragePooling2D", output_size=2), [IMAGE]),
    "AdaptiveAveragePooling3D": (L("AdaptiveAveragePooling3D", output_size=2), [VOLUME]),
    "AdaptiveMaxPooling1D": (L("AdaptiveMaxPooling1D", output_size=2), [SEQUENCE]),
    "AdaptiveMaxPooling2D": (L("AdaptiveMaxPooling2D", output_size=2), [IMAGE]),
    "AdaptiveMaxPooling3D": (L("AdaptiveMaxPooling3D", output_size=2), [VOLUME]),
    # reshaping
    "Cropping1D": (L("Cropping1D", cropping=1), [SEQUENCE]),
    "Cropping2D": (L("Cropping2D", cropping=1), [IMAGE]),
    "Cropping3D": (L("Cropping3D", cropping=1), [VOLUME]),
    "UpSampling1D": (L("UpSampling1D"), [SEQUENCE]),
    "UpSampling2D": (L("UpSampling2D"), [IMAGE]),
    "UpSampling3D": (L("UpSampling3D"), [VOLUME]),
    "ZeroPadding1D": (L("ZeroPadding1D"), [SEQUENCE]),
    "ZeroPadding2D": (L("ZeroPadding2D"), [IMAGE]),
    "ZeroPadding3D": (L("ZeroPadding3D"), [VOLUME]),
    # recurrent
    "GRU": (L("GRU", units=2), [SEQUENCE]),
    "LSTM": (L("LSTM", units=2), [SEQUENCE]),
    "SimpleRNN": (L("SimpleRNN", units=2), [SEQUENCE]),
    "RNN": (L("RNN", cell=L("SimpleRNNCell", units=2)), [SEQUENCE]),
    "Bidirectional": (L("Bidirectional", layer=L("LSTM", units=2)), [SEQUENCE]),
    "TimeDistributed": (L("TimeDistributed", layer=L("Dense", units=2)), [SEQUENCE]),
    "ConvLSTM1D": (L("ConvLSTM1D", filters=2, kernel_size=2), [(None, 3, 5, 2)]),
    "ConvLSTM2D": (L("ConvLSTM2D", filters=2, kernel_size=2), [(None, 3, 5, 5, 2)]),
    "ConvLSTM3D": (L("ConvLSTM3D", filters=2, kernel_size=2), [(None, 3, 4, 4, 4, 2)]),
    # attention
    "EinsumDense": (L("EinsumDense", equation="ab,bc->ac", output_shape=3), [VECTOR]),
    # activations and normalizations
    "ELU": (L("ELU"), [VECTOR]),
    "LeakyReLU": (L("LeakyReLU"), [VECTOR]),
    "PReLU": (L("PReLU"), [VECTOR]),
    "ReLU": (L("ReLU"), [VECTOR]),
    "Softmax": (L("Softmax"), [VECTOR]),
    "GroupNormalization": (L("GroupNormalization", groups=2), [VECTOR]),
    "RMSNormalization": (L("RMSNormalization"), [VECTOR]),
    "UnitNormalization": (L("UnitNormalization"), [VECTOR]),
    # regularization
    "ActivityRegularization": (L("ActivityRegularization", l1=0.01), [VECTOR]),
    "AlphaDropout": (L("AlphaDropout", rate=0.2), [VECTOR]),
    "Masking": (L("Masking"), [SEQUENCE]),
    "SpatialDropout2D": (L("SpatialDropout2D", rate=0.5), [IMAGE]),
    "SpatialDropout3D": (L("SpatialDropout3D", rate=0.5), [VOLUME]),
    # preprocessing
    "Discretization": (L("Discretization", bin_boundaries=[0.0, 1.0]), [VECTOR]),
    "Hashing": (L("Hashing", num_bins=4), [VECTOR]),
    "IntegerLookup": (L("IntegerLookup", vocabulary=[3, 4, 5]), [VECTOR]),
    "StringLookup": (L("StringLookup", vocabulary=AB), [VECTOR]),
    "TextVectorization": (L("TextVectorization", vocabulary=AB, output_sequence_length=3), [(None, 1)]),
    # image preprocessing
    "CenterCrop": (L("CenterCrop", height=4, width=5), [IMAGE]),
    "RandomBrightness": (L("RandomBrightness", factor=0.2), [IMAGE]),
    "RandomContrast": (L("RandomContrast", factor=0.2), [IMAGE]),
    "RandomCrop": (L("RandomCrop", height=4, width=5), [IMAGE]),
    "RandomFlip": (L("RandomFlip"), [IMAGE]),
    "RandomRotation": (L("RandomRotation", factor=0.2), [IMAGE]),
    "RandomTranslation": (L("RandomTranslation", height_factor=0.2, width_factor=0.1), [IMAGE]),
    "RandomZoom": (L("RandomZoom", height_factor=0.2), [IMAGE]),
    "Resizing": (L("Resizing", height=4, width=5), [IMAGE]),
    # augmentation
    "AugMix": (L("AugMix"), [IMAGE]),
    "AutoContrast": (L("AutoContrast"), [IMAGE]),
    "ContrastLimitedAdaptiveHistogramEqualization": (
        L("ContrastLimitedAdaptiveHistogramEqualization"),
        [IMAGE],
    ),
    "CutMix": (L("CutMix", factor=[0.2, 0.5]), [(None, 4, 4, 2)]),
    "Equalization": (L("Equalization", bins=16), [IMAGE]),
    "MixUp": (L("MixUp", alpha=0.5), [(None, 4, 4, 2)]),
    "RandAugment": (L("RandAugment", num_ops=1, factor=[0.1, 0.4]), [IMAGE]),
    "RandomColorDegeneration": (L("RandomColorDegeneration", factor=0.3), [IMAGE]),
    "RandomColorJitter": (L("RandomColorJitter", brightness_factor=0.2, contrast_factor=0.3), [IMAGE]),
    "RandomElasticTransform": (L("RandomElasticTransform"), [IMAGE]),
    "RandomErasing": (L("RandomErasing", scale=[0.1, 0.2], fill_value=0.0), [IMAGE]),
    "RandomGaussianBlur": (L("RandomGaussianBlur"), [IMAGE]),
    "RandomGrayscale": (L("RandomGrayscale"), [IMAGE]),
    "RandomHue": (L("RandomHue", factor=0.2), [IMAGE]),
    "RandomInvert": (L("RandomInvert"), [IMAGE]),
    "RandomPerspective": (L("RandomPerspective"), [IMAGE]),
    # A float factor: mspec's parameters hold the factor as a float, and the generated code passes it on.
    "RandomPosterization": (L("RandomPosterization", factor=4), [IMAGE]),
    "RandomSaturation": (L("RandomSaturation", factor=0.3), [IMAGE]),
    "RandomSharpness": (L("RandomSharpness", factor=0.3), [IMAGE]),
    "RandomShear": (L("RandomShear", x_factor=0.2), [IMAGE]),
    "Solarization": (L("Solarization", addition_factor=0.2), [IMAGE]),
    # audio
    "MelSpectrogram": (
        L("MelSpectrogram", fft_length=64, sequence_stride=16, num_mel_bins=10),
        [(None, 400)],
    ),
    "STFTSpectrogram": (L("STFTSpectrogram", frame_length=32), [(None, 400, 1)]),
    # others
    "ReversibleEmbedding": (L("ReversibleEmbedding", input_dim=10, output_dim=4), [VECTOR]),
    "SpectralNormalization": (L("SpectralNormalization", layer=L("Dense", units=3)), [VECTOR]),
}

# The dtypes the survey feeds every kind: all those a spec's input may declare (mspec.vocabulary.DTYPES).
SURVEY_DTYPES = (
    "float32", "float16", "bfloat16", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
    "uint32", "uint64", "bool", "string",
)  # fmt: skip
# Mixed pairs a merge is also fed (its first input, its other inputs).
MERGE_PAIRS = (
    ("float32", "int32"),
    ("int32", "float32"),
    ("int32", "int32"),
    ("int32", "int64"),
    ("bool", "bool"),
    ("float32", "bool"),
    ("float16", "float64"),
    ("string", "string"),
)

# Further steps of kinds whose dtypes depend on their parameters: every activation (glu aside, which
# mspec refuses as a layer: it halves the last axis Keras declares unhalved), and every output mode
# of the lookup, hashing and encoding layers.
ACTIVATION_NAMES = (
    "celu", "elu", "exponential", "gelu", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish",
    "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish", "relu", "relu6", "selu",
    "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus", "sparse_sigmoid",
    "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
)  # fmt: skip
VARIANTS: dict[str, list[tuple[dict, list[tuple]]]] = {
    "Activation": [(L("Activation", activation=name), [VECTOR]) for name in ACTIVATION_NAMES],
    "CategoryEncoding": [
        (L("CategoryEncoding", num_tokens=5, output_mode="count"), [VECTOR]),
        (L("CategoryEncoding", num_tokens=5, output_mode="one_hot"), [(None, 1)]),
    ],
    "StringLookup": [
        (L("StringLookup", vocabulary=AB, output_mode=mode), [(None, 1)])
        for mode in ("one_hot", "multi_hot", "count")
    ]
    + [
        (L("StringLookup", vocabulary=AB, output_mode="tf_idf", idf_weights=[0.5, 1.0]), [(None, 1)]),
        (L("StringLookup", vocabulary=AB, invert=True), [VECTOR]),
    ],
    "IntegerLookup": [
        (L("IntegerLookup", vocabulary=[3, 4, 5], output_mode=mode), [(None, 1)])
        for mode in ("one_hot", "multi_hot", "count")
    ]
    + [(L("IntegerLookup", vocabulary=[3, 4, 5], invert=True), [VECTOR])],
    "Hashing": [
        (L("Hashing", num_bins=4, output_mode="one_hot"), [(None, 1)]),
        (L("Hashing", num_bins=4, output_mode="multi_hot"), [VECTOR]),
    ],
    "HashedCrossing": [(L("HashedCrossing", num_bins=5, output_mode="one_hot"), [(None, 1), (None, 1)])],
    "Discretization": [
        (L("Discretization", bin_boundaries=[0.0, 1.0], output_mode=mode), [VECTOR])
        for mode in ("multi_hot", "count")
    ]
    + [(L("Discretization", bin_boundaries=[0.0, 1.0], output_mode="one_hot"), [(None, 1)])],
    # Wrappers compute as the layer they wrap (SpectralNormalization then casts back to its input's dtype).
    "TimeDistributed": [
        (L("TimeDistributed", layer=L("Activation", activation="sigmoid")), [SEQUENCE]),
        (L("TimeDistributed", layer=L("Conv1D", filters=2, kernel_size=2)), [(None, 3, 5, 2)]),
    ],
    "Bidirectional": [(L("Bidirectional", layer=L("GRU", units=2)), [SEQUENCE])],
    "SpectralNormalization": [
        (L("SpectralNormalization", layer=L("Conv1D", filters=2, kernel_size=3)), [SEQUENCE]),
        (L("SpectralNormalization", layer=L("Embedding", input_dim=10, output_dim=3)), [VECTOR]),
    ],
    "TextVectorization": [
        (L("TextVectorization", vocabulary=AB, output_mode=mode), [(None,)])
        for mode in ("multi_hot", "count")
    ]
    + [(L("TextVectorization", vocabulary=AB, output_mode="tf_idf", idf_weights=[1.0, 2.0]), [(None,)])],
}


def steps_of(kind: str) -> list[tuple[dict, list[tuple]]]:
    """Every step a kind is surveyed and tested with: its base step, then its variants."""
    return [STEPS[kind], *VARIANTS.get(kind, [])]

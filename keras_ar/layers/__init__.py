"""keras_ar.layers: masked and causal building blocks."""

from keras_ar.layers import degrees
from keras_ar.layers.gated_block import GatedBlock
from keras_ar.layers.masked_conv2d import MaskedConv2D
from keras_ar.layers.masked_dense import MaskedDense

__all__ = ["GatedBlock", "MaskedConv2D", "MaskedDense", "degrees"]

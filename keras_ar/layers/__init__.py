"""keras_ar.layers: masked and causal building blocks."""

from keras_ar.layers import degrees
from keras_ar.layers.causal_dilated_conv1d import CausalDilatedConv1D
from keras_ar.layers.diagonal_bilstm import DiagonalBiLSTM
from keras_ar.layers.gated_block import GatedBlock
from keras_ar.layers.gated_resnet import GatedResnet
from keras_ar.layers.masked_conv2d import MaskedConv2D
from keras_ar.layers.masked_dense import MaskedDense
from keras_ar.layers.row_lstm import RowLSTM
from keras_ar.layers.shifted_conv2d import ShiftedConv2D
from keras_ar.layers.shifted_conv2d_transpose import ShiftedConv2DTranspose

__all__ = [
    "CausalDilatedConv1D", "DiagonalBiLSTM", "GatedBlock", "GatedResnet", "MaskedConv2D", "MaskedDense", "RowLSTM",
    "ShiftedConv2D", "ShiftedConv2DTranspose", "degrees",
]

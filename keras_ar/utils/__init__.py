"""Helpers shared by keras_ar layers, models and heads; public: `image_grid`, `save_png`."""

from keras_ar.utils.images import image_grid, save_png

__all__ = ["image_grid", "save_png"]

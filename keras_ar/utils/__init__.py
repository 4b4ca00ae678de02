"""Internal helpers shared by keras_ar layers, models and heads."""

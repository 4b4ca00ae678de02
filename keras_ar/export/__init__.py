"""keras_ar.export."""

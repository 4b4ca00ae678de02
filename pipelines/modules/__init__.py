"""Trainer modules: files with a `run_fn(fn_args)`, as a TFX Trainer loads them."""

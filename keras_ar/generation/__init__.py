"""keras_ar.generation: the generation engine, apart from the models (it takes a model; it imports none).

- `sample(model, num_samples, ...)` and `generate(model, num_steps, ...)`: what `model.sample`
  and `model.generate` call; `samplers`: how each value is drawn (temperature, greedy, top-k,
  top-p).
- `sample_tensors` / `generate_tensors`: the compiled loop, tensor-only (what export traces).
- `Stepper`: the public step API, a compiled `init_cache` / `step` / `fill_cache` / `draw` for
  a model, batch size and condition (compression, streaming and the CLI use it).
- `compile`: the per-model compile cache (`trace_count` says how often a function was traced).
"""

from keras_ar.generation import samplers
from keras_ar.generation.engine import generate_tensors
from keras_ar.generation.engine import sample_tensors
from keras_ar.generation.sampling import generate
from keras_ar.generation.sampling import sample
from keras_ar.generation.stepper import Stepper

__all__ = ["Stepper", "compile", "generate", "generate_tensors", "sample", "sample_tensors", "samplers"]

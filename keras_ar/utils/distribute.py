"""Distinct random draws per replica under a `tf.distribute` strategy.

Keras' `SeedGenerator` keeps its state in a variable. Created under
`tf.distribute.MirroredStrategy` (or `MultiWorkerMirroredStrategy`, `TPUStrategy`), that variable
is mirrored: every replica holds the same state and advances it the same way, so every replica
draws the same dropout mask (and the same MADE mask, the same NADE order) for its part of the
batch. One device draws one mask per example; N replicas would repeat each mask N times.

`per_replica_seeds(model)`, called by `AutoregressiveModel.call`, fixes that on TensorFlow: when
the model runs inside a replica context with more than one replica, each of its seed generators
hands out `seed + [replica_id * _REPLICA_STRIDE, 0]` instead of `seed`. The state still advances
identically on every replica (the mirrored variables stay equal), replica 0 draws what one device
draws, and replica r > 0 draws from another stream. Outside a multi-replica context (one device,
`strategy.scope()` without `strategy.run`, JAX, PyTorch) nothing changes. On JAX,
`keras.distribution.DataParallel` draws one mask for the global batch, which is already distinct
per example, so there is nothing to do there.

This is the one TensorFlow-specific module beside `compile.py`; the models call it without
importing a backend.
"""

import types

import keras

# an odd constant far from small seeds: replica r's stream starts r * stride away from replica 0's
# (Keras reduces TF seeds modulo 2**31 - 2; the offsets stay distinct there for any replica count)
_REPLICA_STRIDE = 0x9E3779B1


def per_replica_seeds(model):
    """Make `model`'s seed generators draw per-replica seeds in a multi-replica context (TensorFlow).

    Idempotent and cheap outside a strategy: returns at once unless the backend is TensorFlow and
    the call runs on one of several replicas. Returns the number of generators it adapted now.
    """
    if keras.backend.backend() != "tensorflow":
        return 0
    if not _num_replicas():
        return 0
    count = 0
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for generator in getattr(layer, "_seed_generators", ()):
            if getattr(generator, "_keras_ar_per_replica", False) or not hasattr(generator, "state"):
                continue
            generator.next = types.MethodType(_replica_next, generator)
            generator._keras_ar_per_replica = True
            count += 1
    return count


def _num_replicas():
    """The number of replicas when running inside a multi-replica context, else 0."""
    import tensorflow as tf

    if not tf.distribute.has_strategy() or tf.distribute.in_cross_replica_context():
        return 0
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync < 2:
        return 0
    return context.num_replicas_in_sync


def _replica_next(self, ordered=True):
    """`SeedGenerator.next`, with the replica's id folded into the seed in a multi-replica context."""
    seed = type(self).next(self, ordered=ordered)
    if not _num_replicas():
        return seed
    import tensorflow as tf

    replica = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group, seed.dtype)
    offset = tf.stack([replica * tf.constant(_REPLICA_STRIDE, seed.dtype), tf.zeros((), seed.dtype)])
    return seed + offset

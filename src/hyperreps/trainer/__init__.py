"""The vectorised population trainer: M models of one architecture trained as one computation.

All M models of a shard run in one forward/backward (:mod:`.forward`, which interprets any
architecture of :mod:`hyperreps.architecture`): the convolutions are grouped convolutions
(``groups=M``), the linear layers batched matrix products over ``[M, B, .]``. Each model keeps
its own seed, initialisation, data order, learning rate, weight decay and dropout rate; models
are independent (the loss is the sum of per-model losses, and both Adam and SGD act
elementwise), so the result equals training each model alone: ``tests/test_trainer.py`` checks
it against :mod:`.one_at_a_time`, a plain ``torch.optim`` loop.

Modules (callers import from them; this package exports nothing itself):

- :mod:`.forward`: the population forward pass and the per-model loss;
- :mod:`.evaluate`: loss and accuracy per model, class probabilities, chunk sizes;
- :mod:`.optim`: :class:`~.optim.PopulationOptimizer`, Adam or SGD with per-model lr and decay;
- :mod:`.specs`: what a run is given and gives back: :class:`~.specs.ModelSpec`,
  :class:`~.specs.TrainSettings`, :class:`~.specs.TrainResult`;
- :mod:`.loop`: :func:`~.loop.train_population`, the project's only training loop (zoo shards
  and the fine-tuning of sampled populations);
- :mod:`.state`: the run's mutable state and its checkpoints, for resuming;
- :mod:`.one_at_a_time`: the one-model-at-a-time yardstick of the tests and the benchmark.

The trainer stands on the ground floor only (architecture, data, layout, metrics, files): it
knows nothing of the config; a zoo's shard job (:mod:`hyperreps.zoos.shards`) turns the rows
that Snakemake planned into :class:`~.specs.ModelSpec` s.
"""

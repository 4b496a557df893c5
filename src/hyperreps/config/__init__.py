"""Configuration of a run, one concern per module (import from the submodule):

- :mod:`~hyperreps.config.schema`: the JSON schema (``config.schema.yaml``, beside this
  package), validation against it with its defaults filled in, and :class:`ConfigError`;
- :mod:`~hyperreps.config.plan`: a zoo's models (hyperparameter grid x seeds) and their shards;
- :mod:`~hyperreps.config.queries`: what the workflow asks of a validated config (a zoo's
  autoencoder settings and architecture, the fine-tuning pairs, epochs and comparisons);
- :mod:`~hyperreps.config.files`: config files read strictly (a key given twice is an error)
  and the run's name;
- :mod:`~hyperreps.config.limits`: what a config may ask of the planner and of a machine
  (models and shard jobs counted, seeds, splits, job sizes);
- :mod:`~hyperreps.config.checks`: :func:`validate_config` and :func:`load_config` (the schema,
  then the checks across keys and the limits);
- :mod:`~hyperreps.config.inputs`: :func:`check_inputs` (inputs missing on disk, each import
  folder checked as its format requires).

Lower modules come first: ``plan`` imports nothing of the package, ``schema`` only the
registry of zoo formats (for ``import_from.format``), ``queries``
imports ``plan``, ``files`` imports ``schema``, ``limits`` imports ``plan``, ``queries`` and
``schema``, ``checks`` all of them, ``inputs`` ``queries``. Below the package: the ground floor
and :mod:`hyperreps.importers` (its registry of zoo formats, whose names the schema's
``import_from.format`` lists); nothing above it (no stage, trainer or figure).
"""

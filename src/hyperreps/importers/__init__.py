"""Zoos from elsewhere, one module per format behind one interface (:mod:`.source`), listed in
one registry (:mod:`.registry`); every file is untrusted.

- :mod:`.registry`: :data:`~.registry.FORMATS`, :func:`~.registry.resolve_import` (a zoo's
  ``import_from`` with every default), :func:`~.registry.detect_format`,
  :func:`~.registry.import_zoo`;
- :mod:`.source`: :class:`~.source.ZooFormat` (detect, check before any job, load, summary for
  ``hyperreps inspect``) and :class:`~.source.ImportSource`;
- the formats: :mod:`.raytune` (the reference implementation's zoos), :mod:`.small_cnn_zoo`
  (Unterthiner et al.'s archive; its files checked in :mod:`.small_cnn_zoo_files`, written by
  :mod:`.small_cnn_zoo_archive`), :mod:`.checkpoint_folder` (one PyTorch file per model and
  epoch);
- what they share: :mod:`.errors` (:class:`~.errors.ZooImportError`, the one error),
  :mod:`.state_dicts` (the one loader of an untrusted state dict), :mod:`.measured` (marking a
  diverged model, measuring checkpoints on data), :mod:`.summary` (what inspect prints).
"""

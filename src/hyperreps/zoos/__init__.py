"""Stage 1, the zoos (``rules/zoos.smk``): populations of small CNNs trained, described and
written out. Modules (import from them):

- :mod:`.shards`: one shard of a zoo trained as one population, from the rows Snakemake planned;
- :mod:`.diagnostics`: the zoo's structure (PCA ceiling, init-deviation correlation) and its
  properties (2021 App. Fig. 3);
- :mod:`.permutation_equivalence`: permuted models compute the same function (2021 App. A);
- :mod:`.export`: a zoo's models as plain PyTorch state dicts (safetensors), with measured
  test metrics where a population has none.

Imports from elsewhere (Ray Tune, Small CNN Zoo, checkpoint folders) are
:mod:`hyperreps.importers`; the zoo format itself is :mod:`hyperreps.zoo`. A stage never imports
another stage: they talk through files.
"""

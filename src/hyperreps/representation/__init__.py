"""Stage 2, the hyper-representations (``rules/representation.smk``): what the autoencoder
(:mod:`hyperreps.autoencoder`) learns about a zoo. Modules (import from them):

- :mod:`.embeddings`: every checkpoint's embedding, and the features probes read;
- :mod:`.reconstruction`: decoded weights against the originals (R², accuracy), per layer and
  across zoos (2022 Table 9);
- :mod:`.probes`: linear probes of model properties from embeddings and baselines (2021
  Table 6, App. D.3);
- :mod:`.robustness`: noise on embeddings and interpolation smoothness (2022 Fig. 3);
- :mod:`.compression_ablation`: the compression-ratio ablation (2021 Table 5).
"""

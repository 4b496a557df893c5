"""The pipeline's figures, one module per stage; import from the stage modules.

- :mod:`hyperreps.figures.zoo`: zoo accuracy, zoo diagnostics, permutation equivalence, zoo
  properties.
- :mod:`hyperreps.figures.autoencoder`: layer reconstruction, embedding geometry, robustness
  and smoothness, probe transfer.
- :mod:`hyperreps.figures.generative`: sampler comparison, accuracy over epochs, ensembles, GAN
  losses, reconstructed fine-tuning, unseen architectures.
- :mod:`hyperreps.figures.style`: what they share (saving, bins, colours, chance lines).
"""

"""The pipeline's figures, one module per stage (import from the modules):

- :mod:`hyperreps.figures.zoos`: zoo accuracy, zoo diagnostics, permutation equivalence, zoo
  properties;
- :mod:`hyperreps.figures.reconstruction`: layer reconstruction (2022 Figs. 2/9/10),
  robustness and smoothness of decoded models (2022 Fig. 3);
- :mod:`hyperreps.figures.representation`: embedding geometry (2022 Figs. 11-13), probe
  transfer (2021 App. Figs. 7-10);
- :mod:`hyperreps.figures.generative`: sampler comparison, accuracy over epochs, ensembles, GAN
  losses, reconstructed fine-tuning, unseen architectures;
- :mod:`hyperreps.figures.novelty_frontier`: populations against the noise curve (2025 audit
  Fig. 6a);
- :mod:`hyperreps.figures.style`: what they share (saving, bins, colours, chance lines).
"""

"""Latent samplers, the engine the generative stage draws from (import from the modules):

- :mod:`.samplers`: the papers' samplers (uniform, Gaussian, KDE, neighbourhood; 2022 §3.2)
  and :func:`~.samplers.draw_latents`, which dispatches to every sampler by name;
- :mod:`.latent_priors`: joint priors on the anchors' latents (Gaussian, GMM, flow, near-anchor
  draws, latent mixes of distant anchors);
- :mod:`.weight_mixing`: generators in weight space that mix aligned independent solutions
  (a PCA-Gaussian, k-parent mixes with REPAIR);
- :mod:`.latent_gan`: the latent GAN;
- :mod:`.latent_space`: what they share (anchor and argument checks, top-fraction masks).
"""

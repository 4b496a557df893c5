"""Stages 4-8, hyper-representations as generative models (``rules/generative.smk``).
Modules (import from them):

- :mod:`.populations`: the population vocabulary (sampled, baselines, novelty baselines) and
  the populations decoded from latent samples (:mod:`hyperreps.sampling`);
- :mod:`.finetune`: fine-tuning and transfer of populations, ensembles, reconstructed
  fine-tuning (2022 Tables 1-2, Fig. 6);
- :mod:`.tables`: the papers' tables and statistics of the generative stage (2022 Tables 1-2,
  10-13);
- :mod:`.unseen_zoos`, :mod:`.unseen_architectures`: 2022 Tables 3 and 4;
- :mod:`.novelty_measures`: behavioural novelty (error masks, max error-IoU, chance IoU; the
  2025 memorisation audit), :mod:`.novelty_curves`: noise curves and comparison at equal
  novelty, :mod:`.novelty_frontier`: the experiment that places every population on them.
"""

"""The hyper-representation autoencoder (2022 §2, App. B; 2021 §3), one concept per module.

- :mod:`.model`: its shape (:class:`~.model.AutoencoderShape`) and the network, a transformer
  over neuron tokens with a bounded bottleneck and a projection head;
- :mod:`.loss`: NT-Xent, layer-wise loss normalisation (LWLN), the reconstruction loss and the
  reconstruction R²;
- :mod:`.train`: training settings, training on a zoo's checkpoints, encoding and decoding;
- :mod:`.io`: saving and loading a trained autoencoder (pickle-free).

The checkpoints it trains on come from :func:`hyperreps.splits.checkpoint_sets`.
"""

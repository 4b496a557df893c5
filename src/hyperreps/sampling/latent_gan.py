"""S_GAN: the latent GAN of "Hyper-Representations as Generative Models" (2022 App. E.2),
trained on anchor embeddings and sampled in the tanh box."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.functional import binary_cross_entropy_with_logits
from torch.nn.utils.parametrizations import spectral_norm

from ..device import resolve_device
from .latent_space import check_anchors, check_n, check_positive, positive_ints

def _mlp(sizes: list[int], wrap: Callable[[nn.Linear], nn.Module]) -> list[nn.Module]:
    """Fully-connected layers of ``sizes`` interleaved with ReLU (none after the last)."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(wrap(nn.Linear(fan_in, fan_out)))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return layers


def train_latent_gan(anchors: np.ndarray, seed: int, *, noise_dim: int = 16,
                     generator_hidden=(128, 256, 512), discriminator_hidden=(1024, 512, 256),
                     epochs: int = 1000, batch_size: int = 32, lr_generator: float = 1e-4,
                     lr_discriminator: float = 2e-4, device: str = "auto"
                     ) -> tuple[nn.Module, "pd.DataFrame", torch.Generator]:
    """Train the latent GAN of 2022 App. E.2 on the anchor embeddings.

    App. E.2: "four fully-connected layers interleaved with ReLU nonlinearities"; generator
    input Gaussian noise of dimension 16, hidden 128, 256, 512, output the embedding length D;
    discriminator D -> 1024 -> 512 -> 256 -> 1, "regularized with Spectral Norm"; "trained for
    1000 epochs and batch size 32 using Adam with a two time-scale update rule: learning rate
    is 1e-4 for the generator and 2e-4 for the discriminator". Not said there, chosen here: a
    tanh on the generator's output (the encoder's codes lie in the tanh box ``[-1, 1]^D``),
    Adam's default betas, the non-saturating loss (BCE with logits), one discriminator then
    one generator step per batch. An epoch is one pass over the shuffled anchors in batches of
    ``batch_size`` (the last batch may be smaller).

    Parameters are initialised on the CPU from ``seed`` (the global RNG state is left as it
    was) and all noise comes from one ``torch.Generator`` seeded with ``seed``, so CPU runs are
    deterministic. Returns the generator (eval mode), the losses per epoch (a DataFrame:
    ``epoch``, ``d_loss``, ``g_loss``, ``d_real``, ``d_fake``: mean discriminator loss,
    generator loss and the mean probabilities D gives real and generated codes) and the noise
    generator, to be used for sampling after training."""
    a = check_anchors(anchors)
    noise_dim = positive_ints("noise_dim", noise_dim)[0]
    g_hidden = positive_ints("generator_hidden", generator_hidden)
    d_hidden = positive_ints("discriminator_hidden", discriminator_hidden)
    epochs = positive_ints("epochs", epochs)[0]
    batch_size = positive_ints("batch_size", batch_size)[0]
    lr_g = check_positive("lr_generator", lr_generator)
    lr_d = check_positive("lr_discriminator", lr_discriminator)
    dev = resolve_device(device)
    d = a.shape[1]
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(seed)
        gen = nn.Sequential(*_mlp([noise_dim, *g_hidden, d], lambda m: m), nn.Tanh())
        disc = nn.Sequential(*_mlp([d, *d_hidden, 1], spectral_norm))
    gen, disc = gen.to(dev), disc.to(dev)
    noise = torch.Generator(device=dev).manual_seed(seed)
    real_all = torch.as_tensor(a, dtype=torch.float32, device=dev)
    opt_g = torch.optim.Adam(gen.parameters(), lr=lr_g)
    opt_d = torch.optim.Adam(disc.parameters(), lr=lr_d)
    n_batches = -(-len(a) // batch_size)
    sums = torch.zeros(epochs, 4, device=dev)
    for epoch in range(epochs):
        order = torch.randperm(len(a), generator=noise, device=dev)
        for b in range(n_batches):
            real = real_all[order[b * batch_size:(b + 1) * batch_size]]
            m = len(real)
            fake = gen(torch.randn(m, noise_dim, generator=noise, device=dev))
            # real and generated codes in one discriminator pass (one spectral-norm update)
            real_logit, fake_logit = disc(torch.cat([real, fake.detach()])).split([m, m])
            d_loss = (binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
                      + binary_cross_entropy_with_logits(fake_logit,
                                                         torch.zeros_like(fake_logit)))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            disc.requires_grad_(False)  # the generator step needs no discriminator gradients
            g_logit = disc(fake)
            g_loss = binary_cross_entropy_with_logits(g_logit, torch.ones_like(g_logit))
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            disc.requires_grad_(True)
            sums[epoch] += torch.stack([d_loss.detach(), g_loss.detach(),
                                        torch.sigmoid(real_logit.detach()).mean(),
                                        torch.sigmoid(fake_logit.detach()).mean()])
    per_epoch = (sums / n_batches).cpu().numpy()
    history = pd.DataFrame(per_epoch, columns=["d_loss", "g_loss", "d_real", "d_fake"])
    history.insert(0, "epoch", np.arange(1, epochs + 1))
    return gen.eval(), history, noise


def gan_samples(anchors: np.ndarray, n: int, seed: int, **settings
                ) -> tuple[np.ndarray, "pd.DataFrame"]:
    """Train :func:`train_latent_gan` on the anchors (``settings``: its keywords), then draw
    ``n`` generator outputs. Returns the samples and the per-epoch losses."""
    n = check_n(n)
    gen, history, noise = train_latent_gan(anchors, seed, **settings)
    dev = next(gen.parameters()).device
    noise_dim = gen[0].in_features
    with torch.no_grad():
        z = gen(torch.randn(n, noise_dim, generator=noise, device=dev))
    return z.cpu().numpy().astype(np.float32), history


def sample_gan(anchors: np.ndarray, n: int, seed: int, *, noise_dim: int = 16,
               generator_hidden=(128, 256, 512), discriminator_hidden=(1024, 512, 256),
               epochs: int = 1000, batch_size: int = 32, lr_generator: float = 1e-4,
               lr_discriminator: float = 2e-4, device: str = "auto") -> np.ndarray:
    """S_GAN: :func:`gan_samples` without the loss history (outputs in ``(-1, 1)``)."""
    return gan_samples(anchors, n, seed, noise_dim=noise_dim,
                       generator_hidden=generator_hidden,
                       discriminator_hidden=discriminator_hidden, epochs=epochs,
                       batch_size=batch_size, lr_generator=lr_generator,
                       lr_discriminator=lr_discriminator, device=device)[0]

"""The transformer autoencoder, its losses, LWLN and training."""

import math

import pytest
import torch

from hyperreps.architecture import zoo_cnn_layout
from hyperreps.augment import AugmentSettings
from hyperreps.autoencoder.io import AutoencoderFileError, load_autoencoder, save_autoencoder
from hyperreps.autoencoder.loss import (layer_sigma, nt_xent, parameter_scale, r2_scores,
                                        reconstruction_loss)
from hyperreps.autoencoder.model import AutoencoderShape, HyperAutoencoder
from hyperreps.autoencoder.train import (AutoencoderTraining, decode_latents, encode_weights,
                                         train_autoencoder)

LAYOUT = zoo_cnn_layout(1)
TINY = AutoencoderShape(d_model=16, n_layers=1, n_heads=2, d_ff=32, latent_dim=8, dropout=0.0,
                        projection_layers=2, projection_width=16, projection_dim=4)


def _zoo_like(n, seed=0, scale=(0.3, 0.05, 0.01, 0.2, 0.5), rank=3):
    """Weights on a low-dimensional manifold whose layers have very different spreads,
    like a real zoo's; the directions are shared by every seed, the coordinates are not."""
    directions = torch.randn(rank, LAYOUT.n_params, generator=torch.Generator().manual_seed(99))
    g = torch.Generator().manual_seed(seed)
    w = torch.tanh(torch.randn(n, rank, generator=g)) @ directions
    w += 0.05 * torch.randn(n, LAYOUT.n_params, generator=g)
    for layer, s in zip(LAYOUT.layers, scale):
        w[:, LAYOUT.layer_slice(layer.name)] *= s
    return w + 0.1


def test_shapes_and_bounded_latent():
    model = HyperAutoencoder(LAYOUT, TINY)
    x = _zoo_like(5)
    z, y = model(x)
    assert z.shape == (5, 8) and y.shape == (5, LAYOUT.n_params)
    assert z.abs().max() < 1
    assert model.enc_pos.num_embeddings == 49  # 48 tokens + the compression token
    assert model.projection(z).shape == (5, 4)


def test_nt_xent_hand_checked():
    # two pairs; a0 == b0 and a1 == b1, and the two pairs are orthogonal
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    t = 0.1
    # anchor a0: positive b0 (cos 1), negatives a1, b1 (cos 0): -log(e^10 / (e^10 + 2))
    expected = -math.log(math.exp(1 / t) / (math.exp(1 / t) + 2))
    assert nt_xent(a, a.clone(), t).item() == pytest.approx(expected, rel=1e-3)
    # a single pair has no negatives: the loss is 0
    assert nt_xent(a[:1], a[:1], t).item() == pytest.approx(0.0, abs=1e-6)
    # swapping the views does not change it; misaligned pairs cost more
    b = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert nt_xent(a, b, t) > nt_xent(a, a, t) + 5


def test_lwln_sigma_uses_the_train_split_only():
    data = {"train": _zoo_like(40, 1), "val": _zoo_like(10, 2) * 100, "test": _zoo_like(10, 3) * 7}
    sigma = layer_sigma(data["train"], LAYOUT)
    for layer, s in zip(LAYOUT.layers, sigma):
        assert s.item() == pytest.approx(data["train"][:, LAYOUT.layer_slice(layer.name)]
                                         .double().std().item(), rel=1e-5)
    settings = AutoencoderTraining(epochs=1, batch_size=20, lwln=True, mixed_precision=False)
    trained = train_autoencoder(data, LAYOUT, TINY, settings)
    assert torch.allclose(trained.sigma, sigma)
    other = dict(data, val=data["val"] / 50, test=data["test"] * 3)
    assert torch.allclose(train_autoencoder(other, LAYOUT, TINY, settings).sigma, sigma)
    baseline = train_autoencoder(data, LAYOUT, TINY, AutoencoderTraining(epochs=1, batch_size=20,
                                                                         lwln=False))
    assert torch.equal(baseline.sigma, torch.ones(5))


def test_lwln_loss_reweights_layers_by_inverse_variance():
    sigma = torch.tensor([1.0, 2.0, 4.0, 1.0, 0.5])
    scale = parameter_scale(LAYOUT, sigma)
    pred, target = torch.zeros(1, LAYOUT.n_params), torch.zeros(1, LAYOUT.n_params)
    sl = LAYOUT.layer_slice("conv3")
    pred[:, sl] = 1.0
    n = sl.stop - sl.start
    assert reconstruction_loss(pred, target, scale).item() == pytest.approx(n / 16 / 2464)
    assert reconstruction_loss(pred, target, torch.ones(2464)).item() == pytest.approx(n / 2464)


def test_r2_is_one_for_perfect_and_zero_for_the_mean():
    w = _zoo_like(20)
    mean = w.mean(0)
    assert r2_scores(w, w, mean, LAYOUT)["overall"] == pytest.approx(1.0)
    r2 = r2_scores(mean.expand_as(w), w, mean, LAYOUT)
    assert all(v == pytest.approx(0.0, abs=1e-9) for v in r2.values())
    assert set(r2) == {"overall", "conv1", "conv2", "conv3", "fc1", "fc2"}


def test_r2_in_raw_and_in_lwln_normalised_space():
    """The reference reports 1 - loss/loss_mean with the LWLN loss: errors on w / sigma_l."""
    w = _zoo_like(20)
    mean = w.mean(0)
    pred = w + 0.1 * torch.randn_like(w)
    sigma = layer_sigma(w, LAYOUT)
    raw = r2_scores(pred, w, mean, LAYOUT)
    lwln = r2_scores(pred, w, mean, LAYOUT, sigma)
    scale = parameter_scale(LAYOUT, sigma).double()
    err = (((pred - w).double() * scale) ** 2).mean()
    base = (((mean - w).double() * scale) ** 2).mean()
    assert lwln["overall"] == pytest.approx(float(1 - err / base))
    assert lwln["overall"] != pytest.approx(raw["overall"], abs=1e-3)
    for layer in ("conv1", "fc2"):  # within a layer the scale cancels
        assert lwln[layer] == pytest.approx(raw[layer])


def test_training_learns_and_keeps_the_best_validation_epoch(tmp_path):
    data = {"train": _zoo_like(64, 1), "val": _zoo_like(16, 2), "test": _zoo_like(16, 3)}
    arch = AutoencoderShape(d_model=32, n_layers=1, n_heads=2, d_ff=64, latent_dim=16, dropout=0.0,
                            projection_layers=2, projection_width=32, projection_dim=8)
    # permutations off: the synthetic zoo is low-rank in one fixed unit order
    settings = AutoencoderTraining(epochs=30, batch_size=16, lr=3e-3, beta=0.9, lwln=True,
                                   augment=AugmentSettings(permute=False, erase_p=0.5))
    trained = train_autoencoder(data, LAYOUT, arch, settings)
    h = trained.history
    assert h["recon_loss"].iloc[-5:].mean() < h["recon_loss"].iloc[:2].mean()
    best = h.loc[h["val_recon_loss"].idxmin(), "epoch"]
    assert trained.metrics["best_epoch"] == best
    assert trained.metrics["r2"]["train"]["overall"] > 0.3
    assert trained.metrics["r2"]["test"]["overall"] > 0.3
    assert trained.metrics["checkpoints_per_second"] > 0

    # saving and loading round-trips the model exactly, pickle-free
    save_autoencoder(tmp_path / "ae", trained, {"zoo": "synthetic"})
    model, info, extra = load_autoencoder(tmp_path / "ae")
    assert info["zoo"] == "synthetic" and info["metrics"]["best_epoch"] == best
    assert torch.equal(extra["sigma"], trained.sigma)
    z = encode_weights(model, data["test"])
    assert torch.allclose(z, encode_weights(trained.model, data["test"]))
    assert decode_latents(model, z).shape == data["test"].shape


def test_encode_marks_non_finite_rows_nan():
    model = HyperAutoencoder(LAYOUT, TINY)
    w = _zoo_like(4)
    w[2, 5] = float("nan")
    z = encode_weights(model, w)
    assert torch.isnan(z[2]).all() and torch.isfinite(z[[0, 1, 3]]).all()


def test_loading_a_mismatched_autoencoder_names_the_file(tmp_path):
    data = {"train": _zoo_like(8, 1), "val": _zoo_like(4, 2)}
    trained = train_autoencoder(data, LAYOUT, TINY, AutoencoderTraining(epochs=1, batch_size=8))
    save_autoencoder(tmp_path / "ae", trained, {})
    info = (tmp_path / "ae" / "autoencoder.json")
    info.write_text(info.read_text().replace('"latent_dim": 8', '"latent_dim": 9'))
    with pytest.raises(AutoencoderFileError, match="autoencoder.safetensors"):
        load_autoencoder(tmp_path / "ae")
    with pytest.raises(AutoencoderFileError, match="missing"):
        load_autoencoder(tmp_path / "nothing")


def test_flatten_compression_bottleneck():
    # flatten: all 48 token outputs -> one Linear to latent_dim; no CLS position
    arch = AutoencoderShape(**{**TINY.__dict__, "compression": "flatten", "latent_dim": 40})
    model = HyperAutoencoder(LAYOUT, arch)
    assert model.enc_pos.num_embeddings == 48 and not hasattr(model, "cls")
    assert model.to_latent.in_features == 48 * arch.d_model
    assert model.to_latent.out_features == 40
    z, y = model(_zoo_like(5))
    assert z.shape == (5, 40) and y.shape == (5, LAYOUT.n_params) and z.abs().max() < 1
    # the code width: flatten uses all of latent_dim; a CLS token caps it at d_model
    assert arch.code_width == 40
    assert AutoencoderShape(**{**TINY.__dict__, "latent_dim": 40}).code_width == TINY.d_model
    with pytest.raises(ValueError, match="compression"):
        AutoencoderShape(compression="average")


def test_flatten_compression_round_trips_through_storage(tmp_path):
    arch = AutoencoderShape(**{**TINY.__dict__, "compression": "flatten"})
    data = {"train": _zoo_like(20, 1), "val": _zoo_like(6, 2)}
    trained = train_autoencoder(data, LAYOUT, arch, AutoencoderTraining(
        epochs=2, batch_size=8, lr=1e-3, augment=AugmentSettings(permute=False, erase_p=0)))
    save_autoencoder(tmp_path / "ae", trained, {"variant": "lwln"})
    model, info, _ = load_autoencoder(tmp_path / "ae")
    assert model.arch.compression == "flatten" and info["metrics"]["code_width"] == 8
    x = data["val"]
    torch.testing.assert_close(model.encode(x), trained.model.eval().encode(x))


def test_reconstruction_target_option(monkeypatch):
    # 'input': the loss compares the decoder output with the corrupted input it was given;
    # 'clean': with the permuted view before erasing. Erasing every view (p = 1) with a
    # large block makes the two differ; the loss function sees which one is the target.
    import hyperreps.autoencoder.train as ae
    seen = []
    real = ae.reconstruction_loss

    def spy(pred, target, scale):
        seen.append(target.detach().clone())
        return real(pred, target, scale)

    monkeypatch.setattr(ae, "reconstruction_loss", spy)
    data = {"train": _zoo_like(8, 1) + 1.0}  # no weight is 0: erased entries are visible
    aug = AugmentSettings(permute=False, erase_p=1.0, erase_scale=(0.3, 0.3))
    for target, erased in (("input", True), ("clean", False)):
        seen.clear()
        train_autoencoder(data, LAYOUT, TINY, AutoencoderTraining(
            epochs=1, batch_size=8, eval_every=1, reconstruction_target=target, augment=aug))
        training_target = seen[0]  # the first call is the training step's loss
        zeros = (training_target == 0).float().mean().item()
        assert (zeros > 0.25) == erased, (target, zeros)
    with pytest.raises(ValueError, match="reconstruction_target"):
        AutoencoderTraining(reconstruction_target="noisy")


def test_select_last_keeps_the_last_epoch():
    data = {"train": _zoo_like(20, 1), "val": _zoo_like(6, 2)}
    s = dict(epochs=4, batch_size=8, lr=1e-3, eval_every=1,
             augment=AugmentSettings(permute=False, erase_p=0))
    last = train_autoencoder(data, LAYOUT, TINY, AutoencoderTraining(select="last", **s))
    assert last.metrics["best_epoch"] == 4 and last.metrics["select"] == "last"
    assert last.metrics["best_val_recon_loss"] == pytest.approx(
        last.history["val_recon_loss"].iloc[-1])
    best = train_autoencoder(data, LAYOUT, TINY, AutoencoderTraining(**s))
    assert best.metrics["best_val_recon_loss"] == pytest.approx(
        best.history["val_recon_loss"].min())
    with pytest.raises(ValueError, match="select"):
        AutoencoderTraining(select="best_train")


def test_standardize_works_on_deviations_and_survives_storage(tmp_path):
    data = {"train": _zoo_like(20, 1), "val": _zoo_like(6, 2)}
    s = AutoencoderTraining(epochs=2, batch_size=8, lr=1e-3, standardize=True,
                            augment=AugmentSettings(permute=False, erase_p=0))
    trained = train_autoencoder(data, LAYOUT, TINY, s)
    model = trained.model.eval()
    mean, sigma = data["train"].mean(0), layer_sigma(data["train"], LAYOUT)
    torch.testing.assert_close(model.in_mean, mean)
    torch.testing.assert_close(model.in_scale, parameter_scale(LAYOUT, sigma))
    # the encoder is blind to the zoo mean: shifting every input by it changes nothing
    x = data["val"]
    shifted = HyperAutoencoder(LAYOUT, TINY)
    shifted.load_state_dict(model.state_dict())
    shifted.in_mean.zero_()
    torch.testing.assert_close(model.encode(x), shifted.eval().encode(x - mean))
    save_autoencoder(tmp_path / "ae", trained, {"variant": "lwln"})
    loaded, _, _ = load_autoencoder(tmp_path / "ae")
    torch.testing.assert_close(loaded(x)[1], model(x)[1])
    # without standardize the buffers are the identity
    plain = HyperAutoencoder(LAYOUT, TINY)
    assert (plain.in_mean == 0).all() and (plain.in_scale == 1).all()


def test_embedding_is_the_same_bytes_whatever_the_threads_and_batches():
    """Issue 25: the same autoencoder and weights give byte-identical codes with 1 or 3
    threads and any batch size (the embed job's output must not depend on the cores a
    scheduler gave it)."""
    torch.manual_seed(0)
    model = HyperAutoencoder(LAYOUT, TINY)
    w = _zoo_like(300, 4)
    threads = torch.get_num_threads()
    try:
        runs = []
        for n, batch in ((1, 1024), (3, 1024), (3, 7), (1, 64)):
            torch.set_num_threads(n)
            runs.append(encode_weights(model, w, batch_size=batch).numpy().tobytes())
    finally:
        torch.set_num_threads(threads)
    assert len(set(runs)) == 1

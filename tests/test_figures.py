"""The autoencoder figures: per-layer reconstruction and embedding geometry, their input
checks, and atomic saving."""

import matplotlib.figure
import numpy as np
import pytest

import hyperreps.figures.reconstruction
import hyperreps.figures.representation as representation_figures
from hyperreps.architecture import zoo_cnn_layout
from hyperreps.figures.reconstruction import plot_layer_reconstruction
from hyperreps.figures.representation import plot_embedding_geometry
from hyperreps.metrics import r_squared

N = 20


def _reconstruction_case(seed=0):
    layout = zoo_cnn_layout(1)
    slices = {layer.name: layout.layer_slice(layer.name) for layer in layout.layers}
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.2, (N, layout.n_params))
    rec = {"baseline": w + rng.normal(0, 0.1, w.shape), "lwln": w + rng.normal(0, 0.02, w.shape)}
    acc = rng.uniform(0.6, 0.9, N)
    acc_rec = {k: np.clip(acc - rng.uniform(0, 0.1, N), 0, 1) for k in rec}
    train_mean = rng.normal(0, 0.05, layout.n_params)  # the training models' mean
    return w, rec, slices, acc, acc_rec, train_mean


def _embedding_case(seed=0, z=24):
    rng = np.random.default_rng(seed)
    emb = {"baseline": rng.normal(size=(N, z)), "lwln": rng.normal(1.0, 0.5, (N, z))}
    top = np.zeros(N, dtype=bool)
    top[: int(0.3 * N)] = True
    return emb, top


def _only(folder, name):
    assert sorted(p.name for p in folder.iterdir()) == [name]  # no temporary file left
    assert (folder / name).stat().st_size > 5_000


def test_layer_reconstruction_writes_png(tmp_path):
    w, rec, slices, acc, acc_rec, mean = _reconstruction_case()
    assert len(slices) == 5
    plot_layer_reconstruction(w, rec, slices, acc, acc_rec, mean, tmp_path / "rec.png",
                              title="tiny")
    _only(tmp_path, "rec.png")


def test_layer_reconstruction_with_nan_rows(tmp_path):
    w, rec, slices, acc, acc_rec, mean = _reconstruction_case()
    w[3] = np.nan
    rec["baseline"][5, 10] = np.nan
    acc[3] = np.nan
    acc_rec["baseline"][[1, 2]] = np.nan
    rec["lwln"][:] = np.nan  # a variant without a single finite row still gets its row
    acc_rec["lwln"][:] = np.nan
    plot_layer_reconstruction(w, rec, slices, acc, acc_rec, mean, tmp_path / "rec.png")
    _only(tmp_path, "rec.png")



def test_layer_r2_is_against_the_training_mean(monkeypatch):
    """The per-layer R² on the panels uses the training models' mean as its baseline, as the
    reconstruction table's r2_epoch_<layer> does (not the test models' own mean)."""
    saved = []
    monkeypatch.setattr(hyperreps.figures.reconstruction, "save_figure",
                        lambda fig, path: saved.append(fig))
    w, rec, slices, acc, acc_rec, mean = _reconstruction_case()
    plot_layer_reconstruction(w, rec, slices, acc, acc_rec, mean, "x.png")
    s = slices["fc2"]
    want = r_squared(rec["lwln"][:, s], w[:, s], mean[s])
    own = r_squared(rec["lwln"][:, s], w[:, s], w[:, s].mean(axis=0))
    assert abs(want - own) > 1e-3  # the two baselines differ on this case
    titles = [ax.get_title() for ax in saved[0].axes]
    assert f"fc2   R²={want:.3f}" in titles

@pytest.mark.parametrize("breaks, argument", [
    (lambda c: c[0].__setitem__(0, c[0][0][:, :-5]), "original"),
    (lambda c: c[0][1].__setitem__("lwln", c[0][1]["lwln"][:-1]), "reconstructed"),
    (lambda c: c[0][2].__setitem__("fc2", slice(0, 10_000)), "layer_slices"),
    (lambda c: c[0].__setitem__(3, c[0][3][:-1]), "acc_original"),
    (lambda c: c[0][4].pop("lwln"), "acc_reconstructed"),
    (lambda c: c[0][4].__setitem__("baseline", c[0][4]["baseline"][:, None]),
     "acc_reconstructed"),
    (lambda c: c[0].__setitem__(5, c[0][5][:-1]), "train_mean"),
])
def test_layer_reconstruction_rejects_bad_shapes(tmp_path, breaks, argument):
    case = [list(_reconstruction_case())]
    breaks(case)
    with pytest.raises(ValueError, match=argument):
        plot_layer_reconstruction(*case[0], tmp_path / "rec.png")
    assert not list(tmp_path.iterdir())


def test_embedding_geometry_writes_png(tmp_path):
    emb, top = _embedding_case()
    plot_embedding_geometry(emb, top, tmp_path / "geo.png", title="tiny", max_dims=16)
    _only(tmp_path, "geo.png")


def test_embedding_geometry_with_nan_rows_few_dims_and_subsampling(tmp_path, monkeypatch):
    monkeypatch.setattr(representation_figures, "_MAX_PAIR_POINTS", 8)  # pairs from 8 rows
    emb, top = _embedding_case(z=4)  # fewer dimensions than max_dims
    emb["baseline"][0] = np.nan  # a top row
    emb["lwln"][[7, 8]] = np.inf
    emb["lwln"][9] = 0.0  # a zero vector has no cosine distance
    plot_embedding_geometry(emb, top, tmp_path / "geo.png", max_dims=16)
    _only(tmp_path, "geo.png")


def test_cosine_distances_subsample_is_fixed():
    z = np.random.default_rng(1).normal(size=(3000, 5))
    top = np.arange(3000) < 900
    seed = representation_figures._PAIR_SEED
    d1, t1, used = representation_figures._cosine_distances(z, top, np.random.default_rng(seed))
    d2, t2, _ = representation_figures._cosine_distances(z, top, np.random.default_rng(seed))
    assert used == representation_figures._MAX_PAIR_POINTS and d1.size == used * (used - 1) // 2
    np.testing.assert_array_equal(d1, d2)
    np.testing.assert_array_equal(t1, t2)
    assert 0 < t1.size < d1.size and np.all((d1 >= 0) & (d1 <= 2))


@pytest.mark.parametrize("emb_rows, mask, max_dims, argument", [
    (N - 1, np.ones(N, bool), 16, "embeddings"),
    (N, np.ones(N + 1, bool), 16, "embeddings"),
    (N, np.ones((N, 1), bool), 16, "top_mask"),
    (N, np.full(N, 0.5), 16, "top_mask"),
    (N, np.ones(N, bool), 0, "max_dims"),
])
def test_embedding_geometry_rejects_bad_input(tmp_path, emb_rows, mask, max_dims, argument):
    emb, _ = _embedding_case()
    emb["lwln"] = emb["lwln"][:emb_rows]
    with pytest.raises(ValueError, match=argument):
        plot_embedding_geometry(emb, mask, tmp_path / "geo.png", max_dims=max_dims)
    assert not list(tmp_path.iterdir())


def test_embedding_geometry_rejects_1d_embeddings(tmp_path):
    _, top = _embedding_case()
    with pytest.raises(ValueError, match=r"embeddings\['a'\]"):
        plot_embedding_geometry({"a": np.zeros(N)}, top, tmp_path / "geo.png")


def _failing_savefig(self, fname, *args, **kwargs):
    with open(fname, "wb") as f:
        f.write(b"partial")
    raise OSError("disk full")


@pytest.mark.parametrize("which", ["reconstruction", "embedding"])
def test_failed_save_leaves_no_partial_file(tmp_path, monkeypatch, which):
    out = tmp_path / "figs"
    out.mkdir()
    (out / "fig.png").write_bytes(b"old figure")
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", _failing_savefig)
    with pytest.raises(OSError, match="disk full"):
        if which == "reconstruction":
            plot_layer_reconstruction(*_reconstruction_case(), out / "fig.png")
        else:
            plot_embedding_geometry(*_embedding_case(z=2), out / "fig.png")
    assert sorted(p.name for p in out.iterdir()) == ["fig.png"]
    assert (out / "fig.png").read_bytes() == b"old figure"  # the old figure left untouched


def test_novelty_frontier_writes_png_with_nan_models(tmp_path):
    import pandas as pd

    from hyperreps.figures.novelty_frontier import plot_novelty_frontier

    rng = np.random.default_rng(0)
    rows = []
    for pop in ("S_KDE30", "S_Edit30", "zoo_train", "zoo_test"):
        for i in range(10):
            rows.append({"population": pop, "test_acc": rng.uniform(0.2, 0.8),
                         "max_error_iou": rng.uniform(0.4, 0.6),
                         "l2_checkpoint": rng.uniform(5, 30)})
    rows.append({"population": "S_KDE30", "test_acc": np.nan, "max_error_iou": np.nan,
                 "l2_checkpoint": np.nan})  # a non-finite sample
    points = pd.DataFrame({"curve": "noise_raw", "sigma": [0.0, 0.5, 1.0],
                           "test_acc": [0.8, 0.5, 0.2], "test_acc_std": [0.0, 0.05, 0.05],
                           "max_error_iou": [1.0, 0.5, 0.4], "l2_checkpoint": [0.0, 10, 20]})
    path = tmp_path / "frontier.png"
    plot_novelty_frontier(pd.DataFrame(rows), points, path, "test", n_classes=10)
    assert path.stat().st_size > 10_000
    # with the noise models and the table: the regression and the ΔIoU panel
    from hyperreps.generative.novelty_curves import frontier_table

    sigma = np.repeat([0.0, 0.5, 1.0], 20)
    members = pd.DataFrame({"curve": "noise_raw", "sigma": sigma,
                            "test_acc": 0.8 - 0.5 * sigma + 0.02 * rng.standard_normal(60),
                            "max_error_iou": 1 - 0.5 * sigma + 0.02 * rng.standard_normal(60),
                            "l2_checkpoint": 20 * sigma})
    models = pd.DataFrame(rows)
    table = frontier_table(models, members, 50, 0)
    assert "zoo_independent" in set(table["population"])
    everything = pd.concat([models, members.drop(columns="curve").assign(population="noise_raw")])
    plot_novelty_frontier(everything, points, tmp_path / "gap.png", "test", 10, table)
    assert (tmp_path / "gap.png").stat().st_size > 10_000

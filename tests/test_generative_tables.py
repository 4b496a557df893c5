"""Tables of the generative stage (hyperreps.generative.tables) and their figures."""

import numpy as np
import pandas as pd
import pytest

from hyperreps import stats
from hyperreps.generative import populations
from hyperreps.generative import tables as generative_tables
from hyperreps.figures import generative, style

IN, TR = ("MNIST", "MNIST"), ("SVHN", "MNIST")
# (population, base accuracy, last epoch) per pair: accuracy = base + 0.1 epoch + 0.02 (model - 2)
POPS = {IN: (("S_KDE30", 0.44, 3), ("S_Neigh", 0.12, 3), ("B_T", 0.10, 6)),
        TR: (("S_KDE30", 0.40, 3), ("B_F", 0.35, 3), ("B_T", 0.10, 6))}


def _acc() -> pd.DataFrame:
    """5 models per population; the in-dataset S_Neigh model 4 diverges from epoch 2."""
    rows = []
    for (source, target), pops in POPS.items():
        for name, base, last in pops:
            for m in range(5):
                diverged = (source, target, name, m) == (*IN, "S_Neigh", 4)
                scratch = name == "B_T"
                for e in range(last + 1):
                    acc = np.nan if diverged and e >= 2 else base + 0.1 * e + 0.02 * (m - 2)
                    rows.append(dict(source=source, target=target, population=name, model=m,
                                     epoch=e, test_acc=acc, diverged=diverged,
                                     nn_distance=np.nan if scratch else 1.0 + m,
                                     nn_agreement=np.nan if scratch else 0.5))
    return pd.DataFrame(rows)


def _ens() -> pd.DataFrame:
    rows = [dict(source="SVHN", population=p, epoch=e, size=k,
                 accuracy_mean=0.2 + 0.3 * (p != "B_KDE30") + 0.01 * k + 0.1 * (e > 0),
                 accuracy_std=0.02)
            for p in ("B_T", "S_KDE30", "B_KDE30") for e in (0, 3) for k in range(1, 16)]
    return pd.DataFrame(rows)


def _vector(acc, pair, population, epoch):
    sel = ((acc["source"] == pair[0]) & (acc["target"] == pair[1])
           & (acc["population"] == population) & (acc["epoch"] == epoch))
    return acc.loc[sel, "test_acc"].to_numpy()


def test_order_and_colours():
    assert generative_tables.order_populations(["X", "B_T", "S_KDE30", "Y", "X", "S_U"]) == \
        ["S_U", "S_KDE30", "B_T", "X", "Y"]
    assert populations.ALL_POPULATIONS[-2:] == ("B_F", "B_T")
    assert set(style.POPULATION_COLORS) == set(populations.ALL_POPULATIONS)
    assert style.population_color("B_T") == "#000000"
    assert style.population_color("new") == style.population_color("new")


def test_in_dataset_table():
    table = generative_tables.in_dataset_table(_acc(), epochs=(0, 1, 25), bt_epochs=(6, 50))
    assert list(table.columns) == ["source", "target", "population", "epoch 0", "epoch 1",
                                   "final (epoch 3)", "B_T epoch 6", "n", "diverged",
                                   "nn_distance", "nn_agreement"]
    assert list(table["population"]) == ["S_KDE30", "S_Neigh", "B_T"]
    assert set(table["source"]) == set(table["target"]) == {"MNIST"}
    row = table.set_index("population")
    # S_KDE30 at epoch 1: 50, 52, 54, 56, 58 % -> mean 54, std sqrt(40 / 4) = 3.16
    assert row.loc["S_KDE30", "epoch 1"] == "54.0 ± 3.2"
    # B_T: its own epochs in the shared columns, its epoch 6 only on its row
    assert row.loc["B_T", "epoch 1"] == "20.0 ± 3.2"
    assert row.loc["B_T", "final (epoch 3)"] == "40.0 ± 3.2"
    assert row.loc["B_T", "B_T epoch 6"] == "70.0 ± 3.2"
    assert row.loc["S_KDE30", "B_T epoch 6"] == row.loc["S_Neigh", "B_T epoch 6"] == ""
    # the diverged model is counted and left out of the statistics
    assert row.loc["S_Neigh", "diverged"] == 1 and row.loc["S_KDE30", "diverged"] == 0
    assert (table["n"] == 5).all()
    assert row.loc["S_Neigh", "final (epoch 3)"] == generative_tables.format_mean_std(
        np.array([0.38, 0.40, 0.42, 0.44]))
    assert row.loc["S_KDE30", "nn_distance"] == pytest.approx(3.0)
    assert row.loc["S_KDE30", "nn_agreement"] == pytest.approx(50.0)
    assert np.isnan(row.loc["B_T", "nn_distance"])


def test_scratch_final_epoch_always_shown():
    # bt_epochs (25, 50) absent: the last epoch instead
    table = generative_tables.in_dataset_table(_acc())
    assert "B_T final (epoch 6)" in table.columns
    assert "epoch 25" not in table.columns and "B_T epoch 50" not in table.columns


def test_transfer_table():
    table = generative_tables.transfer_table(_acc(), epochs=(0, 1, 5, 25))
    assert list(table["population"]) == ["S_KDE30", "B_F", "B_T"]
    assert set(zip(table["source"], table["target"])) == {TR}
    # epoch 5 only reached by B_T, 25 by none: skipped; the samples' last epoch added
    assert [c for c in table.columns if "epoch" in c] == ["epoch 0", "epoch 1",
                                                          "final (epoch 3)",
                                                          "B_T final (epoch 6)"]
    row = table.set_index("population")
    assert row.loc["B_F", "epoch 0"] == "35.0 ± 3.2"
    assert (table["diverged"] == 0).all()


# the paper's comparison: samples fine-tuned for 3 epochs against B_T trained for 6 (2022:
# 25 vs 50) in-dataset; equal epochs in transfer (Table 2: 50 vs 50)
PAPER = {IN: [(3, 6)], TR: [(3, 3)]}


def test_median_ci_table():
    acc = _acc()
    table = generative_tables.median_ci_table(acc, {IN: [(1, 1), (3, 6)], TR: [(3, 3)]})
    assert list(zip(table["source"], table["population"], table["epoch"],
                    table["reference_epoch"], table["at_epoch"])) == [
        ("MNIST", "S_KDE30", 1, 1, 1), ("MNIST", "S_KDE30", 3, 6, 3),
        ("MNIST", "S_Neigh", 1, 1, 1), ("MNIST", "S_Neigh", 3, 6, 3),
        ("MNIST", "B_T", 1, 1, 1), ("MNIST", "B_T", 3, 6, 6),
        ("SVHN", "S_KDE30", 3, 3, 3), ("SVHN", "B_F", 3, 3, 3), ("SVHN", "B_T", 3, 3, 3)]
    assert (table["median_ci_low"] <= table["median"]).all()
    assert (table["median"] <= table["median_ci_high"]).all()
    first = table.iloc[0]
    assert first["median [95% CI] (%)"] == generative_tables.format_median_ci(
        first["median"], first["median_ci_low"], first["median_ci_high"])
    assert first["median [95% CI] (%)"].startswith("54.0 [")
    # B_T in the paper comparison is read after its 6 epochs, not at the samples' 3
    bt = table[(table["population"] == "B_T") & (table["epoch"] == 3)].iloc[0]
    assert bt["median"] == pytest.approx(np.median(_vector(acc, IN, "B_T", 6)))
    diverged = table[(table["population"] == "S_Neigh") & (table["epoch"] == 3)].iloc[0]
    assert (diverged["n"], diverged["n_nonfinite"]) == (4, 1)
    with pytest.raises(ValueError, match="B_T has no accuracy at epoch 9"):
        generative_tables.median_ci_table(acc, [(3, 9)])


def test_mwu_table_compares_the_configured_epochs():
    acc = _acc()
    table = generative_tables.mwu_table(acc, PAPER)
    got = list(zip(table["source"], table["population"], table["epoch"], table["reference"],
                   table["reference_epoch"]))
    # no B_F in-dataset: only B_T there, at 6; in transfer B_T and B_F at the samples' 3
    assert got == [("MNIST", "S_KDE30", 3, "B_T", 6), ("MNIST", "S_Neigh", 3, "B_T", 6),
                   ("SVHN", "S_KDE30", 3, "B_T", 3), ("SVHN", "S_KDE30", 3, "B_F", 3)]
    for _, row in table.iterrows():
        pair = (row["source"], row["target"])
        direct = stats.mann_whitney(_vector(acc, pair, row["population"], row["epoch"]),
                                    _vector(acc, pair, row["reference"], row["reference_epoch"]))
        for key, value in direct.items():
            assert row[key] == pytest.approx(value)
    # the same-epoch comparison gives another answer: S_KDE30 beats B_T at 3 everywhere
    # (CLES 1), but not B_T trained twice as long
    paper = table.iloc[0]
    same = stats.mann_whitney(_vector(acc, IN, "S_KDE30", 3), _vector(acc, IN, "B_T", 3))
    assert same["cles"] == 1.0 and paper["cles"] < 0.9
    # one set of columns: numbers only, no formatted duplicate and no '|' in a header
    assert list(table.columns) == ["source", "target", "population", "epoch", "reference",
                                   "reference_epoch", "p_value", "cles", "u", "n_a", "n_b"]


def test_mwu_table_novelty_baselines_only_for_sampled_populations():
    acc = _acc()
    acc.loc[acc["population"] == "S_Neigh", "population"] = "N_noise"
    table = generative_tables.mwu_table(acc, PAPER, novelty_baselines=("N_noise",))
    pairs = set(zip(table["population"], table["reference"], table["reference_epoch"]))
    assert ("S_KDE30", "N_noise", 3) in pairs and ("N_noise", "B_T", 6) in pairs
    assert not any(r == "N_noise" and p == "B_T" for p, r, _ in pairs)


def test_population_summary():
    acc = _acc()
    table = generative_tables.population_summary(acc)
    assert len(table) == 2 * (4 + 4 + 7)
    row = table[(table["population"] == "S_Neigh") & (table["epoch"] == 2)].iloc[0]
    want = stats.summarize(_vector(acc, IN, "S_Neigh", 2))
    assert (row["n_models"], row["n"], row["diverged"]) == (5, want["n"], 1)
    for key in ("mean", "std", "median"):
        assert row[key] == pytest.approx(want[key])


def test_duplicated_rows_rejected():
    acc = _acc()
    with pytest.raises(ValueError, match="duplicated"):
        generative_tables.population_summary(pd.concat([acc, acc.iloc[:1]]))


@pytest.mark.parametrize("call", [
    lambda a: generative_tables.in_dataset_table(a), lambda a: generative_tables.transfer_table(a),
    lambda a: generative_tables.median_ci_table(a, [(0, 0)]),
    lambda a: generative_tables.mwu_table(a, [(0, 0)]),
    generative_tables.population_summary,
    lambda a: generative.plot_sampler_comparison(a, *IN, 0, "x.png", n_classes=10),
    lambda a: generative.plot_accuracy_over_epochs(a, *IN, "x.png", n_classes=10),
])
def test_missing_column_named(call):
    with pytest.raises(ValueError, match="test_acc"):
        call(_acc().drop(columns="test_acc"))


def test_missing_ensemble_column_named(tmp_path):
    with pytest.raises(ValueError, match="accuracy_std"):
        generative.plot_ensembles(_ens().drop(columns="accuracy_std"), "SVHN",
                                  tmp_path / "e.png", n_classes=10)


def _only(folder, name):
    assert sorted(p.name for p in folder.iterdir()) == [name]  # no temporary file left
    assert (folder / name).stat().st_size > 5_000


@pytest.mark.parametrize("pair", [IN, TR])
def test_plot_sampler_comparison(tmp_path, pair):
    generative.plot_sampler_comparison(_acc(), *pair, 0, tmp_path / "fig4.png", n_classes=10,
                                       scratch_epoch=5)
    _only(tmp_path, "fig4.png")


def test_plot_accuracy_over_epochs(tmp_path):
    generative.plot_accuracy_over_epochs(_acc(), *IN, tmp_path / "a" / "fig14.png",
                                         n_classes=10, offset=3)
    _only(tmp_path / "a", "fig14.png")
    generative.plot_accuracy_over_epochs(_acc(), *TR, tmp_path / "b" / "fig17.png",
                                         n_classes=10, populations=["B_T", "S_KDE30"])
    _only(tmp_path / "b", "fig17.png")
    with pytest.raises(ValueError, match="S_GAN"):
        generative.plot_accuracy_over_epochs(_acc(), *TR, tmp_path / "c.png", n_classes=10,
                                             populations=["S_GAN"])


def test_plot_ensembles(tmp_path):
    generative.plot_ensembles(_ens(), "SVHN", tmp_path / "fig5.png", n_classes=10)
    _only(tmp_path, "fig5.png")


def test_plots_reject_unknown_pair_or_epoch(tmp_path):
    with pytest.raises(ValueError, match="no rows"):
        generative.plot_sampler_comparison(_acc(), "CIFAR", "MNIST", 0, tmp_path / "x.png",
                                           n_classes=10)
    with pytest.raises(ValueError, match="epoch 9"):
        generative.plot_sampler_comparison(_acc(), *IN, 9, tmp_path / "x.png", n_classes=10)
    with pytest.raises(ValueError, match="no rows"):
        generative.plot_ensembles(_ens(), "MNIST", tmp_path / "x.png", n_classes=10)
    assert not any(tmp_path.iterdir())


def test_in_dataset_curves_start_beside_b_t_at_the_windows_end(monkeypatch):
    """2022 Figs. 14/16: samples start at B_T's epoch 25 (the hyper-representation's window
    end); transfer curves all start at 0."""
    saved = []
    monkeypatch.setattr(generative, "save_figure", lambda fig, path: saved.append(fig))
    generative.plot_accuracy_over_epochs(_acc(), *IN, "x.png", n_classes=10, offset=25)
    generative.plot_accuracy_over_epochs(_acc(), *TR, "y.png", n_classes=10)
    starts = [{line.get_label().split(" ")[0]: line.get_xdata()[0]
               for line in fig.axes[0].get_lines() if "(n=" in line.get_label()}
              for fig in saved]
    assert starts[0] == {"S_KDE30": 25, "S_Neigh": 25, "B_T": 0}
    assert starts[1] == {"S_KDE30": 0, "B_F": 0, "B_T": 0}


def test_sampler_comparison_reads_b_t_at_its_own_epoch(monkeypatch):
    saved = []
    monkeypatch.setattr(generative, "save_figure", lambda fig, path: saved.append(fig))
    generative.plot_sampler_comparison(_acc(), *IN, 0, "x.png", n_classes=10, scratch_epoch=6)
    ax = saved[0].axes[0]
    bt = [c for c in ax.collections if len(c.get_offsets())][-1].get_offsets()[:, 1]
    np.testing.assert_allclose(np.sort(bt), 100 * np.sort(_vector(_acc(), IN, "B_T", 6)))
    assert "for 6 epochs" in ax.get_title()


def test_plot_gan_losses(tmp_path):
    losses = pd.DataFrame({"epoch": [1, 2, 3], "d_loss": [1.4, 1.3, 1.35],
                           "g_loss": [0.7, 0.8, 0.75], "d_real": [0.5, 0.6, 0.55],
                           "d_fake": [0.5, 0.4, 0.45]})
    generative.plot_gan_losses(losses, "MNIST: S_GAN", tmp_path / "gan.png")
    _only(tmp_path, "gan.png")


def test_chance_line_follows_the_datasets_classes(monkeypatch):
    """Chance is 100 / n_classes: 25% for the 4-class Tetris zoo, 10% for digits."""
    saved = []
    monkeypatch.setattr(generative, "save_figure", lambda fig, path: saved.append(fig))
    generative.plot_sampler_comparison(_acc(), *IN, 0, "x.png", n_classes=4)
    generative.plot_accuracy_over_epochs(_acc(), *IN, "y.png", n_classes=4)
    generative.plot_ensembles(_ens(), "SVHN", "z.png", n_classes=10)
    lines = [[ln for ln in ax.get_lines() if ln.get_label().startswith("chance")]
             for fig in saved for ax in fig.axes]
    assert [len(ls) for ls in lines] == [1, 1, 1, 1]  # ensembles: one panel per epoch
    assert [ls[0].get_ydata()[0] for ls in lines] == [25.0, 25.0, 10.0, 10.0]
    assert [ls[0].get_label() for ls in lines[1:3]] == ["chance (25%)", "chance (10%)"]
    with pytest.raises(ValueError, match="n_classes"):
        generative.plot_ensembles(_ens(), "SVHN", "z.png", n_classes=1)

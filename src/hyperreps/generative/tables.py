"""Result tables of the generative stage (2022 §4.2, Tables 1, 2 and 10-13), as DataFrames.

Every function takes the long accuracy table of the fine-tuning stage, ``acc``: one row per
(``source``, ``target``, ``population``, ``model``, ``epoch``) with ``test_acc`` (a fraction in
[0, 1], NaN where the model diverged), ``diverged`` (a model-level flag) and the model-level
novelty columns ``nn_distance`` and ``nn_agreement`` (NaN where not applicable, e.g. B_T).
``source == target`` rows are in-dataset experiments, the others transfer learning; B_T (models
trained from scratch on the target) is part of every pair, over its own epochs.

Conventions shared by all tables:

* Rows follow the (source, target) pairs in order of first appearance, then the populations in
  :data:`hyperreps.generative.populations.ALL_POPULATIONS` (names not listed there after it, in
  order of
  first appearance).
* Non-finite accuracies (diverged models) are left out of every statistic, as in
  :mod:`hyperreps.stats`; ``std`` is the sample standard deviation (``ddof=1``).
* Formatted cells give percentages with one decimal: ``"mean ± std"`` (only the mean where a
  single value is finite, ``"n/a"`` where none is), ``"median [low, high]"`` (``"median N/A"``
  where the bootstrapped interval is undefined, as in the paper). A cell left empty (``""``)
  does not apply to its row.

The functions do no file IO; :func:`hyperreps.tables.write_table` writes their results.
The populations' colours in figures are :mod:`hyperreps.figures.style`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Union

import numpy as np
import pandas as pd

from .. import stats
from .populations import ALL_POPULATIONS, FINE_TUNED_SOURCE, SAMPLED, SCRATCH

ACC_COLUMNS: tuple[str, ...] = ("source", "target", "population", "model", "epoch", "test_acc",
                                "diverged", "nn_distance", "nn_agreement")
ENS_COLUMNS: tuple[str, ...] = ("source", "population", "size", "accuracy_mean", "accuracy_std")
_PAIR: list[str] = ["source", "target"]
_KEY: list[str] = ["source", "target", "population", "model", "epoch"]
_STAT_COLUMNS: tuple[str, ...] = ("source", "target", "population", "model", "epoch",
                                  "test_acc")
_MEDIAN_CI = "median [95% CI] (%)"
_MEDIAN_FIELDS: tuple[str, ...] = ("n", "n_nonfinite", "median", "median_ci_low",
                                   "median_ci_high")
_MWU_FIELDS: tuple[str, ...] = ("p_value", "cles", "u", "n_a", "n_b")


def order_populations(names: Iterable[str]) -> list[str]:
    """The distinct ``names`` in :data:`~hyperreps.generative.populations.ALL_POPULATIONS`,
    unknown names
    after them in order of first appearance."""
    seen = list(dict.fromkeys(names))
    return [p for p in ALL_POPULATIONS if p in seen] + [p for p in seen
                                                        if p not in ALL_POPULATIONS]


def check_columns(table: pd.DataFrame, columns: Iterable[str], name: str = "acc") -> None:
    """Raise ValueError naming the ``columns`` that ``table`` lacks."""
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"{name}: expected a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(map(repr, missing))}; "
                         f"it has {list(table.columns)}")


def _checked(acc: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``acc`` with ``columns`` present, one row per model and epoch, ``test_acc`` as float with
    non-finite values as NaN and ``diverged`` (if required) as bool."""
    check_columns(acc, columns)
    duplicated = acc.duplicated(_KEY)
    if duplicated.any():
        first = acc.loc[duplicated, _KEY].iloc[0].to_dict()
        raise ValueError(f"acc: {int(duplicated.sum())} duplicated row(s) per "
                         f"(source, target, population, model, epoch), e.g. {first}")
    out = acc.copy()
    values = out["test_acc"].astype(float)
    out["test_acc"] = values.where(np.isfinite(values))
    if "diverged" in columns:
        out["diverged"] = out["diverged"].fillna(False).astype(bool)
    return out


def _sorted(table: pd.DataFrame, pairs: Sequence[tuple[str, str]], then: Sequence[str] = (),
            references: Sequence[str] = ()) -> pd.DataFrame:
    """``table`` ordered by pair (as ``pairs``), population (:func:`order_populations`),
    reference (as ``references``) and the columns ``then``."""
    pair_rank = {p: i for i, p in enumerate(pairs)}
    pop_rank = {p: i for i, p in enumerate(order_populations(table["population"]))}
    keys = pd.DataFrame({
        "_pair": [pair_rank[p] for p in zip(table["source"], table["target"])],
        "_pop": table["population"].map(pop_rank).to_numpy(),
    }, index=table.index)
    by = ["_pair", "_pop"]
    if references:
        keys["_ref"] = table["reference"].map({r: i for i, r in enumerate(references)})
        by.append("_ref")
    joined = pd.concat([table, keys], axis=1)
    return (joined.sort_values([*by, *then], kind="stable")
            .drop(columns=keys.columns).reset_index(drop=True))


def _pairs(acc: pd.DataFrame) -> list[tuple[str, str]]:
    return list(dict.fromkeys(zip(acc["source"], acc["target"])))


def _percent(x: float) -> str:
    return f"{100 * x:.1f}"


def format_mean_std(values: np.ndarray | pd.Series) -> str:
    """``"mean ± std"`` in % with one decimal of the finite ``values`` (fractions)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return "n/a"
    if x.size == 1:
        return _percent(x[0])
    return f"{_percent(np.mean(x))} ± {_percent(np.std(x, ddof=1))}"


def _epoch_columns(block: pd.DataFrame, epochs: Sequence[int],
                   bt_epochs: Sequence[int]) -> list[tuple[str, int, bool, tuple]]:
    """The epoch columns of one (source, target) block: ``(label, epoch, scratch_only,
    sort key)``. The requested ``epochs`` and each population's last epoch ("final (epoch
    N)") follow the fine-tuned populations (B_T's alone where there are none); B_T's requested
    ``bt_epochs`` and its own last epoch not shown yet get columns of their own."""
    tuned = block[block["population"] != SCRATCH]
    base = tuned if not tuned.empty else block
    present = set(base["epoch"])
    shown = [e for e in sorted(set(epochs)) if e in present]
    columns = [(f"epoch {e}", e, False, (0, e, 0)) for e in shown]
    for last in sorted(set(base.groupby("population")["epoch"].max())):
        if last not in shown:
            shown.append(last)
            columns.append((f"final (epoch {last})", last, False, (0, last, 1)))
    scratch = block[block["population"] == SCRATCH]
    if not scratch.empty:
        own = set(scratch["epoch"])
        extra = [e for e in sorted(set(bt_epochs)) if e in own and e not in shown]
        columns += [(f"{SCRATCH} epoch {e}", e, True, (1, e, 0)) for e in extra]
        last = max(own)
        if last not in shown and last not in extra:
            columns.append((f"{SCRATCH} final (epoch {last})", last, True, (1, last, 1)))
    return columns


def _accuracy_table(acc: pd.DataFrame, in_dataset: bool, epochs: Sequence[int],
                    bt_epochs: Sequence[int]) -> pd.DataFrame:
    acc = _checked(acc, ACC_COLUMNS)
    same = acc["source"] == acc["target"]
    acc = acc[same if in_dataset else ~same]
    rows: list[dict] = []
    labels: dict[str, tuple] = {}
    for (source, target), block in acc.groupby(_PAIR, sort=False):
        columns = _epoch_columns(block, epochs, bt_epochs)
        labels.update({label: key for label, _, _, key in columns})
        for name in order_populations(block["population"]):
            pop = block[block["population"] == name]
            row: dict = {"source": source, "target": target, "population": name}
            for label, epoch, scratch_only, _ in columns:
                values = pop.loc[pop["epoch"] == epoch, "test_acc"]
                applies = not values.empty and (name == SCRATCH or not scratch_only)
                row[label] = format_mean_std(values) if applies else ""
            models = pop.groupby("model")
            novelty = models[["nn_distance", "nn_agreement"]].first()
            row["n"] = int(models.ngroups)
            row["diverged"] = int(models["diverged"].any().sum())
            row["nn_distance"] = float(novelty["nn_distance"].mean())
            row["nn_agreement"] = float(100 * novelty["nn_agreement"].mean())
            rows.append(row)
    epoch_labels = sorted(labels, key=labels.__getitem__)
    names = [*_PAIR, "population", *epoch_labels, "n", "diverged", "nn_distance",
             "nn_agreement"]
    table = pd.DataFrame(rows, columns=names)
    table[epoch_labels] = table[epoch_labels].fillna("")
    return table


def in_dataset_table(acc: pd.DataFrame, epochs: Sequence[int] = (0, 1, 25),
                     bt_epochs: Sequence[int] = (25, 50)) -> pd.DataFrame:
    """Paper Table 1: test accuracy "mean ± std" (%) per population of each in-dataset pair
    (``source == target``), one row per (source, population).

    Columns: ``source``, ``target``, ``population``; ``"epoch e"`` for each of ``epochs`` that
    the fine-tuned populations reached (others are skipped), then ``"final (epoch N)"`` for a
    last epoch N of theirs not among them; the B_T-only columns; ``n`` (models), ``diverged``
    (models flagged diverged), ``nn_distance`` (mean over models of the distance to the nearest
    source training checkpoint) and ``nn_agreement`` (mean agreement with it, in %).

    B_T, trained from scratch, is read as in the paper's Table 1, where its rows at Ep. 0, 1
    and 25 stand next to the fine-tuned populations' and one more row gives it at Ep. 50 (as
    long as the hyper-representation's training zoo was trained): its ``"epoch e"`` and
    ``"final (epoch N)"`` cells are its own accuracy after ``e`` (``N``) epochs of training from
    scratch, and columns ``"B_T epoch e"`` for each of ``bt_epochs`` beyond those (e.g. 50),
    filled on the B_T row only. B_T's own last epoch is always shown, as ``"B_T final (epoch
    N)"`` if no other column holds it. Blocks without some column leave its cells empty.
    """
    return _accuracy_table(acc, True, epochs, bt_epochs)


def transfer_table(acc: pd.DataFrame, epochs: Sequence[int] = (0, 1, 5, 25),
                   bt_epochs: Sequence[int] = (25, 50)) -> pd.DataFrame:
    """Paper Table 2: as :func:`in_dataset_table`, for the transfer pairs (``source !=
    target``), one row per (source → target, population)."""
    return _accuracy_table(acc, False, epochs, bt_epochs)


def format_median_ci(median: float, low: float, high: float) -> str:
    """``"median [low, high]"`` in % with one decimal; ``"median N/A"`` where the interval is
    undefined and ``"N/A"`` without a median."""
    if not np.isfinite(median):
        return "N/A"
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{_percent(median)} N/A"
    return f"{_percent(median)} [{_percent(low)}, {_percent(high)}]"


Comparisons = Union[Sequence[tuple[int, int]],
                    Mapping[tuple[str, str], Sequence[tuple[int, int]]]]


def _comparisons_of(comparisons: Comparisons, pair: tuple[str, str]) -> list[tuple[int, int]]:
    """The ``(epoch, reference_epoch)`` pairs of one (source, target) pair: ``comparisons``
    is one list for every pair or a mapping by pair (a pair without an entry has none)."""
    if isinstance(comparisons, Mapping):
        chosen = comparisons.get(pair, ())
    else:
        chosen = comparisons
    out = []
    for c in chosen:
        e, r = (c["epoch"], c["reference_epoch"]) if isinstance(c, Mapping) else c
        out.append((int(e), int(r)))
    return list(dict.fromkeys(out))


def _values_at(block: pd.DataFrame, population: str, epoch: int,
               pair: tuple[str, str]) -> pd.Series:
    rows = block[(block["population"] == population) & (block["epoch"] == epoch)]
    if rows.empty:
        have = sorted(set(block.loc[block["population"] == population, "epoch"]))
        raise ValueError(f"{pair[0]} -> {pair[1]}: {population} has no accuracy at epoch "
                         f"{epoch} (it has epochs {have[:3]}..{have[-3:]}); check "
                         "generative.comparisons against the fine-tuning and zoo epochs")
    return rows["test_acc"]


def median_ci_table(acc: pd.DataFrame, comparisons: Comparisons) -> pd.DataFrame:
    """Paper Tables 10/12: median test accuracy and its bootstrapped 95% confidence interval
    (:func:`hyperreps.stats.summarize`) per (source, target, comparison, population).

    ``comparisons``: ``(epoch, reference_epoch)`` pairs (a list for every pair, or a mapping
    by (source, target)). In each comparison the fine-tuned populations are read at ``epoch``
    and B_T, trained from scratch, at ``reference_epoch`` (the paper: samples fine-tuned 25
    epochs against B_T after 50, whose medians are Table 1's "B_T 50" row). Every row prints
    both: ``epoch`` and ``reference_epoch`` of its comparison, and ``at_epoch``, the epoch its
    own value is read at. Columns: ``source``, ``target``, ``population``, ``epoch``,
    ``reference_epoch``, ``at_epoch``, ``"median [95% CI] (%)"``, then numeric ``n`` (finite
    values), ``n_nonfinite``, ``median``, ``median_ci_low``, ``median_ci_high`` (fractions).
    """
    acc = _checked(acc, _STAT_COLUMNS)
    rows = []
    for pair, block in acc.groupby(_PAIR, sort=False):
        for epoch, ref_epoch in _comparisons_of(comparisons, pair):
            for name in order_populations(block["population"]):
                at = ref_epoch if name == SCRATCH else epoch
                summary = stats.summarize(_values_at(block, name, at, pair).to_numpy())
                rows.append({"source": pair[0], "target": pair[1], "population": name,
                             "epoch": epoch, "reference_epoch": ref_epoch, "at_epoch": at,
                             **{k: summary[k] for k in _MEDIAN_FIELDS}})
    columns = [*_PAIR, "population", "epoch", "reference_epoch", "at_epoch", *_MEDIAN_FIELDS]
    table = pd.DataFrame(rows, columns=columns)
    table.insert(6, _MEDIAN_CI, [format_median_ci(*v) for v in zip(
        table["median"], table["median_ci_low"], table["median_ci_high"])])
    return _sorted(table, _pairs(acc), then=["epoch", "reference_epoch"])


def is_sampled(name: str) -> bool:
    """Populations decoded from a hyper-representation
    (:data:`hyperreps.generative.populations.SAMPLED`: S_*, B_KDE30)."""
    return name in SAMPLED


def mwu_table(acc: pd.DataFrame, comparisons: Comparisons,
              references: Sequence[str] = (SCRATCH, FINE_TUNED_SOURCE),
              novelty_baselines: Sequence[str] = ()) -> pd.DataFrame:
    """Paper Tables 11/13: two-sided Mann-Whitney U test (:func:`hyperreps.stats.mann_whitney`)
    of every population other than the ``references`` against each reference, per (source,
    target) pair and comparison. In a comparison ``(epoch, reference_epoch)`` the population
    is read at ``epoch``; B_T (trained from scratch) at ``reference_epoch``, other references
    (B_F, and the ``novelty_baselines``), fine-tuned like the population, at ``epoch``. A
    reference missing from a pair is skipped there. Each of ``novelty_baselines`` (N_noise,
    N_avg: training models moved by noise or averaging, the 2025 audit's controls) is a
    reference for the sampled populations only.

    Columns: ``source``, ``target``, ``population``, ``epoch``, ``reference``,
    ``reference_epoch`` (both epochs of the test), ``p_value``, ``cles`` (above 0.5: the
    population tends to score higher than the reference), ``u``, ``n_a`` and ``n_b`` (finite
    values of population and reference). Rows follow pair, population, reference and epochs.
    """
    acc = _checked(acc, _STAT_COLUMNS)
    rows = []
    for pair, block in acc.groupby(_PAIR, sort=False):
        names = order_populations(block["population"])
        others = [p for p in names if p not in references]
        sampled = [p for p in names if is_sampled(p)]
        tests = ([(r, others) for r in references]
                 + [(r, sampled) for r in novelty_baselines])
        for epoch, ref_epoch in _comparisons_of(comparisons, pair):
            for reference, against in tests:
                if reference not in names:
                    continue
                at = ref_epoch if reference == SCRATCH else epoch
                ref_values = _values_at(block, reference, at, pair).to_numpy()
                for name in against:
                    if name == reference:
                        continue
                    result = stats.mann_whitney(_values_at(block, name, epoch, pair).to_numpy(),
                                                ref_values)
                    rows.append({"source": pair[0], "target": pair[1], "population": name,
                                 "epoch": epoch, "reference": reference,
                                 "reference_epoch": at,
                                 **{k: result[k] for k in _MWU_FIELDS}})
    columns = [*_PAIR, "population", "epoch", "reference", "reference_epoch", *_MWU_FIELDS]
    table = pd.DataFrame(rows, columns=columns).drop_duplicates(
        [*_PAIR, "population", "epoch", "reference", "reference_epoch"])
    return _sorted(table, _pairs(acc), then=["epoch", "reference_epoch"],
                   references=list(references) + list(novelty_baselines))


def population_summary(acc: pd.DataFrame) -> pd.DataFrame:
    """Numeric summary per (source, target, population, epoch): ``n_models``, ``n`` (finite
    accuracies), ``diverged`` (models flagged diverged), ``mean``, ``std`` and ``median`` of
    ``test_acc`` (fractions).

    The statistics follow :func:`hyperreps.stats.summarize` (finite values only, ``ddof=1``)
    but are computed per group with pandas, without its bootstrap, to stay fast over every
    epoch.
    """
    acc = _checked(acc, (*_STAT_COLUMNS, "diverged"))
    groups = acc.groupby([*_PAIR, "population", "epoch"], sort=False)
    table = groups.agg(n_models=("model", "nunique"), n=("test_acc", "count"),
                       diverged=("diverged", "sum"), mean=("test_acc", "mean"),
                       std=("test_acc", "std"), median=("test_acc", "median")).reset_index()
    table[["n_models", "n", "diverged"]] = table[["n_models", "n", "diverged"]].astype(int)
    return _sorted(table, _pairs(acc), then=["epoch"])

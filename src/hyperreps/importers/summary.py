"""What ``hyperreps inspect`` prints about a zoo: its models, epochs, the settings the import
rule would use (architecture, activation), what was checked, and the accuracy spread per
epoch."""

from __future__ import annotations

import numpy as np

from .errors import ZooImportError
from .source import ImportSource


def accuracy_spread(acc: np.ndarray, epochs) -> list[str]:
    """One line per epoch: min, median and max test accuracy of the models measured."""
    lines = []
    for e, column in zip(epochs, np.asarray(acc, dtype=float).T):
        ok = column[np.isfinite(column)]
        if len(ok):
            lines.append(f"  epoch {int(e):>4}: test accuracy min {ok.min():.3f}  median "
                         f"{np.median(ok):.3f}  max {ok.max():.3f}  ({len(ok)} models)")
        else:
            lines.append(f"  epoch {int(e):>4}: no measured accuracy")
    return lines


def import_settings(source: ImportSource) -> str:
    """The defaults the import rule uses for this source, as one line."""
    activation = source.activation or "as its files say"
    return (f"import settings (as the import rule reads them for dataset {source.dataset}): "
            f"format {source.format}, architecture {source.architecture}, activation "
            f"{activation}")


def zoo_summary(zoo, kind: str, checks: str, source: ImportSource | None = None) -> str:
    """A loaded zoo's summary; ``source``: how it was imported (None: our own format)."""
    from ..zoo import HYPERPARAMETER_COLUMNS, describe_epochs

    models = zoo.models()
    diverged = int(models["diverged"].astype(bool).sum()) if "diverged" in models else 0
    varying = [c for c in HYPERPARAMETER_COLUMNS if c in models and models[c].nunique() > 1]
    lines = [f"{kind}: {zoo.n_models} models x {zoo.n_epochs} checkpoints "
             f"(epochs {describe_epochs(zoo.epochs)})",
             f"architecture: {zoo.layout.architecture} ({zoo.layout.n_params} parameters), "
             f"dataset: {zoo.dataset}"]
    if source is not None:
        lines.append(import_settings(source))
    lines += [f"diverged models: {diverged}",
              f"hyperparameters that vary: {', '.join(varying) if varying else 'none'}",
              f"checks: {checks}"]
    return "\n".join(lines + accuracy_spread(zoo.metric("test_acc"), zoo.epochs))


def small_cnn_zoo_summary(source: ImportSource, strict: bool = True) -> str:
    """A Small CNN Zoo folder's summary, every file checked first: metrics and layout read,
    ``weights.npy`` memory-mapped. The architecture is the import's (``source.architecture``);
    where the archive does not fit it, ``strict`` refuses, naming the registered architectures
    it fits, else the summary uses the first of those and says that the import needs it named
    (the zoo's ``architecture``)."""
    from .small_cnn_zoo_files import LAYOUT_FILE, check_folder_files

    path = source.folder
    variables, metrics, weights = check_folder_files(path)
    from ..architecture import get_architecture
    from .small_cnn_zoo import matching_architectures, to_layout

    fits = matching_architectures(variables)
    settings = import_settings(source)
    try:
        to_layout(np.zeros((1, variables[-1].end), np.float32), variables,
                  get_architecture(source.architecture).layout, path / LAYOUT_FILE)
        architecture = source.architecture
    except ZooImportError as e:
        if strict or not fits:
            hint = (f"; it fits {', '.join(fits)}: give --architecture {fits[0]} (in a config: "
                    f"the zoo's architecture: {fits[0]})" if fits else
                    "; its variables fit no registered architecture (bias then kernel per "
                    "layer)")
            raise ZooImportError(f"{e}{hint}") from None
        architecture = fits[0]
        settings += (f"; the archive does not fit {source.architecture}: an import needs the "
                     f"zoo's architecture: {architecture} (here: --architecture {architecture})")
    layout = get_architecture(architecture).layout
    steps = sorted(int(s) for s in metrics["step"].unique())
    runs = metrics["modeldir"].nunique()
    config = [c for c in metrics.columns if c.startswith("config.")]
    varying = [c for c in config if metrics[c].nunique() > 1]
    also = [a for a in fits if a != architecture]
    lines = [f"Small CNN Zoo: {runs} runs, {len(metrics)} rows (weights.npy {weights.shape}, "
             "memory-mapped), checkpoint steps " + ", ".join(map(str, steps)),
             f"layout.csv: {len(variables)} variables tiling {variables[-1].end} columns "
             f"(bias first, TF kernel order): {layout.architecture}"
             + (f" (also fits {', '.join(also)})" if also else ""),
             settings,
             f"hyperparameters that vary: {', '.join(varying) if varying else 'none'}",
             "checks: layout tiles the row and matches the architecture; weights float32 "
             "[rows, P] in C order, rows == metrics rows; one metrics row per run and step, "
             "accuracies in [0, 1]"]
    if "test_accuracy" in metrics:
        acc = metrics.pivot_table(index="modeldir", columns="step", values="test_accuracy")
        lines += accuracy_spread(acc.to_numpy(), acc.columns)
    return "\n".join(lines)

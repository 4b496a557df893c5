"""``hyperreps`` on the command line: check a zoo before writing a config, export models.

    hyperreps inspect PATH [--pattern "run{model}/epoch_{epoch}.pt"] [--architecture NAME]
    hyperreps export ZOO OUT [--epoch N]

``inspect`` reads our zoo format (checksums verified), a Ray Tune folder, a Small CNN Zoo
folder (metrics and layout only; ``weights.npy`` memory-mapped) or, with ``--pattern``, a
folder of PyTorch checkpoints, and prints the models, epochs, architecture, accuracy spread per
epoch and diverged models. ``export`` writes a zoo's models as plain PyTorch state dicts, as
the workflow's ``export`` rule does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def _spread(acc: np.ndarray, epochs) -> list[str]:
    lines = []
    for e, column in zip(epochs, np.asarray(acc, dtype=float).T):
        ok = column[np.isfinite(column)]
        if len(ok):
            lines.append(f"  epoch {int(e):>4}: test accuracy min {ok.min():.3f}  median "
                         f"{np.median(ok):.3f}  max {ok.max():.3f}  ({len(ok)} models)")
        else:
            lines.append(f"  epoch {int(e):>4}: no measured accuracy")
    return lines


def _zoo_summary(zoo, kind: str, checks: str) -> str:
    from .zoo import HYPERPARAMETER_COLUMNS, describe_epochs

    models = zoo.models()
    diverged = int(models["diverged"].astype(bool).sum()) if "diverged" in models else 0
    varying = [c for c in HYPERPARAMETER_COLUMNS if c in models and models[c].nunique() > 1]
    lines = [f"{kind}: {zoo.n_models} models x {zoo.n_epochs} checkpoints "
             f"(epochs {describe_epochs(zoo.epochs)})",
             f"architecture: {zoo.layout.architecture} ({zoo.layout.n_params} parameters), "
             f"dataset: {zoo.dataset}",
             f"diverged models: {diverged}",
             f"hyperparameters that vary: {', '.join(varying) if varying else 'none'}",
             f"checks: {checks}"]
    return "\n".join(lines + _spread(zoo.metric("test_acc"), zoo.epochs))


def inspect(path: Path, pattern: str | None = None, architecture: str | None = None) -> str:
    """A printable summary of the zoo at ``path``, in whichever format it is."""
    from .small_cnn_zoo import LAYOUT_FILE, METRICS_FILE, WEIGHTS_FILE

    if (path / "manifest.json").exists():
        from .zoo import load_zoo

        return _zoo_summary(load_zoo(path), "hyperreps zoo",
                            "manifest, sizes and sha256 of every file verified")
    if (path / METRICS_FILE).exists() or (path / LAYOUT_FILE).exists():
        return _small_cnn_summary(path)
    if pattern:
        from .architecture import get_architecture
        from .checkpoint_folder import import_checkpoint_folder

        layout = get_architecture(architecture or "zoo_cnn").layout
        zoo = import_checkpoint_folder(path, pattern, "unknown", layout, "relu")
        return _zoo_summary(zoo, "folder of PyTorch checkpoints",
                            f"every file loaded without running code and matched to "
                            f"{layout.architecture} (no metrics: they are measured on import)")
    if any(path.glob("*/params.json")):
        from .importers import import_raytune_zoo

        zoo = import_raytune_zoo(path, "unknown")
        return _zoo_summary(zoo, "Ray Tune zoo", "every checkpoint loaded without running code "
                            "and checked against the zoo CNN")
    raise SystemExit(f"{path}: not a zoo: no manifest.json (hyperreps), {METRICS_FILE} / "
                     f"{WEIGHTS_FILE} / {LAYOUT_FILE} (Small CNN Zoo), */params.json (Ray "
                     "Tune); for a folder of checkpoints give --pattern")


def _small_cnn_summary(path: Path) -> str:
    from .architecture import get_architecture
    from .small_cnn_zoo import (LAYOUT_FILE, METRICS_FILE, WEIGHTS_FILE, open_weights,
                                read_layout, read_metrics, to_layout)

    variables = read_layout(path / LAYOUT_FILE)
    metrics = read_metrics(path / METRICS_FILE)
    layout = get_architecture("unterthiner_cnn").layout
    weights = open_weights(path / WEIGHTS_FILE, len(metrics), layout.n_params)
    to_layout(np.asarray(weights[:1]), variables, layout, path / LAYOUT_FILE)  # shapes match
    steps = sorted(int(s) for s in metrics["step"].unique())
    runs = metrics["modeldir"].nunique()
    config = [c for c in metrics.columns if c.startswith("config.")]
    varying = [c for c in config if metrics[c].nunique() > 1]
    lines = [f"Small CNN Zoo: {runs} runs, {len(metrics)} rows (weights.npy {weights.shape}, "
             "memory-mapped), checkpoint steps " + ", ".join(map(str, steps)),
             f"layout.csv: {len(variables)} variables tiling {variables[-1].end} columns "
             f"(bias first, TF kernel order): {layout.architecture}",
             f"hyperparameters that vary: {', '.join(varying) if varying else 'none'}",
             "checks: layout tiles the row and matches the architecture; weights rows == "
             "metrics rows"]
    if "test_accuracy" in metrics:
        acc = metrics.pivot_table(index="modeldir", columns="step", values="test_accuracy")
        lines += _spread(acc.to_numpy(), acc.columns)
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="hyperreps", description=__doc__.split("\n\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("inspect", help="summarise a zoo in any importable format",
                         description="Print a zoo's models, epochs, architecture, accuracy "
                         "spread per epoch and diverged models; checksums are verified.")
    p.add_argument("path", type=Path)
    p.add_argument("--pattern", help='checkpoint folders: e.g. "run{model}/epoch_{epoch}.pt"')
    p.add_argument("--architecture", help="checkpoint folders: a registered architecture")
    e = verbs.add_parser("export", help="write a zoo's models as PyTorch state dicts",
                         description="Write each finite model of a zoo (hyperreps format) at "
                         "one epoch as a .safetensors state dict of SingleModel plus a JSON.")
    e.add_argument("zoo", type=Path)
    e.add_argument("out", type=Path)
    e.add_argument("--epoch", type=int, help="epoch number (default the zoo's last)")
    args = parser.parse_args(argv)
    try:
        if args.verb == "inspect":
            print(inspect(args.path, args.pattern, args.architecture))
        else:
            from .export import export_zoo
            from .zoo import load_zoo

            n = export_zoo(load_zoo(args.zoo), args.out, args.epoch, source=str(args.zoo))
            print(f"exported {n} models to {args.out}")
    except (ValueError, OSError) as err:  # the package's file errors are ValueErrors
        print(f"hyperreps {args.verb}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

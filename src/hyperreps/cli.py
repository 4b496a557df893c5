"""``hyperreps`` on the command line: check a zoo before writing a config, export models.

    hyperreps inspect PATH [--pattern "run{model}/epoch_{epoch}.pt"] [--architecture NAME]
    hyperreps export ZOO OUT [--epoch N] [--replace]
    hyperreps check-config FILE

``inspect`` reads our zoo format (checksums verified), a Ray Tune folder, a Small CNN Zoo
folder (metrics and layout only; ``weights.npy`` memory-mapped) or, with ``--pattern``, a
folder of PyTorch checkpoints, and prints the models, epochs, architecture, accuracy spread per
epoch and diverged models. ``export`` writes a zoo's models as plain PyTorch state dicts, as
the workflow's ``export`` rule does, into OUT: a new or empty folder (or, with ``--replace``, a
previous export); anything else at OUT, or OUT being, inside or around ZOO, is refused and left
untouched. ``check-config`` reads a config file as a run would, naming the file and the
problem where Snakemake's own reader would stop with a traceback.
"""

from __future__ import annotations

import argparse
import os
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
    from .small_cnn_zoo_files import LAYOUT_FILE, METRICS_FILE, WEIGHTS_FILE
    from .untrusted_files import check_folder

    check_folder(path)
    if (path / "manifest.json").exists():
        from .zoo import load_zoo

        return _zoo_summary(load_zoo(path), "hyperreps zoo",
                            "manifest, sizes and sha256 of every file verified")
    if any(os.path.lexists(path / f) for f in (METRICS_FILE, LAYOUT_FILE, WEIGHTS_FILE)):
        return _small_cnn_summary(path, architecture)
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


def _small_cnn_summary(path: Path, architecture: str | None = None) -> str:
    """A Small CNN Zoo folder's summary: the architecture given, else the registered one its
    ``layout.csv`` fits (an archive the pipeline wrote may hold any biased architecture)."""
    from .small_cnn_zoo_files import (LAYOUT_FILE, METRICS_FILE, WEIGHTS_FILE,
                                      SmallCNNZooError, open_weights, read_layout,
                                      read_metrics)

    # every file checked before torch is imported (seconds): a refusal comes at once
    variables = read_layout(path / LAYOUT_FILE)
    metrics = read_metrics(path / METRICS_FILE)
    weights = open_weights(path / WEIGHTS_FILE, len(metrics), variables[-1].end,
                           f"the columns the variables of {LAYOUT_FILE} tile")
    from .architecture import get_architecture
    from .small_cnn_zoo import matching_architectures, to_layout

    fits = matching_architectures(variables)
    if architecture is None:
        if not fits:
            raise SmallCNNZooError(f"{path / LAYOUT_FILE}: its variables fit no registered "
                                   "architecture (bias then kernel per layer); give "
                                   "--architecture to see why one does not fit")
        architecture = fits[0]
    layout = get_architecture(architecture).layout
    to_layout(np.zeros((1, variables[-1].end), np.float32), variables, layout,
              path / LAYOUT_FILE)  # the layout fits the architecture, or a message why not
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
             f"hyperparameters that vary: {', '.join(varying) if varying else 'none'}",
             "checks: layout tiles the row and matches the architecture; weights float32 "
             "[rows, P] in C order, rows == metrics rows; one metrics row per run and step, "
             "accuracies in [0, 1]"]
    if "test_accuracy" in metrics:
        acc = metrics.pivot_table(index="modeldir", columns="step", values="test_accuracy")
        lines += _spread(acc.to_numpy(), acc.columns)
    return "\n".join(lines)


def check_config(path: Path) -> list[str]:
    """What a run of the config file ``path`` would refuse: its reading and validation (a
    ConfigError, raised), then the inputs it lacks on disk (returned, one line each)."""
    from .config.checks import check_inputs, validate_config
    from .config.files import read_config_file, run_name

    config = validate_config(read_config_file(path))
    run_name(config, [path])
    return check_inputs(config)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="hyperreps", description=__doc__.split("\n\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("inspect", help="summarise a zoo in any importable format",
                         description="Print a zoo's models, epochs, architecture, accuracy "
                         "spread per epoch and diverged models; checksums are verified.")
    p.add_argument("path", type=Path)
    p.add_argument("--pattern", help='checkpoint folders: e.g. "run{model}/epoch_{epoch}.pt"')
    p.add_argument("--architecture", help="checkpoint folders and Small CNN Zoo archives: a "
                   "registered architecture (archives: default, the one layout.csv fits)")
    c = verbs.add_parser("check-config", help="read and validate a config as a run would",
                         description="Read a config file with the workflow's own reader (the "
                         "file and the problem named, where Snakemake's reader gives a "
                         "traceback), validate it, and list the inputs missing on disk.")
    c.add_argument("config", type=Path)
    e = verbs.add_parser("export", help="write a zoo's models as PyTorch state dicts",
                         description="Write each finite model of a zoo (hyperreps format) at "
                         "one epoch as a .safetensors state dict of SingleModel plus a JSON.")
    e.add_argument("zoo", type=Path)
    e.add_argument("out", type=Path)
    e.add_argument("--epoch", type=int, help="epoch number (default the zoo's last)")
    e.add_argument("--replace", action="store_true",
                   help="replace OUT if it is a previous export (never anything else)")
    args = parser.parse_args(argv)
    try:
        if args.verb == "inspect":
            print(inspect(args.path, args.pattern, args.architecture))
        elif args.verb == "check-config":
            problems = check_config(args.config)
            print("\n".join(problems) if problems else f"{args.config}: valid")
            return 1 if problems else 0
        else:
            from .destinations import check_user_destination, is_previous_export

            where = dict(sources=[args.zoo], replace=args.replace)
            # refused before torch is imported or the zoo read: in a fraction of a second
            check_user_destination(args.out, **where, recognise=is_previous_export,
                                   writer="hyperreps export", source_name="zoo")
            from .export import export_zoo
            from .zoo import load_zoo

            n = export_zoo(load_zoo(args.zoo), args.out, args.epoch, source=str(args.zoo),
                           **where)
            print(f"exported {n} models to {args.out}")
    except (ValueError, OSError) as err:  # the package's file errors are ValueErrors
        print(f"hyperreps {args.verb}: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # a case no check foresaw: still one line, and what to do
        target = {"inspect": "path", "export": "zoo", "check-config": "config"}[args.verb]
        target = getattr(args, target)
        print(f"hyperreps {args.verb}: {target}: could not be read ({type(err).__name__}: "
              f"{str(err)[:300]}); this is a gap in hyperreps' checks, please report it",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

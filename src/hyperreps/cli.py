"""``hyperreps`` on the command line: check a zoo before writing a config, export models.

    hyperreps inspect PATH [--pattern "run{model}/epoch_{epoch}.pt"] [--architecture NAME]
                           [--dataset NAME] [--activation NAME]
    hyperreps export ZOO OUT [--epoch N] [--replace]
    hyperreps check-config FILE
    hyperreps audit MODELS --run RESULTS --zoo ZOO --out OUT [--name NAME] [--data-root DIR]

``inspect`` reads our zoo format (checksums verified), a Ray Tune folder, a Small CNN Zoo
folder (metrics and layout only; ``weights.npy`` memory-mapped) or, with ``--pattern``, a
folder of PyTorch checkpoints, and prints the models, epochs, architecture, accuracy spread per
epoch and diverged models; an imported format is read with the architecture and activation
the import rule would take for a zoo of ``--dataset`` (default mnist), and says so. ``export``
writes a zoo's models as plain PyTorch state dicts, as
the workflow's ``export`` rule does, into OUT: a new or empty folder (or, with ``--replace``, a
previous export); anything else at OUT, or OUT being, inside or around ZOO, is refused and left
untouched. ``check-config`` reads a config file as a run would, naming the file and the
problem where Snakemake's own reader would stop with a traceback. ``audit`` places any
generator's models of a zoo's architecture (our zoo format, a folder of ``.safetensors`` /
``.pt`` state dicts, or a ``.npy`` of flat weights) on the novelty frontier a pipeline run
measured for that zoo, and writes the frontier table and figure into OUT.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path



INSPECT_DATASET = "mnist"  # the dataset inspect resolves defaults for, unless --dataset


def inspect(path: Path, pattern: str | None = None, architecture: str | None = None,
            dataset: str | None = None, activation: str | None = None) -> str:
    """A printable summary of the zoo at ``path``, in whichever format it is. An imported
    format is read with the defaults the import rule would use for a zoo of ``dataset``
    (:func:`hyperreps.importers.registry.resolve_import`): the same architecture and
    activation, unless given."""
    from .untrusted_files import check_folder

    check_folder(path)
    if (path / "manifest.json").exists():
        from .importers.summary import zoo_summary
        from .zoo import load_zoo

        return zoo_summary(load_zoo(path), "hyperreps zoo",
                           "manifest, sizes and sha256 of every file verified")
    from .importers.small_cnn_zoo_files import FILES, check_folder_files

    if not pattern and any(os.path.lexists(path / f) for f in FILES):
        check_folder_files(path)  # in a fraction of a second, before torch's import (seconds)
    from .importers.registry import FORMATS, detect_format, resolve_import

    fmt = detect_format(path, pattern)
    if fmt is None:
        known = "; ".join(f"{f.looks_like} ({f.label})" for f in FORMATS.values()
                          if f.name != "checkpoints")
        raise SystemExit(f"{path}: not a zoo: no manifest.json (hyperreps), {known}; for a "
                         "folder of checkpoints give --pattern")
    given = {"path": str(path), "format": fmt.name}
    given.update({k: v for k, v in (("pattern", pattern), ("activation", activation)) if v})
    zoo_cfg = {"dataset": dataset or INSPECT_DATASET, "import_from": given}
    if architecture:
        zoo_cfg["architecture"] = architecture
    return fmt.summary(resolve_import(zoo_cfg), strict=bool(architecture))


def check_config(path: Path) -> list[str]:
    """What a run of the config file ``path`` would refuse: its reading and validation (a
    ConfigError, raised), then the inputs it lacks on disk (returned, one line each)."""
    from .config.checks import validate_config
    from .config.inputs import check_inputs
    from .config.files import read_config_file, run_name

    config = validate_config(read_config_file(path))
    run_name(config, [path])
    return check_inputs(config)


def audit(models: Path, run: Path, zoo_name: str, out: Path, name: str | None = None,
          data_root: str | None = None, variant: str = "lwln") -> str:
    """Audit the models at ``models`` on zoo ``zoo_name``'s frontier in the results folder
    ``run``; the table and figure go to ``out`` (a new or empty folder). Returns the table's
    row(s) for the printout."""
    from .destinations import check_user_destination

    check_user_destination(out, sources=[models], writer="hyperreps audit",
                           source_name="input")
    from .autoencoder.io import load_autoencoder
    from .data import DataSettings, load_dataset
    from .figures.novelty_frontier import plot_novelty_frontier
    from .generative.audit import audit_models, read_frontier
    from .generative.novelty_frontier import table_for_display
    from .importers.model_files import load_model_files
    from .publish import staged_dir
    from .representation.embeddings import load_embeddings
    from .splits import load_split
    from .tables import write_table
    from .zoo import load_zoo

    zoo = load_zoo(run / "zoos" / zoo_name / "zoo")
    weights, _ = load_model_files(models, zoo.layout)
    frontier, settings = read_frontier(run / "novelty_frontier" / zoo_name)
    model, _, _ = load_autoencoder(run / "autoencoders" / zoo_name / variant / "model")
    embeddings = load_embeddings(run / "autoencoders" / zoo_name / variant /
                                 "embeddings.safetensors", zoo).z
    data = load_dataset(zoo.dataset, DataSettings(root=Path(data_root)) if data_root else None)
    label = name or models.stem
    result = audit_models({label: weights}, frontier, settings, zoo,
                          load_split(run / "zoos" / zoo_name / "split.json"), model,
                          embeddings, data.test)
    shown = table_for_display(result.table)
    with staged_dir(out) as tmp:
        tmp = Path(tmp)
        write_table(shown, [tmp / f"audit_{zoo_name}.{s}" for s in ("md", "csv", "tex")],
                    caption=f"{label} on the novelty frontier of zoo {zoo_name} ({run}); "
                            "columns as in tables/2025_novelty_frontier_<zoo>")
        plot_novelty_frontier(result.models, result.points, tmp / f"audit_{zoo_name}.png",
                              f"{label} on {zoo_name}'s novelty frontier", table=result.table)
    rows = shown[shown["population"].isin([label, "zoo_independent"])]
    return rows.to_string(index=False)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="hyperreps", description=__doc__.split("\n\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("inspect", help="summarise a zoo in any importable format",
                         description="Print a zoo's models, epochs, architecture, accuracy "
                         "spread per epoch and diverged models; checksums are verified.")
    p.add_argument("path", type=Path)
    p.add_argument("--pattern", help='checkpoint folders: e.g. "run{model}/epoch_{epoch}.pt"')
    p.add_argument("--architecture", help="a registered architecture (default: the one the "
                   "import rule takes for the format and dataset)")
    p.add_argument("--dataset", help=f"the zoo's dataset, for the import rule's defaults "
                   f"(default {INSPECT_DATASET})")
    p.add_argument("--activation", help="the models' activation where the files do not say "
                   "(default: the import rule's)")
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
    a = verbs.add_parser("audit", help="place a generator's models on a zoo's novelty frontier",
                         description="Measure models of a zoo's architecture (our zoo format, "
                         "a folder of .safetensors/.pt state dicts, or a .npy of flat weights) "
                         "against the novelty frontier a pipeline run measured for that zoo: "
                         "ΔIoU at equal accuracy, gap closed, L2 to the nearest checkpoint.")
    a.add_argument("models", type=Path)
    a.add_argument("--run", type=Path, required=True, help="a results folder, e.g. results/demo")
    a.add_argument("--zoo", required=True, help="the zoo whose frontier to use")
    a.add_argument("--out", type=Path, required=True, help="a new or empty folder")
    a.add_argument("--name", help="the population's name in the table (default: MODELS' name)")
    a.add_argument("--data-root", help="the dataset folder of the run (data.root)")
    args = parser.parse_args(argv)
    try:
        if args.verb == "inspect":
            print(inspect(args.path, args.pattern, args.architecture, args.dataset,
                          args.activation))
        elif args.verb == "audit":
            print(audit(args.models, args.run, args.zoo, args.out, args.name, args.data_root))
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
            from .zoos.export import export_zoo
            from .zoo import load_zoo

            n = export_zoo(load_zoo(args.zoo), args.out, args.epoch, source=str(args.zoo),
                           **where)
            print(f"exported {n} models to {args.out}")
    except (ValueError, OSError) as err:  # the package's file errors are ValueErrors
        print(f"hyperreps {args.verb}: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # a case no check foresaw: still one line, and what to do
        target = {"inspect": "path", "export": "zoo", "check-config": "config",
                  "audit": "models"}[args.verb]
        target = getattr(args, target)
        print(f"hyperreps {args.verb}: {target}: could not be read ({type(err).__name__}: "
              f"{str(err)[:300]}); this is a gap in hyperreps' checks, please report it",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

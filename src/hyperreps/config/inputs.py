"""What a run needs from disk and lacks, found before any job starts: :func:`check_inputs`."""

from __future__ import annotations

import os

from ..data import DataSettings, missing_dataset
from ..importers.registry import get_format, resolve_import
from ..untrusted_files import UntrustedFileError, check_folder, check_regular
from .queries import autoencoder_config, transfer_pairs


def check_inputs(config: dict, produced=frozenset()) -> list[str]:
    """What the workflow needs from disk and lacks, found before any job starts (cheap: no
    file is loaded): each zoo's dataset where a job will read it, each ``import_from`` folder
    as its format requires (:meth:`hyperreps.importers.source.ZooFormat.check`), and whether an
    imported zoo's epochs, where known, cover its autoencoder window and the comparison epochs.
    One message per problem, naming the key. ``produced``: import folders the workflow itself
    writes (normalised paths), not checked."""
    settings = DataSettings.from_config(config["data"])
    pairs = transfer_pairs(config)
    in_pairs = {z for pair in pairs for z in pair}
    problems = []
    for name, zoo in config["zoos"].items():
        source = resolve_import(zoo)
        ae = autoencoder_config(config, name)
        measured = source is not None and get_format(source.format).needs_data
        if source is None or ae["enabled"] or name in in_pairs or measured:
            why = missing_dataset(zoo["dataset"], settings)
            if why:
                problems.append(f"config key 'zoos.{name}.dataset': {why}")
        if source is None:
            continue
        key = f"zoos.{name}.import_from"
        if os.path.normpath(source.folder) in produced:
            continue
        try:
            check_folder(source.folder)
        except UntrustedFileError as e:
            problems.append(f"config key '{key}': {e}")
            continue
        found, epochs, described = get_format(source.format).check(source, key)
        problems += found
        if found or epochs is None:
            continue
        last = epochs[-1]
        if ae["enabled"]:
            window = ae["window"]
            where = f"zoos.{name}.autoencoder" if "autoencoder" in zoo else "autoencoder"
            bad = [f"{end} epoch {window[end]}" for end in ("first", "last")
                   if window[end] not in epochs]
            if bad:
                problems.append(f"config key '{where}.window': {' and '.join(bad)} but the "
                                f"imported zoo has {described}")
        for source, target in pairs:
            if target != name:
                continue
            kind = "in_dataset" if source == target else "transfer"
            for i, c in enumerate(config["generative"]["comparisons"][kind]):
                if c["reference_epoch"] > last or c["reference_epoch"] not in epochs:
                    problems.append(
                        f"config key 'generative.comparisons.{kind}.{i}.reference_epoch': "
                        f"{c['reference_epoch']} but B_T (zoo {name!r}, imported) has "
                        f"{described}")
    for n, entry in enumerate(config["novelty_frontier"]["audit"]):
        path = entry["path"]
        try:
            check_regular(path) if str(path).endswith(".npy") else check_folder(path)
        except UntrustedFileError as e:
            problems.append(f"config key 'novelty_frontier.audit.{n}.path': {e}")
    return list(dict.fromkeys(problems))

"""What the workflow asks of a validated config: a zoo's autoencoder settings and model
architecture, the hyperparameters its grid varies, the (source, target) pairs fine-tuned, their
epochs and comparisons, and the epochs of Fig. 3's trajectories."""

from __future__ import annotations

import copy

from ..architecture import zoo_cnn_name
from ..data import dataset_info
from ..importers.registry import resolve_import
from .plan import HYPERPARAMETERS


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in override.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def autoencoder_config(config: dict, zoo: str) -> dict:
    """The autoencoder settings of one zoo: the top-level block with the zoo's overrides."""
    return _merge(config["autoencoder"], config["zoos"][zoo].get("autoencoder", {}))


def trajectory_epochs(config: dict, zoo: str) -> tuple[int, int]:
    """Fig. 3's trajectory interpolation: from ``robustness.trajectory_start`` (or the
    autoencoder window's first epoch, if earlier) to the window's last epoch."""
    w = autoencoder_config(config, zoo)["window"]
    return min(config["robustness"]["trajectory_start"], w["first"]), w["last"]


def zoo_architecture(zoo_cfg: dict) -> str:
    """The registered architecture of a zoo's models: the config's ``architecture``, else for
    an imported zoo its format's default (:func:`hyperreps.importers.registry.resolve_import`),
    else the one its dataset's papers use."""
    source = resolve_import(zoo_cfg)
    if source is not None:
        return source.architecture
    if zoo_cfg.get("architecture"):
        return zoo_cfg["architecture"]
    info = dataset_info(zoo_cfg["dataset"])
    return info.architecture or zoo_cnn_name(info.channels)


def transfer_pairs(config: dict) -> list[tuple[str, str]]:
    """(source, target) zoo pairs to fine-tune on: the ``generative.in_dataset`` zoos onto
    themselves, then the configured transfer pairs."""
    gen = config["generative"]
    if not gen["enabled"]:
        return []
    pairs = [(z, z) for z in gen["in_dataset"]]
    for p in gen["transfer"]:
        if (p["source"], p["target"]) not in pairs:
            pairs.append((p["source"], p["target"]))
    return pairs


def finetune_epochs(config: dict, source: str, target: str) -> int:
    """Fine-tuning epochs of a pair: ``finetune_epochs`` in-dataset, ``transfer_epochs``
    across datasets."""
    gen = config["generative"]
    return gen["finetune_epochs"] if source == target else gen["transfer_epochs"]


def comparisons(config: dict, source: str, target: str) -> list[dict]:
    """The (epoch, reference_epoch) pairs of the statistics tables for one pair."""
    gen = config["generative"]["comparisons"]
    return gen["in_dataset"] if source == target else gen["transfer"]


def varying_hyperparameters(zoo_cfg: dict) -> list[str]:
    """The hyperparameters a zoo's config varies across models (a grid)."""
    hp = zoo_cfg.get("hyperparameters", {})
    return [k for k in HYPERPARAMETERS if isinstance(hp.get(k), list) and len(set(hp[k])) > 1]

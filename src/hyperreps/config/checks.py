"""Whether a configuration is right: :func:`validate_config` (the schema, then the checks that
relate several keys: zoos named by other keys exist, have an autoencoder and the architecture
that is read, epochs fit the zoos' training, samplers have their autoencoder variant),
:func:`load_config`, and (in :mod:`.inputs`) what the workflow needs from disk and lacks."""

from __future__ import annotations

import json
from pathlib import Path


from ..architecture import get_architecture
from ..data import dataset_info
from .files import read_config_file
from .limits import check_limits
from .queries import (autoencoder_config, transfer_pairs, varying_hyperparameters,
                      zoo_architecture)
from .schema import ConfigError, check_name, load_schema, validate_schema


def validate_config(config: dict, schema: dict | None = None) -> dict:
    """Validate ``config`` in place, fill in defaults, return it: the schema
    (:func:`~hyperreps.config.schema.validate_schema`), then the checks across keys. Raises
    :class:`~hyperreps.config.schema.ConfigError` naming the offending key (e.g.
    ``zoos.demo.epochs``)."""
    schema = schema or load_schema()
    validate_schema(config, schema)
    _check_names(config)
    s = config["split"]
    if abs(s["train"] + s["val"] + s["test"] - 1) > 1e-6:
        raise ConfigError("config key 'split': train + val + test must be 1")
    for name, zoo in config["zoos"].items():
        _check_architecture(name, zoo)
    for name, zoo in config["zoos"].items():
        ae = autoencoder_config(config, name)
        if not ae["enabled"]:
            continue
        where = (f"zoos.{name}.autoencoder" if "autoencoder" in zoo else "autoencoder")
        w = ae["window"]
        if w["first"] > w["last"]:
            raise ConfigError(f"config key '{where}.window': first {w['first']} > last {w['last']}")
        if "import_from" not in zoo and w["last"] > zoo["epochs"]:
            raise ConfigError(f"config key '{where}.window': last epoch {w['last']} but zoo "
                              f"{name!r} trains {zoo['epochs']} epochs")
        arch = ae["architecture"]
        if arch["d_model"] % arch["n_heads"]:
            raise ConfigError(f"config key '{where}.architecture': d_model {arch['d_model']} "
                              f"is not divisible by n_heads {arch['n_heads']}")
    _check_lists_unique(config)
    _validate_generative(config)
    _validate_audit(config, schema["$defs"]["population"]["enum"])
    _validate_analyses(config)
    _validate_unseen(config)
    _validate_probes(config)
    _validate_archives(config)
    _validate_export(config)
    check_limits(config)
    return config


# lists where an entry given twice would be silently merged or computed twice
UNIQUE_LISTS = ("generative.transfer", "generative.ensembles.populations",
                "generative.comparisons.in_dataset", "generative.comparisons.transfer",
                "cross_zoo_reconstruction", "export.populations", "unseen_zoos.pairs",
                "unseen_architectures.pairs", "novelty_frontier.audit")


def _check_unique(items, key: str) -> None:
    seen: dict[str, int] = {}
    for i, item in enumerate(items or []):
        canon = json.dumps(item, sort_keys=True)
        if canon in seen:
            raise ConfigError(f"config key '{key}.{i}': {canon[:120]} is listed twice (also "
                              f"entry {seen[canon]})")
        seen[canon] = i


def _check_lists_unique(config: dict) -> None:
    """No entry twice in :data:`UNIQUE_LISTS` nor in a zoo's hyperparameter grid."""
    for key in UNIQUE_LISTS:
        node = config
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, list):
            _check_unique(node, key)
    for name, zoo in config["zoos"].items():
        for hp, values in (zoo.get("hyperparameters") or {}).items():
            if isinstance(values, list):
                _check_unique(values, f"zoos.{name}.hyperparameters.{hp}")


def _check_names(config: dict) -> None:
    """The run's and the zoos' names are safe folder names, and no two zoos differ only in
    case (their folders would collide on a case-insensitive file system)."""
    if config["name"] is not None:
        check_name(config["name"], "name")
    folded: dict[str, str] = {}
    for name in config["zoos"]:
        check_name(name, f"zoos.{name}")
        other = folded.setdefault(name.casefold(), name)
        if other != name:
            raise ConfigError(f"config key 'zoos.{name}': zoos {other!r} and {name!r} differ "
                              "only in case; their result folders would collide")


def _validate_export(config: dict) -> None:
    """Exported zoos exist; exported populations are drawn for a sampled zoo."""
    ex = config["export"]
    for i, name in enumerate(ex["zoos"]):
        if name not in config["zoos"]:
            raise ConfigError(f"config key 'export.zoos.{i}': no zoo named {name!r}")
    sampled = {s for s, _ in transfer_pairs(config)}
    for i, entry in enumerate(ex["populations"]):
        if entry["zoo"] not in sampled:
            raise ConfigError(f"config key 'export.populations.{i}.zoo': zoo {entry['zoo']!r} "
                              "is not sampled (generative.in_dataset or a transfer source)")
        if entry["population"] not in config["generative"]["populations"]:
            raise ConfigError(f"config key 'export.populations.{i}.population': "
                              f"{entry['population']} is not in generative.populations")


def _validate_archives(config: dict) -> None:
    """Each ``small_cnn_zoo_archive`` entry names a trained zoo, once, whose layers all have a
    bias (the format stores bias then kernel per layer; the Small CNN Zoo itself holds the
    Unterthiner CNN), and steps it trains."""
    seen = set()
    for i, entry in enumerate(config["small_cnn_zoo_archive"]):
        key, name = f"small_cnn_zoo_archive.{i}", entry["zoo"]
        zoo = config["zoos"].get(name)
        if zoo is None or "import_from" in zoo:
            raise ConfigError(f"config key '{key}.zoo': {name!r} is not a zoo this workflow "
                              "trains")
        if name in seen:
            raise ConfigError(f"config key '{key}.zoo': zoo {name!r} is listed twice")
        seen.add(name)
        arch = get_architecture(zoo_architecture(zoo))
        if not all(layer.bias for layer in arch.layout.layers):
            raise ConfigError(f"config key '{key}.zoo': zoo {name!r} has architecture "
                              f"{arch.name}, whose layers are not all biased; the Small CNN "
                              "Zoo format stores a bias and a kernel per layer")
        late = [e for e in entry["steps"] or [] if e > zoo["epochs"]]
        if late:
            raise ConfigError(f"config key '{key}.steps': {late} beyond zoo {name!r}'s "
                              f"{zoo['epochs']} epochs")


def load_config(path: str | Path) -> dict:
    """The config in the YAML file ``path``, validated, with defaults filled in."""
    return validate_config(read_config_file(path))


def _check_architecture(name: str, zoo: dict) -> None:
    arch = get_architecture(zoo_architecture(zoo))
    info = dataset_info(zoo["dataset"])
    want = (info.channels, info.image_size, info.image_size)
    if tuple(arch.input_shape) != want or arch.n_classes != info.n_classes:
        raise ConfigError(
            f"config key 'zoos.{name}.architecture': {arch.name} takes inputs "
            f"{list(arch.input_shape)} and {arch.n_classes} classes; dataset "
            f"{zoo['dataset']!r} has {list(want)} and {info.n_classes}")


def _check_autoencoder_on_zoo(config: dict, pair: dict, key: str) -> None:
    """A ``{autoencoder, zoo}`` pair: both zoos exist, the first trains an autoencoder and the
    second's models have the architecture it reads."""
    zoos = config["zoos"]
    for k in ("autoencoder", "zoo"):
        if pair[k] not in zoos:
            raise ConfigError(f"config key '{key}.{k}': no zoo named {pair[k]!r}")
    if not autoencoder_config(config, pair["autoencoder"])["enabled"]:
        raise ConfigError(f"config key '{key}.autoencoder': zoo {pair['autoencoder']!r} "
                          "has no autoencoder (autoencoder.enabled)")
    a, b = (zoo_architecture(zoos[pair[k]]) for k in ("autoencoder", "zoo"))
    # the same weights at another input size (unterthiner_cnn and unterthiner_cnn_32) are fine
    if get_architecture(a).layout != get_architecture(b).layout:
        raise ConfigError(f"config key '{key}': architectures differ ({a} and {b}); an "
                          "autoencoder reads one architecture's weights")


def _validate_analyses(config: dict) -> None:
    for i, pair in enumerate(config["cross_zoo_reconstruction"]):
        _check_autoencoder_on_zoo(config, pair, f"cross_zoo_reconstruction.{i}")


def _check_fine_tunable(config: dict, name: str, key: str) -> None:
    varying = varying_hyperparameters(config["zoos"][name])
    if varying:
        raise ConfigError(f"config key {key!r}: zoo {name!r} varies {', '.join(varying)} "
                          "across its models; models are trained here with one setting")


def _check_epochs(config: dict, name: str, epoch: int, key: str, what: str) -> None:
    cfg = config["zoos"][name]
    if "import_from" not in cfg and epoch > cfg["epochs"]:
        raise ConfigError(f"config key {key!r}: {what} {epoch} but zoo {name!r} is trained "
                          f"for {cfg['epochs']} epochs")


def _validate_probes(config: dict) -> None:
    zoos = config["zoos"]
    for i, name in enumerate(config["probes"]["class_f_scores"]):
        if name not in zoos:
            raise ConfigError(f"config key 'probes.class_f_scores.{i}': no zoo named {name!r}")
        if not autoencoder_config(config, name)["enabled"]:
            raise ConfigError(f"config key 'probes.class_f_scores.{i}': zoo {name!r} has no "
                              "autoencoder, so no probes")
    sources = set()
    for i, entry in enumerate(config["probe_transfer"]):
        key = f"probe_transfer.{i}"
        source = entry["autoencoder"]
        if source not in zoos:
            raise ConfigError(f"config key '{key}.autoencoder': no zoo named {source!r}")
        if source in sources:
            raise ConfigError(f"config key '{key}.autoencoder': zoo {source!r} is listed twice")
        sources.add(source)
        ae = autoencoder_config(config, source)
        for j, name in enumerate(entry["zoos"]):
            if name not in zoos:
                raise ConfigError(f"config key '{key}.zoos.{j}': no zoo named {name!r}")
            _check_autoencoder_on_zoo(config, {"autoencoder": source, "zoo": name},
                                      f"{key}.zoos.{j}")
            _check_epochs(config, name, ae["window"]["last"], f"{key}.zoos.{j}",
                          "the autoencoder's window ends at epoch")
    name = config["compression_ablation"]["zoo"]
    if name is not None:
        if name not in zoos:
            raise ConfigError(f"config key 'compression_ablation.zoo': no zoo named {name!r}")
        if not autoencoder_config(config, name)["enabled"]:
            raise ConfigError(f"config key 'compression_ablation.zoo': zoo {name!r} has "
                              "autoencoder.enabled false")


def _validate_unseen(config: dict) -> None:
    """Table 3 (unseen zoos) and Table 4 (unseen architectures)."""
    zoos = config["zoos"]
    unseen = config["unseen_zoos"]
    for i, pair in enumerate(unseen["pairs"]):
        key = f"unseen_zoos.pairs.{i}"
        _check_autoencoder_on_zoo(config, pair, key)
        if "lwln" not in autoencoder_config(config, pair["autoencoder"])["variants"]:
            raise ConfigError(f"config key '{key}.autoencoder': zoo {pair['autoencoder']!r} "
                              "trains no lwln autoencoder")
        _check_fine_tunable(config, pair["zoo"], f"{key}.zoo")
        window = autoencoder_config(config, pair["autoencoder"])["window"]
        _check_epochs(config, pair["zoo"], window["last"], f"{key}.zoo",
                      "the autoencoder's window ends at epoch")
        _check_epochs(config, pair["zoo"], max(unseen["epochs"]), "unseen_zoos.epochs",
                      "B_T is compared at epoch")
    arch_cfg = config["unseen_architectures"]
    sources = {s for s, _ in transfer_pairs(config)}
    for i, pair in enumerate(arch_cfg["pairs"]):
        key = f"unseen_architectures.pairs.{i}"
        for k in ("source", "target"):
            if pair[k] not in zoos:
                raise ConfigError(f"config key '{key}.{k}': no zoo named {pair[k]!r}")
        if pair["source"] not in sources or "S_KDE30" not in config["generative"]["populations"]:
            raise ConfigError(f"config key '{key}.source': the S_KDE30 population of zoo "
                              f"{pair['source']!r} is used, so it must be sampled: list it in "
                              "generative.in_dataset or as a transfer source, with S_KDE30 in "
                              "generative.populations")
        _check_fine_tunable(config, pair["target"], f"{key}.target")
        source = get_architecture(zoo_architecture(zoos[pair["source"]]))
        info = dataset_info(zoos[pair["target"]]["dataset"])
        want = (info.channels, info.image_size, info.image_size)
        for j, name in enumerate(arch_cfg["architectures"]):
            arch = get_architecture(name)
            akey = f"unseen_architectures.architectures.{j}"
            if tuple(arch.input_shape) != want or arch.n_classes != info.n_classes:
                raise ConfigError(
                    f"config key {akey!r}: {name} takes inputs {list(arch.input_shape)} and "
                    f"{arch.n_classes} classes; zoo {pair['target']!r}'s dataset has "
                    f"{list(want)} and {info.n_classes}")
            if arch.n_params < source.n_params:
                raise ConfigError(
                    f"config key {akey!r}: {name} has {arch.n_params} parameters, fewer than "
                    f"the {source.n_params} that zoo {pair['source']!r}'s hyper-representation "
                    "generates")


def _validate_audit(config: dict, populations) -> None:
    """Each ``novelty_frontier.audit`` entry names a zoo that is sampled (it has a frontier)
    and a name no population or zoo row of the frontier table has, once per zoo."""
    sampled = {s for s, _ in transfer_pairs(config)}
    names = set()
    for i, entry in enumerate(config["novelty_frontier"]["audit"]):
        key = f"novelty_frontier.audit.{i}"
        if entry["zoo"] not in sampled or not config["novelty_frontier"]["enabled"]:
            raise ConfigError(f"config key '{key}.zoo': {entry['zoo']!r} has no novelty "
                              "frontier (a zoo in generative.in_dataset or a transfer source, "
                              "with novelty_frontier.enabled)")
        if entry["name"] in populations or entry["name"].startswith("zoo_") \
                or entry["name"].startswith("noise_"):
            raise ConfigError(f"config key '{key}.name': {entry['name']!r} is a name the "
                              "frontier table already uses; choose another")
        if (entry["zoo"], entry["name"]) in names:
            raise ConfigError(f"config key '{key}.name': {entry['name']!r} is audited twice "
                              f"on zoo {entry['zoo']!r}")
        names.add((entry["zoo"], entry["name"]))


def _validate_generative(config: dict) -> None:
    gen = config["generative"]
    zoos = config["zoos"]

    def check_zoo(name: str, key: str, role: str, needs_autoencoder: bool) -> None:
        if name not in zoos:
            raise ConfigError(f"config key {key!r}: no zoo named {name!r}")
        if needs_autoencoder and not autoencoder_config(config, name)["enabled"]:
            raise ConfigError(f"config key {key!r}: zoo {name!r} has no autoencoder "
                              "(autoencoder.enabled)")
        varying = varying_hyperparameters(zoos[name])
        if varying:
            raise ConfigError(
                f"config key {key!r}: zoo {name!r} varies {', '.join(varying)} across its "
                f"models; as a {role} it needs one setting for all models (sampled models "
                "take one activation, fine-tuning one set of hyperparameters). Hyperparameter-"
                "varying zoos get autoencoders and probes only")

    for i, name in enumerate(gen["in_dataset"]):
        check_zoo(name, f"generative.in_dataset.{i}", "in-dataset zoo", True)
    for i, p in enumerate(gen["transfer"]):
        pair = (p["source"], p["target"])
        if pair[0] == pair[1]:
            raise ConfigError(f"config key 'generative.transfer.{i}': zoo {pair[0]!r} onto "
                              "itself is not a transfer (it would be fine-tuned for "
                              "generative.finetune_epochs, not transfer_epochs); list it in "
                              "generative.in_dataset instead")
        check_zoo(p["source"], f"generative.transfer.{i}.source", "transfer source", True)
        check_zoo(p["target"], f"generative.transfer.{i}.target", "transfer target", False)
        a, b = (zoo_architecture(zoos[p[k]]) for k in ("source", "target"))
        if a != b:
            raise ConfigError(f"config key 'generative.transfer.{i}': {p['source']!r} has "
                              f"architecture {a}, {p['target']!r} {b}; weights cannot transfer")
    for kind, epochs in (("in_dataset", gen["finetune_epochs"]),
                         ("transfer", gen["transfer_epochs"])):
        targets = (gen["in_dataset"] if kind == "in_dataset"
                   else [p["target"] for p in gen["transfer"]])
        for i, c in enumerate(gen["comparisons"][kind]):
            key = f"generative.comparisons.{kind}.{i}"
            if c["epoch"] > epochs:
                what = "finetune_epochs" if kind == "in_dataset" else "transfer_epochs"
                raise ConfigError(f"config key '{key}.epoch': {c['epoch']} but populations are "
                                  f"fine-tuned for generative.{what} = {epochs} epochs")
            for t in targets:
                cfg = zoos[t]
                if "import_from" not in cfg and c["reference_epoch"] > cfg["epochs"]:
                    raise ConfigError(
                        f"config key '{key}.reference_epoch': {c['reference_epoch']} but B_T "
                        f"(zoo {t!r}) is trained for {cfg['epochs']} epochs")
    ens = gen["ensembles"]
    if ens["populations"] is None:
        ens["populations"] = [p for p in ("S_KDE30", "B_KDE30") if p in gen["populations"]]
        ens["populations"].append("B_T")
    for i, name in enumerate(ens["populations"]):
        if name != "B_T" and name not in gen["populations"]:
            raise ConfigError(f"config key 'generative.ensembles.populations.{i}': {name!r} is "
                              f"not among generative.populations {gen['populations']}")
    match = gen.get("noise_match")
    if match and (match not in gen["populations"] or "N_noise" not in gen["populations"]):
        raise ConfigError(f"config key 'generative.noise_match': {match!r} needs both it and "
                          "N_noise in generative.populations")
    needs = {"B_KDE30": "baseline"}
    needs.update({p: "lwln" for p in gen["populations"] if p.startswith("S_")})
    if not gen["enabled"]:
        return
    for name in dict.fromkeys(s for s, _ in transfer_pairs(config)):
        ae = autoencoder_config(config, name)
        for pop in gen["populations"]:
            if pop in needs and needs[pop] not in ae["variants"]:
                raise ConfigError(f"config key 'generative.populations': {pop} needs the "
                                  f"{needs[pop]} autoencoder, which zoo {name!r} does not train")

"""The zoo formats the pipeline imports, in one place: the import rule's script, the config's
checks, ``hyperreps inspect`` and the schema's ``import_from.format`` all read :data:`FORMATS`.
Adding a format is one module with a :class:`~.source.ZooFormat` object, listed here."""

from __future__ import annotations

from pathlib import Path

from . import checkpoint_folder, raytune, small_cnn_zoo
from .errors import ZooImportError
from .source import ImportResult, ImportSource, ZooFormat

FORMATS: dict[str, ZooFormat] = {f.name: f for f in (
    raytune.FORMAT, small_cnn_zoo.FORMAT, checkpoint_folder.FORMAT)}
PLAIN_PATH_FORMAT = "raytune"  # import_from given as a plain path: the reference layout


def get_format(name: str) -> ZooFormat:
    if name not in FORMATS:
        raise ValueError(f"unknown zoo format {name!r}; choose from {', '.join(FORMATS)}")
    return FORMATS[name]


def resolve_import(zoo_cfg: dict) -> ImportSource | None:
    """A zoo's ``import_from`` with every default filled in as the import uses it (None for a
    zoo that is trained): a plain string is a folder in the reference Ray Tune layout; the
    architecture is the zoo's ``architecture``, else the format's default for the dataset; the
    activation the source's, else the format's default."""
    given = zoo_cfg.get("import_from")
    if given is None:
        return None
    if isinstance(given, str):
        given = {"path": given, "format": PLAIN_PATH_FORMAT}
    fmt = get_format(given["format"])
    dataset = zoo_cfg["dataset"]
    steps = given.get("steps")
    return ImportSource(
        format=fmt.name, path=str(given["path"]), dataset=dataset,
        architecture=zoo_cfg.get("architecture") or fmt.default_architecture(dataset),
        activation=fmt.default_activation(dataset, given.get("activation")),
        pattern=given.get("pattern"), where=dict(given.get("where") or {}),
        runs=given.get("runs"), steps=None if steps is None else tuple(steps),
        split_csv=given.get("split_csv"), skip_unsafe=bool(zoo_cfg.get("skip_unsafe", False)))


def detect_format(path: Path, pattern: str | None = None) -> ZooFormat | None:
    """The format of the zoo folder ``path`` from its file names (a pattern means a folder of
    checkpoints); None if no format recognises it."""
    if pattern:
        return FORMATS["checkpoints"]
    for fmt in FORMATS.values():
        if fmt.detect(Path(path)):
            return fmt
    return None


def import_zoo(source: ImportSource, data_settings=None, device="cpu") -> ImportResult:
    """The zoo ``source`` names, every file checked (:class:`ZooImportError` naming the bad
    one), with what its report says (skipped models, accuracy check, warnings)."""
    return get_format(source.format).load(source, data_settings, device)


def import_report(source: ImportSource, result: ImportResult) -> dict:
    """``zoos/<zoo>/import_report.json``: what was imported from where, and how it went."""
    zoo = result.zoo
    return {"imported_from": source.path, "format": source.format, "imported": zoo.n_models,
            "epochs": [int(e) for e in zoo.epochs],
            "diverged": int(zoo.models()["diverged"].sum()),
            "accuracy_check": result.accuracy_check, "skipped": result.skipped}


__all__ = ["FORMATS", "ImportResult", "ImportSource", "ZooFormat", "ZooImportError",
           "detect_format", "get_format", "import_report", "import_zoo", "resolve_import"]

"""What every zoo format offers the pipeline (:class:`ZooFormat`), and one import as the config
asks for it with every default filled in (:class:`ImportSource`).

A format is one module of this package with one :class:`ZooFormat` object, listed in
:mod:`.registry`. The import rule, the config checks, ``hyperreps inspect`` and the schema's
``import_from.format`` read the registry, so that they agree on every default: a fourth format
is one new module and its tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..architecture import zoo_cnn_name
from ..data import dataset_info


@dataclass(frozen=True)
class ImportSource:
    """A zoo's ``import_from``, resolved: the format and every default the import uses."""

    format: str
    path: str
    dataset: str
    architecture: str  # registered architecture of the models
    activation: str | None = None  # None: read from the zoo's own files
    pattern: str | None = None  # checkpoints: file names with {model} and {epoch}
    where: dict = field(default_factory=dict)  # small_cnn_zoo: row filter
    runs: int | None = None
    steps: tuple | None = None
    split_csv: str | None = None
    skip_unsafe: bool = False

    @property
    def folder(self) -> Path:
        return Path(self.path)


@dataclass
class ImportResult:
    """An imported zoo and what the import report says about it."""

    zoo: object  # hyperreps.zoo.Zoo
    skipped: list = field(default_factory=list)  # models left out, each with the reason
    accuracy_check: dict | None = None  # recorded against re-measured accuracy
    warnings: list = field(default_factory=list)  # for the job's log and the run's summary


class ZooFormat:
    """One zoo format. Subclasses set the class attributes and implement the methods."""

    name: str = ""  # the config's import_from.format
    label: str = ""  # what inspect calls it
    looks_like: str = ""  # the files that identify it, for messages
    needs_data: bool = False  # the import measures metrics on the zoo's dataset

    def default_architecture(self, dataset: str) -> str:
        """The models' architecture when the config names none: the dataset's."""
        info = dataset_info(dataset)
        return info.architecture or zoo_cnn_name(info.channels)

    def default_activation(self, dataset: str, given: str | None) -> str | None:
        """The models' activation: the config's, else None (the files say)."""
        return given

    def detect(self, path: Path) -> bool:
        """Whether the folder ``path`` holds a zoo of this format (names only, nothing read)."""
        raise NotImplementedError

    def check(self, source: ImportSource, key: str) -> tuple[list[str], list[int] | None, str]:
        """Before any job, cheaply (no weights loaded): problems (each naming ``key``), the
        epochs the import will have if known without reading the zoo, and how they are
        described in a message."""
        raise NotImplementedError

    def load(self, source: ImportSource, data_settings, device="cpu") -> ImportResult:
        """The zoo, every file checked; ``data_settings`` for the dataset where the format
        measures metrics on it."""
        raise NotImplementedError

    def summary(self, source: ImportSource, strict: bool = True) -> str:
        """What ``hyperreps inspect`` prints: the zoo's models, epochs, checks and spread.
        ``strict``: the architecture was named, so a zoo that does not fit it is refused;
        otherwise a format that can tell which architecture its files fit may say so."""
        raise NotImplementedError

"""Config files as written: YAML read strictly (a key given twice in one mapping is an error
naming it and both lines, where YAML loaders silently keep the last), and the run's name,
which becomes the folders results/<name>/ and logs/<name>/."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..untrusted_files import UntrustedFileError, read_text
from .schema import ConfigError, check_name


class _DuplicateKey(Exception):
    def __init__(self, key, line: int, first: int):
        super().__init__(key, line, first)
        self.key, self.line, self.first = key, line, first


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader refusing duplicate keys (merge keys ``<<`` excepted)."""


def _construct_mapping(loader, node, deep=False):
    seen: dict = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        ident = key if isinstance(key, (str, int, float, bool, type(None))) else repr(key)
        if ident in seen:
            raise _DuplicateKey(key, line, seen[ident])
        seen[ident] = line
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


CONFIG_FILE_LIMIT = 16 << 20  # bytes; a real config has 2-30 KB
YTE_KEY = "__use_yte__"


def read_config_file(path: str | Path) -> dict:
    """The mapping in YAML file ``path`` (a regular file of at most 16 MiB, UTF-8);
    ConfigError naming the file, and the key and its lines for a key given twice, for a file
    that is not YAML or not a mapping, nests too deep, holds an integer too long to convert, or
    asks Snakemake to evaluate it as a YTE template (``__use_yte__``)."""
    path = Path(path)
    try:
        text = read_text(path, CONFIG_FILE_LIMIT)
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader)
    except UntrustedFileError as e:
        raise ConfigError(f"config file {e}") from None
    except _DuplicateKey as e:
        raise ConfigError(f"{path}: line {e.line}: key {e.key!r} is given twice (first on "
                          f"line {e.first}); YAML would silently keep only the last") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({str(e)[:500]})") from None
    except RecursionError:
        raise ConfigError(f"{path}: nests too deep for the YAML reader (a config nests about "
                          "6 levels)") from None
    except (ValueError, OverflowError) as e:  # e.g. an integer of 5,000 digits
        raise ConfigError(f"{path}: holds a value that cannot be read "
                          f"({str(e).splitlines()[0][:200]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config is a mapping of keys, got {type(data).__name__}")
    if YTE_KEY in data:
        raise ConfigError(f"{path}: sets {YTE_KEY}, which makes Snakemake evaluate the file's "
                          "expressions as Python code (YTE) while it reads it, before any check "
                          "of ours; hyperreps configs are plain YAML. Remove the key, and treat "
                          "a config file from elsewhere as you would its code")
    return data


def run_name(config: dict, configfiles) -> str:
    """The run's name: the config's ``name:``, else the last config file's stem (a file named
    ``...yaml`` has the stem ``..``, which would write into the repository root), checked to
    be a safe folder name either way."""
    if config.get("name"):
        return check_name(config["name"], "name")
    if not configfiles:
        return "config"
    stem = Path(configfiles[-1]).stem
    try:
        return check_name(stem, "name")
    except ConfigError:
        raise ConfigError(f"config key 'name': the run is named after the config file "
                          f"{Path(configfiles[-1]).name!r}, whose stem {stem!r} is not a safe "
                          "folder name (letters, digits, '_' and '-'); set name: in the "
                          "config or rename the file") from None

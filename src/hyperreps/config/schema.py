"""The configuration's JSON schema (``src/hyperreps/config.schema.yaml``, linked from
``config/schema.yaml``): loading it, and validating a config against it with the schema's
defaults filled in. Checks that relate several keys are in :mod:`hyperreps.config.checks`."""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path

import jsonschema
import yaml

# package data of hyperreps, beside this package; config/schema.yaml links here
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "config.schema.yaml"


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the key."""


# One pattern for every name that becomes a folder (the run's name, zoo names): letters,
# digits, '_' and '-', starting with a letter or digit. Checked with fullmatch: JSON Schema's
# `pattern` is searched with Python's re, whose `$` also matches before a trailing newline.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def check_name(value: str, key: str) -> str:
    """``value`` if it is a safe name (:data:`SAFE_NAME`, at most 64 characters), else a
    ConfigError naming ``key``."""
    if not isinstance(value, str) or len(value) > 64 or not SAFE_NAME.fullmatch(value):
        raise ConfigError(f"config key {key!r}: {value!r} is not a name (letters, digits, '_' "
                          "and '-', starting with a letter or digit, at most 64 characters)")
    return value


# A real config holds a few hundred to two thousand values; YAML aliases can make a small file
# expand to billions (each alias is a shared reference, so it loads small, but every walk over
# it, ours and jsonschema's, visits each expanded value).
MAX_CONFIG_VALUES = 100_000


def expanded_size(node, limit: int = MAX_CONFIG_VALUES) -> int:
    """The number of values (leaves and containers) ``node`` has once its shared parts are
    expanded, counted up to just past ``limit``; the cost is that of the distinct objects,
    not of the expansion (each container's size is computed once)."""
    sizes: dict[int, int] = {}
    entered: set[int] = set()
    stack = [(node, False)]
    while stack:
        item, children_done = stack.pop()
        if not isinstance(item, (dict, list)) or id(item) in sizes:
            continue
        children = list(item.values()) if isinstance(item, dict) else item
        if not children_done:
            if id(item) in entered:  # a container inside itself (a recursive alias)
                return limit + 1
            entered.add(id(item))
        else:
            total = 1
            for c in children:
                total += sizes.get(id(c), 1) if isinstance(c, (dict, list)) else 1
                if total > limit:
                    break
            sizes[id(item)] = min(total, limit + 1)
            continue
        stack.append((item, True))
        stack.extend((c, False) for c in children if isinstance(c, (dict, list)))
    return sizes.get(id(node), 1)


def _check_expansion(config: dict) -> None:
    """Refuse a config that expands past :data:`MAX_CONFIG_VALUES` values, naming the
    largest top-level key."""
    if expanded_size(config) <= MAX_CONFIG_VALUES:
        return
    largest = max(config, key=lambda k: expanded_size(config[k]), default="(top level)")
    raise ConfigError(f"config key {str(largest)[:60]!r}: the config expands to more than "
                      f"{MAX_CONFIG_VALUES:,} values (YAML anchors and aliases repeat shared "
                      "parts; a real config has a few thousand at most)")


MAX_CONFIG_DEPTH = 32  # a real config nests 6 deep


def _check_depth(config: dict) -> None:
    """Refuse nesting deeper than :data:`MAX_CONFIG_DEPTH`, naming the key (iterative: the
    expansion is already bounded)."""
    stack = [(config, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_CONFIG_DEPTH:
            key = ".".join(str(k)[:20] for k in path[:6])
            raise ConfigError(f"config key '{key}...': nests more than {MAX_CONFIG_DEPTH} "
                              "levels deep (a real config nests 6)")
        items = (node.items() if isinstance(node, dict)
                 else enumerate(node) if isinstance(node, list) else ())
        stack.extend((v, (*path, k)) for k, v in items)


def _listed(names, at_most: int = 10) -> str:
    """``names`` for a message: the first ``at_most``, and how many more."""
    names = sorted(map(str, names))
    shown = ", ".join(repr(n[:60]) for n in names[:at_most])
    return shown + (f" and {len(names) - at_most:,} more" if len(names) > at_most else "")


def _non_finite(node, path: tuple = ()):
    """The path of the first NaN or infinite number in a config, else None (YAML's .nan and
    .inf load as floats, and every schema bound compares false with NaN)."""
    if isinstance(node, float) and not math.isfinite(node):
        return path
    items = (node.items() if isinstance(node, dict)
             else enumerate(node) if isinstance(node, list) else ())
    for k, v in items:
        found = _non_finite(v, (*path, k))
        if found is not None:
            return found
    return None


def _is_integer(checker, instance) -> bool:
    """JSON Schema counts 3.0 as an integer; the workflow would compute with a float, so
    integers must be written as integers."""
    return isinstance(instance, int) and not isinstance(instance, bool)


def _ordered(validator, mode, instance, schema):
    """``x-ordered: increasing`` (a grid) or ``nondecreasing`` (a [min, max] range)."""
    if not isinstance(instance, list):
        return
    for a, b in zip(instance, instance[1:]):
        if (b <= a) if mode == "increasing" else (b < a):
            yield jsonschema.ValidationError(
                f"{instance} must be in {'increasing' if mode == 'increasing' else 'ascending'}"
                f" order ({b} after {a})")
            return


def _with_defaults(validator_class):
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if "default" in sub and key not in instance:
                    instance[key] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(
        validator_class, {"properties": set_defaults, "x-ordered": _ordered},
        type_checker=validator_class.TYPE_CHECKER.redefine("integer", _is_integer))


def _without_defaults(schema):
    if isinstance(schema, dict):
        return {k: _without_defaults(v) for k, v in schema.items() if k != "default"}
    if isinstance(schema, list):
        return [_without_defaults(v) for v in schema]
    return schema


def load_schema(path: Path | None = None) -> dict:
    """The schema; a zoo's ``autoencoder`` block takes the top-level block's keys, without
    defaults (absent keys fall back to the top level, see
    :func:`hyperreps.config.queries.autoencoder_config`), and ``import_from.format`` is one of
    the registered zoo formats (:data:`hyperreps.importers.registry.FORMATS`)."""
    from ..importers.registry import FORMATS

    schema = yaml.safe_load(Path(path or SCHEMA_PATH).read_text())
    zoo = schema.get("$defs", {}).get("zoo", {}).get("properties", {})
    for branch in zoo.get("import_from", {}).get("oneOf", []):
        if "format" in branch.get("properties", {}):
            branch["properties"]["format"]["enum"] = list(FORMATS)
    zoo_ae = schema["$defs"]["zoo"]["properties"].get("autoencoder")
    if zoo_ae is not None and "autoencoder" in schema["properties"]:
        zoo_ae.update(_without_defaults(schema["properties"]["autoencoder"]),
                      description=zoo_ae.get("description", ""))
    return schema


def validate_schema(config: dict, schema: dict | None = None) -> dict:
    """Validate ``config`` in place against the schema alone and fill in its defaults; return
    it. Raises :class:`ConfigError` naming the offending key (e.g. ``zoos.demo.epochs``)."""
    schema = schema or load_schema()
    if not isinstance(config, dict):
        raise ConfigError(f"a config is a mapping of keys, got {type(config).__name__}")
    _check_expansion(config)
    _check_depth(config)
    bad = _non_finite(config)
    if bad is not None:
        key = ".".join(map(str, bad))
        raise ConfigError(f"config key {key!r}: {_at(config, bad)} is not a finite number")
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
    for _ in range(2):  # defaults may create objects that get their own defaults
        errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
        if errors:
            e = jsonschema.exceptions.best_match(errors)
            key = ".".join(str(p) for p in e.absolute_path) or "(top level)"
            if e.validator == "additionalProperties":
                extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))
                raise ConfigError(f"config key {key!r}: unknown key(s) {_listed(extra)}")
            if (e.validator == "type" and isinstance(e.instance, float)
                    and e.instance.is_integer() and "integer" in str(e.validator_value)):
                raise ConfigError(f"config key {key!r}: {e.instance!r} is not an integer "
                                  f"(write {int(e.instance)})")
            if e.validator == "contains" and "x-because" in e.schema:
                raise ConfigError(f"config key {key!r}: {e.schema['x-because']}")
            raise ConfigError(f"config key {key!r}: {e.message}")
    return config


def _at(config, path):
    for k in path:
        config = config[k]
    return config

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
    :func:`hyperreps.config.queries.autoencoder_config`)."""
    schema = yaml.safe_load(Path(path or SCHEMA_PATH).read_text())
    zoo_ae = schema["$defs"]["zoo"]["properties"].get("autoencoder")
    if zoo_ae is not None and "autoencoder" in schema["properties"]:
        zoo_ae.update(_without_defaults(schema["properties"]["autoencoder"]),
                      description=zoo_ae.get("description", ""))
    return schema


def validate_schema(config: dict, schema: dict | None = None) -> dict:
    """Validate ``config`` in place against the schema alone and fill in its defaults; return
    it. Raises :class:`ConfigError` naming the offending key (e.g. ``zoos.demo.epochs``)."""
    schema = schema or load_schema()
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
                raise ConfigError(f"config key {key!r}: unknown key(s) {extra}")
            if (e.validator == "type" and isinstance(e.instance, float)
                    and e.instance.is_integer() and "integer" in str(e.validator_value)):
                raise ConfigError(f"config key {key!r}: {e.instance!r} is not an integer "
                                  f"(write {int(e.instance)})")
            raise ConfigError(f"config key {key!r}: {e.message}")
    return config


def _at(config, path):
    for k in path:
        config = config[k]
    return config

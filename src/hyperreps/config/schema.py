"""The configuration's JSON schema (``src/hyperreps/config.schema.yaml``, linked from
``config/schema.yaml``): loading it, and validating a config against it with the schema's
defaults filled in. Checks that relate several keys are in :mod:`hyperreps.config.checks`."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import yaml

# package data of hyperreps, beside this package; config/schema.yaml links here
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "config.schema.yaml"


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the key."""


def _with_defaults(validator_class):
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if "default" in sub and key not in instance:
                    instance[key] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


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
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
    for _ in range(2):  # defaults may create objects that get their own defaults
        errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
        if errors:
            e = jsonschema.exceptions.best_match(errors)
            key = ".".join(str(p) for p in e.absolute_path) or "(top level)"
            if e.validator == "additionalProperties":
                extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))
                raise ConfigError(f"config key {key!r}: unknown key(s) {extra}")
            raise ConfigError(f"config key {key!r}: {e.message}")
    return config

"""JSON from untrusted files, parsed with bounds: at most :data:`MAX_DEPTH` levels of nesting,
integers of at most :data:`MAX_DIGITS` digits, numbers of at most :data:`MAX_NUMBER_CHARS`
characters and within the float range, no key given twice, and NaN/Infinity only where the
caller allows them (Python's json writes a diverged run's loss as NaN). One parser for zoo
manifests and safetensors headers (:mod:`hyperreps.zoo_checks`) and the Ray Tune files
(:mod:`hyperreps.importers.raytune`); each caller turns :class:`UntrustedJSONError` into its own
error naming the file."""

from __future__ import annotations

import json
import math

MAX_DEPTH = 32  # a manifest nests 4 to 6 deep, a Ray Tune result line 3
MAX_DIGITS = 20  # the digits of an integer: 2**64 has 20, an int64 seed 19
MAX_NUMBER_CHARS = 64  # the characters of a decimal number


class UntrustedJSONError(ValueError):
    """What the bounded parser refuses, said in words (no file name: the caller adds it)."""


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise UntrustedJSONError(f"holds an integer of {digits} digits (at most {MAX_DIGITS})")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise UntrustedJSONError(f"holds a number of {len(text)} characters (at most "
                                 f"{MAX_NUMBER_CHARS})")
    value = float(text)
    if not math.isfinite(value):
        raise UntrustedJSONError(f"holds the number {text!r}, beyond the float range")
    return value


def _refuse_constant(name: str):
    raise UntrustedJSONError(f"holds {name}, which is not JSON")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise UntrustedJSONError(f"holds the key {twice[:40]!r} given twice")
    return out


def _depth(value) -> int:
    """How deep ``value`` (parsed JSON) nests, counted up to just past MAX_DEPTH."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            deepest = max(deepest, d)
            if deepest > MAX_DEPTH:
                break
            stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return deepest


def loads_bounded(data: bytes, allow_nan: bool = False) -> object:
    """``data`` (UTF-8 JSON) parsed within the module's bounds; :class:`UntrustedJSONError`
    saying what is wrong otherwise. ``allow_nan`` reads NaN, Infinity and -Infinity as floats."""
    hooks = {} if allow_nan else {"parse_constant": _refuse_constant}
    try:
        value = json.loads(data.decode("utf-8"), parse_int=_parse_int,
                           parse_float=_parse_float, object_pairs_hook=_unique_keys, **hooks)
    except UnicodeDecodeError as e:
        raise UntrustedJSONError(f"is not UTF-8 text ({e.reason} at byte {e.start})") from None
    except RecursionError:
        raise UntrustedJSONError(f"nests more than {MAX_DEPTH} deep") from None
    except UntrustedJSONError:
        raise
    except ValueError as e:  # json.JSONDecodeError and anything else the parser refuses
        raise UntrustedJSONError(f"is not valid JSON ({e})") from None
    if _depth(value) > MAX_DEPTH:
        raise UntrustedJSONError(f"nests more than {MAX_DEPTH} deep")
    return value

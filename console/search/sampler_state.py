"""The sampler state a trial carries across a resume: the Optuna system attributes CMA-ES and
NSGA-II keep on each trial, as the strings a checkpoint row holds, validated strictly.

What Optuna 5.1 writes (optuna/samplers/_cmaes.py, _ga/_base.py):

- CMA-ES, on the trial asked when a generation is complete: ``cma:optimizer:0..n`` (or
  ``cmawm:`` with integer parameters), the pickled optimizer as hex in chunks of at most 2045
  characters; on every trial it proposes: ``cma:generation`` (an int), and with margin
  ``x_for_tell`` (the point in the optimizer's own coordinates, a list of floats).
- NSGA-II, on every trial: ``NSGAIISampler:generation`` (an int). Its parent cache is a *study*
  attribute of storage trial ids: the public API cannot set it, and NSGA-II rebuilds it from the
  restored generations (elite selection is deterministic).

Only these keys are kept. Values are strings: an int in decimal, a list as JSON, a chunk as hex.
The optimizer is a pickle, so a checkpoint could smuggle code into it: before it reaches
Optuna's own ``pickle.loads`` it must unpickle here with nothing but CMA-ES's classes and numpy's
array constructors (the "restricting globals" recipe of the pickle docs).
"""

from __future__ import annotations

import io
import json
import math
import pickle
import re
from collections.abc import Mapping
from typing import Any

_GENERATION = re.compile(r"(cma|cmawm):generation|NSGAIISampler:generation")
_CHUNK = re.compile(r"(cma|cmawm):optimizer:([0-9]{1,4})")
_NUMBER = re.compile(r"[0-9]{1,9}")
X_FOR_TELL = "x_for_tell"
_HEX = re.compile(r"[0-9a-f]+")
MAX_KEYS = 256
MAX_VALUE_CHARS = 4096  # Optuna's chunks are 2045; x_for_tell is one float per parameter
MAX_TOTAL_CHARS = 512 * 1024  # a CMA-ES of ~100 parameters; bigger states are not saved
_OPTIMIZERS = {("cmaes._cma", "CMA"), ("cmaes._cmawm", "CMAwM")}
# The only globals a CMA-ES optimizer's pickle may name (numpy 2 and 1 spellings).
_PICKLE_GLOBALS = {
    *_OPTIMIZERS,
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    *((module, name) for module in ("numpy._core.multiarray", "numpy.core.multiarray")
      for name in ("_reconstruct", "scalar")),
}  # fmt: skip


class SamplerStateError(ValueError):
    """A trial's saved sampler state is unusable; the message says why."""


def encode(system_attrs: Mapping[str, Any]) -> dict[str, str]:
    """The saved form of an Optuna trial's system attributes: the keys above, as strings; {}
    when the state breaks a limit (the sampler then restarts from the trials, as before)."""
    saved: dict[str, str] = {}
    for key, value in system_attrs.items():
        if _GENERATION.fullmatch(key) or _CHUNK.fullmatch(key):
            saved[key] = str(value)
        elif key == X_FOR_TELL:
            saved[key] = json.dumps(value)
    try:
        check(saved)
    except SamplerStateError:
        return {}
    return saved


def check(saved: Any) -> dict[str, str]:
    """`saved` if it is a valid saved state (the form `encode` writes), else SamplerStateError."""
    if not isinstance(saved, dict):
        raise SamplerStateError("must be a table of strings")
    if len(saved) > MAX_KEYS:
        raise SamplerStateError(f"has {len(saved)} keys (at most {MAX_KEYS})")
    total = 0
    for key, value in saved.items():
        if not isinstance(value, str) or len(value) > MAX_VALUE_CHARS:
            raise SamplerStateError(f"{key}: must be a string of at most {MAX_VALUE_CHARS} chars")
        total += len(value)
        decode_one(key, value)
    if total > MAX_TOTAL_CHARS:
        raise SamplerStateError(f"holds {total} characters (at most {MAX_TOTAL_CHARS})")
    optimizer = _optimizer_hex(saved)
    if optimizer:
        _check_pickle(bytes.fromhex(optimizer))
    return dict(saved)


def decode(saved: Mapping[str, str]) -> dict[str, Any]:
    """A checked saved state as Optuna system attributes (for create_trial)."""
    return {key: decode_one(key, value) for key, value in saved.items()}


def decode_one(key: str, value: str) -> Any:
    if _GENERATION.fullmatch(key):
        if not _NUMBER.fullmatch(value):
            raise SamplerStateError(f"{key}: expected a generation number, got {value[:20]!r}")
        return int(value)
    if _CHUNK.fullmatch(key):
        if not _HEX.fullmatch(value):
            raise SamplerStateError(f"{key}: expected hexadecimal digits")
        return value
    if key == X_FOR_TELL:
        try:
            point = json.loads(value)
        except ValueError:
            point = None
        if not isinstance(point, list) or not all(_is_number(x) for x in point):
            raise SamplerStateError(f"{key}: expected a JSON array of finite numbers")
        return point
    raise SamplerStateError(f"unknown key {key[:60]!r}")


def portable(saved: Mapping[str, str]) -> dict[str, str]:
    """What stays valid when the space changes (an extended search): NSGA-II's generations.
    CMA-ES's optimizer lives in coordinates scaled to the old ranges: dropped, it restarts."""
    return {key: value for key, value in saved.items() if key.startswith("NSGAIISampler:")}


def _optimizer_hex(saved: Mapping[str, str]) -> str:
    """The chunks joined in order; SamplerStateError if one is missing (a torn state)."""
    chunks: dict[tuple[str, int], str] = {}
    for key, value in saved.items():
        match = _CHUNK.fullmatch(key)
        if match:
            chunks[(match[1], int(match[2]))] = value
    prefixes = {prefix for prefix, _ in chunks}
    if len(prefixes) > 1:
        raise SamplerStateError("optimizer chunks of two kinds of CMA-ES")
    if sorted(index for _, index in chunks) != list(range(len(chunks))):
        raise SamplerStateError("optimizer chunks are not numbered 0, 1, 2...")
    text = "".join(chunks[key] for key in sorted(chunks, key=lambda k: k[1]))
    if len(text) % 2:
        raise SamplerStateError("optimizer: an odd number of hexadecimal digits")
    return text


class _CmaUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _PICKLE_GLOBALS:
            raise SamplerStateError(f"optimizer: refers to {module}.{name}, not a CMA-ES class")
        return super().find_class(module, name)


def _check_pickle(data: bytes) -> None:
    try:
        optimizer = _CmaUnpickler(io.BytesIO(data)).load()
    except SamplerStateError:
        raise
    except Exception as exc:  # any malformed pickle: ours to refuse, never to crash on
        raise SamplerStateError(f"optimizer: not a CMA-ES state ({type(exc).__name__})") from None
    kind = type(optimizer)
    if (kind.__module__, kind.__name__) not in _OPTIMIZERS:
        raise SamplerStateError(f"optimizer: a {kind.__name__}, not a CMA-ES optimizer")
    try:  # its public face only: a state whose basics are off would fail in the next ask
        mean, dim = optimizer.mean, optimizer.dim
        sane = mean.shape == (dim,) and bool(math.isfinite(mean.sum()))
        sane = sane and optimizer.generation >= 0 and optimizer.population_size >= 2
    except Exception:
        sane = False
    if not sane:
        raise SamplerStateError("optimizer: an inconsistent CMA-ES state (mean, dimension)")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)

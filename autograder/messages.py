"""Student-facing messages: templates live in messages.toml, filled here."""
from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

_TEMPLATES: dict[str, str] = tomllib.loads(Path(__file__).with_name("messages.toml").read_text(encoding="utf-8"))


def say(key: str, **fields: Any) -> str:
    """Fill the template ``key``; numbers are rounded to 4 significant digits."""
    template = _TEMPLATES[key]
    return template.format(**{k: fmt(v) for k, v in fields.items()})


def fmt(value: Any) -> Any:
    """Round numbers (and numbers inside tuples, lists, dicts and arrays) for display."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = f"{value:.4g}"
        return "0" if text == "-0" else text
    if isinstance(value, np.ndarray):
        if value.size > 12:
            return f"array of shape {tuple(value.shape)}"
        return fmt(value.tolist())
    if isinstance(value, tuple):
        return "(" + ", ".join(str(fmt(v)) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(str(fmt(v)) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}={fmt(v)}" for k, v in value.items())
    return value


def keys() -> list[str]:
    return sorted(_TEMPLATES)

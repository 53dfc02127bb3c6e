"""Gradescope's results.json schema and a small validator for the subset of JSON Schema it
uses (no dependency)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

SCHEMA_PATH = Path(__file__).with_name("gradescope_results.schema.json")


def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def validate(instance: Any, schema: dict | None = None) -> list[str]:
    """Errors of ``instance`` against the JSON Schema subset used by the results schema ([] if valid)."""
    root = schema if schema is not None else load_schema()
    errors: list[str] = []

    def resolve(node: dict) -> dict:
        seen = 0
        while "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"unsupported $ref {ref}")
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part]
            node = target
            seen += 1
            if seen > 20:
                raise ValueError("$ref loop")
        return node

    def check(value: Any, node: dict, path: str) -> list[str]:
        node = resolve(node)
        errs: list[str] = []
        kinds = node.get("type")
        if kinds is not None:
            kinds = [kinds] if isinstance(kinds, str) else kinds
            if not any(_TYPES[k](value) for k in kinds):
                return [f"{path}: expected {'/'.join(kinds)}, got {type(value).__name__}"]
        if "enum" in node and value not in node["enum"]:
            errs.append(f"{path}: {value!r} is not one of {node['enum']}")
        if "const" in node and value != node["const"]:
            errs.append(f"{path}: must be {node['const']!r}")
        if _TYPES["number"](value):
            if "minimum" in node and value < node["minimum"]:
                errs.append(f"{path}: {value} < minimum {node['minimum']}")
            if "maximum" in node and value > node["maximum"]:
                errs.append(f"{path}: {value} > maximum {node['maximum']}")
            if isinstance(value, float) and value != value:
                errs.append(f"{path}: NaN")
        if isinstance(value, str):
            if "maxLength" in node and len(value) > node["maxLength"]:
                errs.append(f"{path}: longer than {node['maxLength']}")
            if "minLength" in node and len(value) < node["minLength"]:
                errs.append(f"{path}: shorter than {node['minLength']}")
            if "pattern" in node and not re.search(node["pattern"], value):
                errs.append(f"{path}: does not match {node['pattern']}")
        if isinstance(value, list):
            if "minItems" in node and len(value) < node["minItems"]:
                errs.append(f"{path}: fewer than {node['minItems']} items")
            if "items" in node:
                for i, item in enumerate(value):
                    errs += check(item, node["items"], f"{path}[{i}]")
        if isinstance(value, dict):
            for key in node.get("required", []):
                if key not in value:
                    errs.append(f"{path}: missing required key {key!r}")
            props = node.get("properties", {})
            extra = node.get("additionalProperties", True)
            for key, item in value.items():
                if key in props:
                    errs += check(item, props[key], f"{path}.{key}")
                elif extra is False:
                    errs.append(f"{path}: unexpected key {key!r}")
                elif isinstance(extra, dict):
                    errs += check(item, extra, f"{path}.{key}")
        if "anyOf" in node and not any(not check(value, sub, path) for sub in node["anyOf"]):
            errs.append(f"{path}: matches none of anyOf")
        if "allOf" in node:
            for sub in node["allOf"]:
                errs += check(value, sub, path)
        return errs

    errors = check(instance, root, "$")
    return errors

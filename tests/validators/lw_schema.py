"""Validates JSON documents against the JSON Schema files leakwatch ships.

Uses python3-jsonschema (Debian package, listed in scripts/deps.sh) when it
is importable; otherwise a small built-in validator for exactly the draft-07
keywords our schemas use (type, const, enum, required, properties,
additionalProperties, items, minItems, oneOf, anyOf, $ref to #/definitions,
pattern, minimum), so the checks never silently disappear.
"""
import json
import re

try:
    import jsonschema  # type: ignore
except ImportError:  # pragma: no cover - depends on the machine
    jsonschema = None

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _resolve(root, ref):
    if not ref.startswith("#/"):
        raise ValueError("only local $ref supported: " + ref)
    node = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _check(root, schema, value, path, errors):
    if schema is True or schema == {}:
        return
    if schema is False:
        errors.append(f"{path}: not allowed")
        return
    if "$ref" in schema:
        _check(root, _resolve(root, schema["$ref"]), value, path, errors)
        return
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[t](value) for t in types):
            errors.append(f"{path}: expected {'|'.join(types)}, got {type(value).__name__}")
            return
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: expected {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not one of {schema['enum']}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if TYPES["number"](value) and "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{path}: {value} < {schema['minimum']}")
    for key in ("oneOf", "anyOf"):
        if key in schema:
            ok = 0
            for sub in schema[key]:
                errs = []
                _check(root, sub, value, path, errs)
                ok += not errs
            if (key == "oneOf" and ok != 1) or (key == "anyOf" and ok == 0):
                errors.append(f"{path}: matches {ok} of the {key} alternatives")
    if isinstance(value, dict):
        for req in schema.get("required", []):
            if req not in value:
                errors.append(f"{path}: missing required key {req!r}")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                _check(root, props[k], v, f"{path}.{k}", errors)
            else:
                _check(root, extra, v, f"{path}.{k}", errors)
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{path}: fewer than {schema['minItems']} items")
        if "items" in schema:
            for i, v in enumerate(value):
                _check(root, schema["items"], v, f"{path}[{i}]", errors)


def validate(schema, doc):
    """Returns a list of error strings (empty when valid)."""
    if jsonschema is not None:
        v = jsonschema.Draft7Validator(schema)
        return [f"$.{'.'.join(str(p) for p in e.absolute_path)}: {e.message}"
                for e in v.iter_errors(doc)]
    errors = []
    _check(schema, schema, doc, "$", errors)
    return errors


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def engine():
    return "jsonschema " + getattr(jsonschema, "__name__", "") if jsonschema else "built-in subset"

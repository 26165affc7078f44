"""The field reference of docs/configuration.md, generated from the schema descriptions.

The schemas are what editors show and what validation enforces; generating the reference from them
keeps the three from drifting. ``python -m reconciler.config.docs`` prints the reference;
``--update FILE`` rewrites the part of FILE between the markers. A test fails when
docs/configuration.md is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reconciler.config.schema import SCHEMA_FILES, load_schemas

BEGIN_MARKER = "<!-- BEGIN GENERATED FIELD REFERENCE (python -m reconciler.config.docs --update docs/configuration.md) -->"
END_MARKER = "<!-- END GENERATED FIELD REFERENCE -->"


def _type_of(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    if "anyOf" in schema:
        return " or ".join(_type_of(branch) for branch in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        items = schema.get("items", {})
        return f"list of {_type_of(items) if items.get('type') != 'object' else 'objects'}"
    if kind == "object" and "secretRef" in schema.get("properties", {}):
        return "secret reference"
    return {"object": "mapping", "integer": "integer", "boolean": "boolean", "string": "string"}.get(kind, kind)


def _conditional_required(schema: dict[str, Any]) -> dict[str, list[str]]:
    """key -> conditions under which it is required (``type jwt_bearer``), from allOf/if/then."""
    found: dict[str, list[str]] = {}
    branches = list(schema.get("allOf", []))
    if "if" in schema:
        branches.append(schema)
    for branch in branches:
        condition = branch.get("if", {}).get("properties", {})
        if len(condition) != 1:
            continue
        (key, test), = condition.items()
        value = test.get("const", test.get("enum"))
        label = f"{key} {', '.join(value) if isinstance(value, list) else json.dumps(value).strip(chr(34))}"
        for name in branch.get("then", {}).get("required", []):
            found.setdefault(name, []).append(label)
        for name in branch.get("else", {}).get("required", []):
            found.setdefault(name, []).append(f"unless {label}")
    return found


def _rows(schema: dict[str, Any], prefix: str) -> Iterator[tuple[str, str, str, str, str]]:
    required = set(schema.get("required", []))
    conditional = _conditional_required(schema)
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        if key in required:
            need = "yes"
        elif key in conditional:
            need = "; ".join(c if c.startswith("unless") else f"with {c}" for c in conditional[key])
        else:
            need = ""
        default = f"`{json.dumps(sub['default'])}`" if "default" in sub else ""
        description = sub.get("description", "").replace("|", "\\|").replace("\n", " ")
        yield path, _type_of(sub), need, default, description
        if sub.get("type") == "object" and "secretRef" not in sub.get("properties", {}):
            yield from _rows(sub, f"{path}.")
        elif sub.get("type") == "array" and sub.get("items", {}).get("type") == "object":
            yield from _rows(sub["items"], f"{path}[].")


def field_reference() -> str:
    """Markdown tables, one per kind, of every field: type, when required, default, description."""
    schemas = load_schemas()
    parts = []
    for pair in SCHEMA_FILES:
        schema = schemas.inlined[pair]
        kind = pair[1]
        parts.append(f"### {kind}\n")
        parts.append(f"{schema['description']} Schema: `schemas/{SCHEMA_FILES[pair]}`.\n")
        parts.append("| Field | Type | Required | Default | Description |")
        parts.append("|---|---|---|---|---|")
        for path, kind_text, need, default, description in _rows(schema, ""):
            if path in ("apiVersion", "kind"):
                continue
            parts.append(f"| `{path}` | {kind_text} | {need} | {default} | {description} |")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def replace_generated(document: str, reference: str) -> str:
    """``document`` with the text between the markers replaced by ``reference``."""
    head, begin, rest = document.partition(BEGIN_MARKER)
    _, end, tail = rest.partition(END_MARKER)
    if not begin or not end:
        raise ValueError(f"the document lacks the markers {BEGIN_MARKER!r} ... {END_MARKER!r}")
    return f"{head}{BEGIN_MARKER}\n\n{reference}\n{END_MARKER}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reconciler.config.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--update", type=Path, metavar="FILE", help="rewrite the generated part of FILE in place")
    args = parser.parse_args(argv)
    reference = field_reference()
    if args.update is None:
        sys.stdout.write(reference)
    else:
        args.update.write_text(replace_generated(args.update.read_text(encoding="utf-8"), reference), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Edit resources of a configuration copy the way a person would: change a document, save the file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


def edit_resource(config_dir: Path, address: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
    """Rewrite the file that declares ``address`` with ``change`` applied to that document
    (``change`` returning None deletes the document). Comments of that file are lost."""
    kind, name = address.split("/", 1)
    for path in sorted(config_dir.rglob("*.y*ml")):
        documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
        for index, document in enumerate(documents):
            if document.get("kind") == kind and document.get("metadata", {}).get("name") == name:
                changed = change(document)
                documents[index:index + 1] = [] if changed is None else [changed]
                path.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")
                return
    raise LookupError(f"{address} is declared nowhere under {config_dir}")


def set_spec(path: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A change setting ``spec.<path>`` (dotted) to ``value``."""

    def change(document: dict[str, Any]) -> dict[str, Any]:
        node = document.setdefault("spec", {})
        *parents, leaf = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
        return document

    return change

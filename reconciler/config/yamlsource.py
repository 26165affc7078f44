"""YAML with positions: plain Python data plus the line and column of every key and value.

PyYAML's constructors throw positions away, so we compose the node tree (libyaml when available,
for speed on 50,000-user files) and build the data ourselves, recording for every JSON path the
position of the key that names it and of its value. A jsonschema error's ``absolute_path`` then
maps straight back to ``file:line:col``. Scalars keep SafeLoader (YAML 1.1) semantics on purpose:
the schema, not the parser, rejects ``direction: no`` read as ``false``, and for such scalars we
keep the source text so the message can say exactly what to quote.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler.config.diagnostics import Code, Diagnostic, Severity

JsonPath = tuple[str | int, ...]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = frozenset(
    "tag:yaml.org,2002:" + name for name in ("null", "bool", "int", "float", "timestamp", "binary")
)


@dataclass(frozen=True)
class Position:
    """A 1-based line and column."""

    line: int
    col: int


@dataclass
class SourceDocument:
    """One YAML document of one file: its data and where each part of it was written."""

    file: str
    start: Position
    data: Any = None
    # path -> (mark of the key naming the value, mark of the value); the root has no key. Raw
    # parser marks, turned into Positions only when asked: most documents are never asked.
    _marks: dict[JsonPath, tuple[Any, Any]] = field(default_factory=dict, repr=False)
    # path -> source text of scalars that YAML 1.1 turned into something other than a string.
    coerced: dict[JsonPath, str] = field(default_factory=dict, repr=False)

    def value_position(self, path: JsonPath) -> Position:
        """Where the value at ``path`` starts; the nearest written ancestor when it is absent."""
        for length in range(len(path), -1, -1):
            marks = self._marks.get(tuple(path[:length]))
            if marks is not None:
                return _position(marks[1])
        return self.start

    def key_position(self, path: JsonPath) -> Position:
        """Where the key naming ``path`` is written (falls back to the value's position)."""
        marks = self._marks.get(tuple(path))
        if marks is not None and marks[0] is not None:
            return _position(marks[0])
        return self.value_position(path)

    def has(self, path: JsonPath) -> bool:
        """Whether the document itself writes a value at ``path``."""
        return tuple(path) in self._marks

    def diagnostic(
        self, path: JsonPath, severity: Severity, code: str, message: str, *, at_key: bool = False
    ) -> Diagnostic:
        """A diagnostic pinned to the value at ``path`` (or to its key with ``at_key``)."""
        position = self.key_position(path) if at_key else self.value_position(path)
        return Diagnostic(self.file, position.line, position.col, severity, code, message)


def _position(mark: Any) -> Position:
    return Position(mark.line + 1, mark.column + 1)


class _Builder:
    """Turns one composed node tree into data, recording marks, duplicates and unsupported tags."""

    def __init__(self, loader: Any, document: SourceDocument) -> None:
        self.loader = loader
        self.document = document
        self.diagnostics: list[Diagnostic] = []
        self._active: set[int] = set()

    def error(self, mark: Any, code: str, message: str) -> None:
        position = _position(mark)
        self.diagnostics.append(Diagnostic(self.document.file, position.line, position.col, "error", code, message))

    def build(self, node: yaml.Node, path: JsonPath, key_mark: Any) -> Any:
        self.document._marks[path] = (key_mark, node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if id(node) in self._active:
            self.error(node.start_mark, Code.YAML_SYNTAX, "recursive alias: a node may not contain itself")
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != _SEQ:
                    self.error(node.start_mark, Code.YAML_SYNTAX, f"unsupported YAML tag {node.tag}; remove it")
                return [self.build(item, path + (index,), None) for index, item in enumerate(node.value)]
            if node.tag != _MAP:
                self.error(node.start_mark, Code.YAML_SYNTAX, f"unsupported YAML tag {node.tag}; remove it")
            return self._mapping(node, path)
        finally:
            self._active.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, path: JsonPath) -> Any:
        if node.tag == _STR:
            return node.value
        if node.tag not in _SCALAR_TAGS:
            self.error(node.start_mark, Code.YAML_SYNTAX, f"unsupported YAML tag {node.tag}; remove it")
            return node.value
        self.document.coerced[path] = node.value
        return self.loader.yaml_constructors[node.tag](self.loader, node)

    def _mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        explicit = [key for key, _ in node.value if key.tag != _MERGE]
        if len(explicit) != len(node.value):
            self.loader.flatten_mapping(node)  # YAML merge keys (<<: *anchor): explicit keys win
        result: dict[str, Any] = {}
        first_seen: dict[str, Any] = {}
        explicit_ids = {id(key) for key in explicit}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(key_node.start_mark, Code.YAML_SYNTAX, "a mapping key must be a plain scalar such as a name")
                continue
            # Keys are taken as written: `no:` is the key "no", never the boolean false.
            key = key_node.value
            if id(key_node) in explicit_ids:
                if key in first_seen:
                    where = ".".join(str(p) for p in path) or "the document"
                    self.error(
                        key_node.start_mark,
                        Code.DUPLICATE_KEY,
                        f"duplicate key '{key}' in {where} (first at line {first_seen[key].line + 1}); "
                        "YAML would silently keep only the last one: remove or merge one of them",
                    )
                first_seen[key] = key_node.start_mark
            result[key] = self.build(value_node, path + (key,), key_node.start_mark)
        return result


def parse_documents(text: str, file: str) -> tuple[list[SourceDocument], list[Diagnostic]]:
    """Every non-empty document of ``text`` with positions, and the problems met while reading.

    A syntax error stops the file there (YAML cannot resynchronise); the documents before it are
    still returned so their own problems are reported too.
    """
    documents: list[SourceDocument] = []
    diagnostics: list[Diagnostic] = []
    loader = _Loader(text)
    try:
        for node in _nodes(loader):
            document = SourceDocument(file=file, start=_position(node.start_mark))
            builder = _Builder(loader, document)
            document.data = builder.build(node, (), None)
            diagnostics.extend(builder.diagnostics)
            if document.data is not None:
                documents.append(document)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        position = _position(mark) if mark is not None else Position(1, 1)
        problem = error.problem or "invalid YAML"
        context = f" ({error.context})" if error.context else ""
        diagnostics.append(
            Diagnostic(file, position.line, position.col, "error", Code.YAML_SYNTAX, f"YAML syntax error: {problem}{context}")
        )
    except yaml.YAMLError as error:  # reader errors (e.g. control characters) carry no mark
        diagnostics.append(Diagnostic(file, 1, 1, "error", Code.YAML_SYNTAX, f"YAML syntax error: {error}"))
    finally:
        loader.dispose()
    return documents, diagnostics


def _nodes(loader: Any) -> Iterator[yaml.Node]:
    while loader.check_node():
        yield loader.get_node()

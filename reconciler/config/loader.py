"""``load_config``: from a directory (or one file) of YAML to a ConfigSet and every problem in it.

All problems are collected in one pass, never first-error-wins: a pipeline run should show the
admin everything to fix at once. A document with schema errors is left out of the ConfigSet but its
name still counts as declared, so one typo does not cascade into "unresolved reference" noise.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.config.checks import LoadedResource, cross_resource_diagnostics
from reconciler.config.diagnostics import Code, Diagnostic
from reconciler.config.model import KINDS, ConfigSet, build_resource
from reconciler.config.schema import SCHEMA_FILES, fill_defaults, schema_diagnostics, supported_kinds
from reconciler.config.yamlsource import SourceDocument, parse_documents

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadResult:
    """The valid part of the configuration and every diagnostic, sorted by file, line, column.

    Act on ``config`` only when ``ok``: with errors it holds just the documents that were valid.
    """

    config: ConfigSet
    diagnostics: tuple[Diagnostic, ...]
    files: tuple[str, ...]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


def discover_files(path: Path) -> list[Path]:
    """YAML files under ``path`` (or ``path`` itself), skipping hidden directories such as .git and
    .reconciler (state, sandbox data), in a stable order so diagnostics and "first" are stable."""
    if path.is_file():
        return [path]
    found = []
    for directory, subdirectories, files in os.walk(path):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        found.extend(Path(directory, f) for f in sorted(files) if f.endswith(YAML_SUFFIXES) and not f.startswith("."))
    return sorted(found, key=lambda p: p.relative_to(path).as_posix())


def _rebase_paths(value: Any, yaml_dir: Path, root: Path, key: str | None = None) -> None:
    """Rewrite secret and CA file paths from relative-to-their-YAML-file to relative-to-the-root.

    Normalised, they then mean the same file wherever the checkout lives, and the typed model
    turns them into absolute paths against the root.
    """
    if isinstance(value, dict):
        for child_key, child in value.items():
            is_path = (key == "secretRef" and child_key == "file") or child_key == "caFile"
            if is_path and isinstance(child, str) and not os.path.isabs(child):
                value[child_key] = Path(os.path.normpath(os.path.relpath(yaml_dir / child, root))).as_posix()
            else:
                _rebase_paths(child, yaml_dir, root, child_key)
    elif isinstance(value, list):
        for item in value:
            _rebase_paths(item, yaml_dir, root, key)


class _Loader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.root = path if path.is_dir() else path.parent
        self.resolved_root = self.root.resolve()
        self.diagnostics: list[Diagnostic] = []
        self.loaded: list[LoadedResource] = []
        self.normalized: dict[str, dict[str, Any]] = {}
        self.declared: dict[str, set[str]] = {kind: set() for kind in KINDS}
        self.first_declared: dict[str, str] = {}  # address -> "file:line"

    def documents(self, files: list[Path]) -> Iterator[tuple[SourceDocument, Path]]:
        """Every document with the directory of its file (where its relative paths start)."""
        for file in files:
            shown = str(file)
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
                self.diagnostics.append(Diagnostic(shown, 1, 1, "error", Code.FILE_UNREADABLE, f"cannot read file: {reason}"))
                continue
            documents, problems = parse_documents(text, shown)
            self.diagnostics.extend(problems)
            for document in documents:
                yield document, file.parent

    def add(self, document: SourceDocument, yaml_dir: Path) -> None:
        data = document.data
        if not isinstance(data, dict) or not {"apiVersion", "kind"} <= data.keys():
            self.diagnostics.append(
                document.diagnostic(
                    (),
                    "error",
                    Code.NOT_A_RESOURCE,
                    f"not a resource: each YAML document needs apiVersion, kind, metadata and spec ({supported_kinds()})",
                )
            )
            return
        api_version, kind = data["apiVersion"], data["kind"]
        if (api_version, kind) not in SCHEMA_FILES:
            self._unknown_kind(document, api_version, kind)
            return
        name = data.get("metadata", {}).get("name") if isinstance(data.get("metadata"), dict) else None
        problems = schema_diagnostics(document, api_version, kind)
        if isinstance(name, str):
            address = f"{kind}/{name}"
            if address in self.first_declared:
                self.diagnostics.append(
                    document.diagnostic(
                        ("metadata", "name"),
                        "error",
                        Code.DUPLICATE_NAME,
                        f"duplicate {kind} name '{name}': already declared at {self.first_declared[address]}; "
                        "names are unique per kind: rename or remove one",
                    )
                )
                self.diagnostics.extend(problems)
                return
            self.first_declared[address] = f"{document.file}:{document.start.line}"
            self.declared[kind].add(name)
        self.diagnostics.extend(problems)
        if problems:
            return
        # The document is ours and valid: it becomes the normalised form in place (50,000 users
        # would otherwise be copied for nothing). Its marks stay valid for the checks.
        normalized = data
        fill_defaults(normalized, api_version, kind)
        if kind == "Connection":  # the only kind with secret and CA file paths
            _rebase_paths(normalized, yaml_dir, self.root)
        resource = build_resource(normalized, self.resolved_root)
        self.normalized[resource.address] = normalized
        self.loaded.append(LoadedResource(resource, document))

    def _unknown_kind(self, document: SourceDocument, api_version: Any, kind: Any) -> None:
        known_versions = {v for v, _ in SCHEMA_FILES}
        if api_version not in known_versions:
            path, what = ("apiVersion",), f"unknown apiVersion {api_version!r}" if isinstance(api_version, str) else "apiVersion must be a string"
        else:
            path = ("kind",)
            what = f"unknown kind {kind!r}" if isinstance(kind, str) else "kind must be a string"
            if isinstance(kind, str):
                close = [k for v, k in SCHEMA_FILES if v == api_version and k.lower() == kind.lower()]
                what += f" (did you mean '{close[0]}'?)" if close else ""
        self.diagnostics.append(
            document.diagnostic(path, "error", Code.UNKNOWN_KIND, f"{what}; supported: {supported_kinds()}")
        )

    def run(self) -> LoadResult:
        if not self.path.exists():
            problem = Diagnostic(str(self.path), 1, 1, "error", Code.FILE_UNREADABLE, "no such file or directory")
            return LoadResult(ConfigSet.empty(), (problem,), ())
        files = discover_files(self.path)
        count = 0
        for document, yaml_dir in self.documents(files):
            count += 1
            self.add(document, yaml_dir)
        if not files or (count == 0 and not self.diagnostics):
            self.diagnostics.append(
                Diagnostic(str(self.path), 1, 1, "error", Code.NO_RESOURCES, "no resources found: expected *.yaml or *.yml files with reconciler/v1 resources")
            )
        config = ConfigSet(
            resources={e.resource.address: e.resource for e in sorted(self.loaded, key=lambda e: e.resource.address)},
            _normalized=dict(sorted(self.normalized.items())),
            _origins={e.resource.address: (e.document.file, e.document.start.line) for e in self.loaded},
        )
        self.diagnostics.extend(cross_resource_diagnostics(config, self.loaded, self.declared))
        return LoadResult(config, tuple(sorted(self.diagnostics)), tuple(str(f) for f in files))


@contextlib.contextmanager
def _garbage_collection_paused() -> Iterator[None]:
    """Loading allocates millions of small acyclic objects for a 50,000-user file; the cyclic
    collector would rescan the growing heap again and again (a third of the load time) to find
    nothing. Pause it for the load and restore the caller's setting."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_config(path: Path) -> LoadResult:
    """Load every resource under ``path`` (a directory, searched recursively, or one YAML file)."""
    with _garbage_collection_paused():
        return _Loader(Path(path)).run()

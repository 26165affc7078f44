"""The JSON Schemas: where they live, one compiled validator per kind, defaults, and readable errors.

The schemas in ``schemas/`` are the single source of truth for the YAML shape: editors show their
descriptions, the validator enforces them, :func:`fill_defaults` applies their defaults and the reference in
docs/configuration.md is generated from them. jsonschema's own messages echo values and speak in
schema terms; :func:`schema_diagnostics` turns each error into a message a Salesforce admin can act
on, pinned to the offending key or value, and never quotes anything under a secret reference.
"""

from __future__ import annotations

import copy
import datetime
import difflib
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from reconciler.config.diagnostics import Code, Diagnostic
from reconciler.config.yamlsource import JsonPath, SourceDocument

API_VERSION = "reconciler/v1"

#: (apiVersion, kind) -> schema file. The order is the order kinds are listed in messages.
SCHEMA_FILES: dict[tuple[str, str], str] = {
    (API_VERSION, "Connection"): "connection.v1.json",
    (API_VERSION, "Profile"): "profile.v1.json",
    (API_VERSION, "User"): "user.v1.json",
    (API_VERSION, "SyncConfiguration"): "syncconfiguration.v1.json",
}
COMMON_SCHEMA_FILE = "common.v1.json"
#: For editors only: dispatches on kind so one YAML file may mix kinds (the loader dispatches itself).
EDITOR_SCHEMA_FILE = "resource.v1.json"
SECRET_REF_TITLE = "Secret reference"


def schema_directory() -> Traversable:
    """The directory holding the schema files.

    A source checkout has them in ``<repo>/schemas`` (the layout editors' ``$schema`` comments
    point at); an installed wheel carries the same files as package data in ``reconciler/_schemas``.
    """
    checkout = Path(__file__).resolve().parents[2] / "schemas"
    if (checkout / COMMON_SCHEMA_FILE).is_file():
        return checkout
    installed = resources.files("reconciler") / "_schemas"
    if installed.joinpath(COMMON_SCHEMA_FILE).is_file():
        return installed
    raise FileNotFoundError(
        f"reconciler's JSON Schemas are missing: looked in {checkout} and in the installed package "
        "(reconciler/_schemas); reinstall reconciler"
    )


@dataclass(frozen=True)
class SchemaSet:
    """The schema files as written, and one self-contained (``$ref``-free) schema and compiled
    validator per kind.

    Inlining the references once is what makes 50,000 documents fast: resolving ``$ref`` through
    the registry on every instance costs more than all the rest of validation together.
    """

    files: Mapping[str, dict[str, Any]]
    registry: Registry
    inlined: Mapping[tuple[str, str], dict[str, Any]]
    validators: Mapping[tuple[str, str], Draft202012Validator]
    _conditions: dict[int, Draft202012Validator]

    def condition(self, schema: dict[str, Any]) -> Draft202012Validator:
        """A compiled validator of an ``if`` subschema of an inlined schema (cached per subschema)."""
        validator = self._conditions.get(id(schema))
        if validator is None:
            validator = self._conditions[id(schema)] = Draft202012Validator(schema)
        return validator


def _inline(schema: Any, base: str, registry: Registry) -> Any:
    """``schema`` with every ``$ref`` replaced by its target; siblings of a ``$ref`` (description,
    default, examples) override the target's. Our schemas have no recursive references."""
    if isinstance(schema, list):
        return [_inline(item, base, registry) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        resolved = registry.resolver(base_uri=base).lookup(schema["$ref"])
        target_base = schema["$ref"].split("#", 1)[0] or base
        target = _inline(resolved.contents, target_base, registry)
        siblings = {k: _inline(v, base, registry) for k, v in schema.items() if k != "$ref"}
        return {**target, **siblings}
    return {k: _inline(v, base, registry) for k, v in schema.items() if k != "$defs"}


@functools.cache
def load_schemas() -> SchemaSet:
    """Read, check and compile the schemas once per process."""
    directory = schema_directory()
    files = {
        name: json.loads(directory.joinpath(name).read_text(encoding="utf-8"))
        for name in [COMMON_SCHEMA_FILE, EDITOR_SCHEMA_FILE, *SCHEMA_FILES.values()]
    }
    for contents in files.values():
        Draft202012Validator.check_schema(contents)
    registry: Registry = Registry().with_resources(
        (name, Resource.from_contents(contents, default_specification=DRAFT202012)) for name, contents in files.items()
    ).crawl()
    inlined = {pair: _inline(files[name], name, registry) for pair, name in SCHEMA_FILES.items()}
    validators = {pair: Draft202012Validator(schema) for pair, schema in inlined.items()}
    return SchemaSet(files=files, registry=registry, inlined=inlined, validators=validators, _conditions={})


def supported_kinds() -> str:
    """``apiVersion reconciler/v1 with kind Connection, Profile, ...`` for error messages."""
    versions: dict[str, list[str]] = {}
    for version, kind in SCHEMA_FILES:
        versions.setdefault(version, []).append(kind)
    return "; ".join(f"apiVersion {v} with kind {', '.join(kinds)}" for v, kinds in versions.items())


# -- defaults -------------------------------------------------------------------------------------


def fill_defaults(instance: Any, api_version: str, kind: str) -> None:
    """Fill every schema default into a valid ``instance``, in place.

    Follows ``properties``, ``items``, ``additionalProperties`` and ``allOf``/``if``/``then``/
    ``else`` (defaults that only apply to one auth type live in that type's ``then``). A default
    that is an object is itself completed, so ``deletes: {}`` gains both per-direction policies.
    """
    schemas = load_schemas()
    _fill(schemas, schemas.inlined[(api_version, kind)], instance)


def _fill(schemas: SchemaSet, schema: Any, instance: Any) -> None:
    if not isinstance(schema, dict):
        return
    for branch in schema.get("allOf", ()):
        _fill(schemas, branch, instance)
    if "if" in schema:
        branch = schema.get("then") if schemas.condition(schema["if"]).is_valid(instance) else schema.get("else")
        _fill(schemas, branch, instance)
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        for key, subschema in properties.items():
            if not isinstance(subschema, dict):
                continue
            if key not in instance and "default" in subschema:
                instance[key] = copy.deepcopy(subschema["default"])
            if key in instance:
                _fill(schemas, subschema, instance[key])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in instance.keys() - properties.keys():
                _fill(schemas, extra, instance[key])
    elif isinstance(instance, list) and "items" in schema:
        for item in instance:
            _fill(schemas, schema["items"], item)


# -- errors ---------------------------------------------------------------------------------------


def describe_path(path: JsonPath) -> str:
    """``spec.contacts.fieldMappings[1].direction``: how people name a place in YAML."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the document"


def _under_secret(error: ValidationError) -> bool:
    if "secretRef" in error.absolute_path:
        return True
    return isinstance(error.schema, dict) and error.schema.get("title") == SECRET_REF_TITLE


def _type_name(value: Any) -> str:
    """What YAML made of a value, in words (never the value itself)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if value is None:
        return "empty (null)"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return "a date"
    return f"a {type(value).__name__}"


_EXPECTED = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "empty",
}


def _suggest(word: str, choices: list[str]) -> str | None:
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _discriminator(instance: Any) -> str:
    """The key/value whose conditional rule required or forbade a key, for the message."""
    if isinstance(instance, dict):
        for key in ("type", "operator", "selection", "autodiscover"):
            if key in instance and isinstance(instance[key], (str, bool)):
                value = str(instance[key]).lower() if isinstance(instance[key], bool) else instance[key]
                return f" with {key} {value!r}"
    return ""


class _Translator:
    """Turns jsonschema errors for one document into diagnostics."""

    def __init__(self, document: SourceDocument, schema: dict[str, Any]) -> None:
        self.document = document
        self.schema = schema  # the kind's inlined schema, to describe what a missing key is
        self.diagnostics: list[Diagnostic] = []
        self._seen: set[tuple[JsonPath, str]] = set()
        # (object path, key) an unknown key's "did you mean" already names: no separate "missing".
        self._suggested: set[tuple[JsonPath, str]] = set()

    def add(self, path: JsonPath, code: str, message: str, *, at_key: bool = False) -> None:
        if (path, message) in self._seen:
            return
        self._seen.add((path, message))
        self.diagnostics.append(self.document.diagnostic(path, "error", code, message, at_key=at_key))

    def translate(self, error: ValidationError) -> None:
        path: JsonPath = tuple(error.absolute_path)
        where = describe_path(path)
        instance = error.instance
        keyword = error.validator
        secret = _under_secret(error)
        if keyword == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            for key in instance:
                if key in error.schema.get("properties", {}):
                    continue
                hint = _suggest(key, allowed)
                fix = f"did you mean '{hint}'?" if hint else f"allowed keys: {', '.join(allowed)}"
                if hint:
                    self._suggested.add((path, hint))
                self.add(path + (key,), Code.UNKNOWN_KEY, f"unknown key '{key}' in {where}; {fix}", at_key=True)
        elif keyword == "required":
            conditional = "then" in error.relative_schema_path or "else" in error.relative_schema_path
            for key in error.validator_value:
                if key not in instance and (path, key) not in self._suggested:
                    because = _discriminator(instance) if conditional else ""
                    self.add(
                        path,
                        Code.MISSING_KEY,
                        f"missing required key '{key}' in {where}{because}{self._what(path + (key,))}",
                        at_key=True,
                    )
        elif keyword == "not" and error.validator_value == {}:  # {"not": {}}: this key is forbidden here
            parent = self._parent(path)
            because = _discriminator(parent) or " here"
            self.add(
                path,
                Code.KEY_NOT_ALLOWED,
                f"'{path[-1]}' is not used in {describe_path(path[:-1])}{because}; remove it",
                at_key=True,
            )
        elif keyword == "type" and secret and not isinstance(instance, dict) and "secretRef" not in path:
            self.add(
                path,
                Code.INLINE_SECRET,
                f"{where} must be a secret reference, not the secret itself: write "
                "{secretRef: {env: NAME}} or {secretRef: {file: PATH}} (and rotate the secret if it was "
                "ever committed)",
            )
        elif keyword == "anyOf" and self._matching_branch(error) is not None:
            # The value has the shape of one alternative (a list): report what is wrong inside it.
            index = self._matching_branch(error)
            for sub in error.context:
                if sub.relative_schema_path and sub.relative_schema_path[0] == index:
                    self.translate(sub)
        elif keyword in ("type", "anyOf") and path in self.document.coerced and not secret:
            text = self.document.coerced[path]
            self.add(
                path,
                Code.YAML_COERCION,
                f"{where} must be a string, but YAML reads {text} as {_type_name(instance)}; quote it: '{text}'",
            )
        elif keyword == "type":
            expected = error.validator_value
            names = [expected] if isinstance(expected, str) else list(expected)
            wanted = " or ".join(_EXPECTED.get(n, n) for n in names)
            self.add(path, Code.WRONG_TYPE, f"{where} must be {wanted}, not {_type_name(instance)}")
        elif keyword == "anyOf":
            self.add(path, Code.WRONG_TYPE, f"{where} must be {self._any_of(error)}, not {_type_name(instance)}")
        elif keyword in ("enum", "const"):
            allowed = error.validator_value if keyword == "enum" else [error.validator_value]
            if secret:
                self.add(path, Code.INVALID_VALUE, f"{where} has an invalid value")
                return
            choices = ", ".join(str(a) for a in allowed)
            hint = _suggest(instance, [str(a) for a in allowed]) if isinstance(instance, str) else None
            fix = f"; did you mean '{hint}'?" if hint else ""
            shown = f"'{instance}'" if isinstance(instance, str) else _type_name(instance)
            self.add(path, Code.INVALID_VALUE, f"{where}: {shown} is not allowed; use one of: {choices}{fix}")
        elif keyword == "oneOf" and self._one_of_keys(error):
            keys = self._one_of_keys(error)
            present = [k for k in keys if isinstance(instance, dict) and k in instance]
            listed = " or ".join(f"'{k}'" for k in keys)
            if present:
                message = f"{where} has both {' and '.join(repr(k) for k in present)}; keep exactly one of {listed}"
            else:
                message = f"{where} needs exactly one of {listed}"
            self.add(path, Code.ONE_OF, message, at_key=bool(path))
        elif secret:
            self.add(path, Code.INVALID_VALUE, f"{where} is not a valid secret reference: use {{env: NAME}} or {{file: PATH}}")
        else:
            self.add(path, Code.INVALID_VALUE, self._constraint(error, where))

    def _what(self, path: JsonPath) -> str:
        """How to fill in the key at ``path``: the secret reference syntax, or its description."""
        schema: Any = self.schema
        for part in path:
            if not isinstance(schema, dict):
                return ""
            schema = schema.get("items") if isinstance(part, int) else schema.get("properties", {}).get(part)
        if not isinstance(schema, dict):
            return ""
        if schema.get("title") == SECRET_REF_TITLE:
            return f"; add {path[-1]}: {{secretRef: {{env: NAME}}}} or {{secretRef: {{file: PATH}}}}"
        description = schema.get("description", "")
        return f" ({description.rstrip('.')})" if description else ""

    def _parent(self, path: JsonPath) -> Any:
        value = self.document.data
        for part in path[:-1]:
            value = value[part]
        return value

    @staticmethod
    def _matching_branch(error: ValidationError) -> int | None:
        shape = {list: "array", dict: "object", str: "string"}.get(type(error.instance))
        for index, branch in enumerate(error.validator_value):
            if isinstance(branch, dict) and shape is not None and branch.get("type") == shape:
                return index
        return None

    @staticmethod
    def _one_of_keys(error: ValidationError) -> list[str]:
        keys = []
        for branch in error.validator_value:
            if not (isinstance(branch, dict) and set(branch) == {"required"} and len(branch["required"]) == 1):
                return []
            keys.append(branch["required"][0])
        return keys

    @staticmethod
    def _any_of(error: ValidationError) -> str:
        names = []
        for branch in error.validator_value:
            kind = branch.get("type", "value") if isinstance(branch, dict) else "value"
            names.append("a list of strings" if kind == "array" else _EXPECTED.get(kind, kind))
        return " or ".join(names)

    @staticmethod
    def _constraint(error: ValidationError, where: str) -> str:
        keyword, limit, instance = error.validator, error.validator_value, error.instance
        schema = error.schema if isinstance(error.schema, dict) else {}
        if keyword == "pattern":
            example = schema.get("examples", [None])[0]
            description = schema.get("description", "").rstrip(".")
            hint = f" (e.g. '{example}')" if example else ""
            return f"{where}: '{instance}' is not valid. Expected: {description}{hint}"
        if keyword == "minimum":
            return f"{where} must be at least {limit}"
        if keyword == "maximum":
            return f"{where} must be at most {limit}"
        if keyword == "minItems":
            return f"{where} needs at least {limit} item{'s' if limit != 1 else ''}"
        if keyword == "minLength":
            return f"{where} must not be empty"
        if keyword == "maxLength":
            return f"{where} is longer than {limit} characters"
        if keyword == "uniqueItems":
            seen: list[Any] = []
            duplicates = [item for item in instance if item in seen or seen.append(item)]
            return f"{where} lists {duplicates[0]!r} more than once; remove the repeat"
        if keyword == "propertyNames":
            return f"{where} has a key that is not a valid label name: letters, digits, '-', '_', '.', '/'"
        return f"{where} is invalid ({keyword} {limit!r})"


def schema_diagnostics(document: SourceDocument, api_version: str, kind: str) -> list[Diagnostic]:
    """Every schema problem of one document, as positioned, human diagnostics.

    Where one value breaks several rules (``direction: no`` is neither a string nor an allowed
    value) only the most basic complaint is kept: the type.
    """
    validator = load_schemas().validators[(api_version, kind)]
    errors = list(validator.iter_errors(document.data))
    typed_paths = {tuple(e.absolute_path) for e in errors if e.validator in ("type", "anyOf")}
    translator = _Translator(document, load_schemas().inlined[(api_version, kind)])
    # Unknown keys first, so a misspelt required key is reported once, as a misspelling.
    for error in sorted(errors, key=lambda e: (e.validator != "additionalProperties", len(e.absolute_path))):
        if tuple(error.absolute_path) in typed_paths and error.validator not in ("type", "anyOf"):
            continue
        translator.translate(error)
    return translator.diagnostics

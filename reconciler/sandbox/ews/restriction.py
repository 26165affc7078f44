"""Evaluate an EWS ``m:Restriction`` against one item or folder.

Covers what a sync needs: IsEqualTo / IsNotEqualTo / IsGreaterThan(OrEqualTo) / IsLessThan(OrEqualTo),
Contains, Exists, And, Or, Not, on FieldURI, IndexedFieldURI and ExtendedFieldURI (so an item can be
found by the Salesforce Id stamped on it). String comparisons ignore case, as Exchange's do.
"""

from __future__ import annotations

import re
from typing import Callable

from lxml import etree

from .model import FieldPath, field_path
from .wire import EwsFault, local, parse_datetime, t

Lookup = Callable[[FieldPath], list[str]]

_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT")
_INTEGER = re.compile(r"^-?\d+$")
_BOOLEAN = {"true": 1, "false": 0, "1": 1, "0": 0}
_COMPARISONS = {
    "IsEqualTo": lambda c: c == 0,
    "IsNotEqualTo": lambda c: c != 0,
    "IsGreaterThan": lambda c: c > 0,
    "IsGreaterThanOrEqualTo": lambda c: c >= 0,
    "IsLessThan": lambda c: c < 0,
    "IsLessThanOrEqualTo": lambda c: c <= 0,
}


def _compare(left: str, right: str) -> int:
    """-1/0/1 comparing two wire values as datetimes, integers, booleans or case-less text."""
    a: object
    b: object
    if _DATETIME.match(left) and _DATETIME.match(right):
        a, b = parse_datetime(left), parse_datetime(right)
    elif _INTEGER.match(left) and _INTEGER.match(right):
        a, b = int(left), int(right)
    elif left.lower() in _BOOLEAN and right.lower() in _BOOLEAN:
        a, b = _BOOLEAN[left.lower()], _BOOLEAN[right.lower()]
    else:
        a, b = left.casefold(), right.casefold()
    return (a > b) - (a < b)  # type: ignore[operator]


def _contains(node: etree._Element, candidates: list[str], constant: str) -> bool:
    mode = node.get("ContainmentMode", "Substring")
    comparison = node.get("ContainmentComparison", "IgnoreCase")
    if comparison != "Exact":
        constant = constant.casefold()
        candidates = [c.casefold() for c in candidates]
    for value in candidates:
        if mode == "FullString" and value == constant:
            return True
        if mode == "Prefixed" and value.startswith(constant):
            return True
        if mode in ("Substring", "ExactPhrase") and constant in value:
            return True
        if mode == "PrefixOnWords" and any(word.startswith(constant) for word in value.split()):
            return True
    return False


def compile_restriction(restriction: etree._Element | None) -> Callable[[Lookup], bool]:
    """Turn a ``m:Restriction`` into a predicate over a field lookup (parsed once per request)."""
    if restriction is None or not len(restriction):
        return lambda lookup: True
    return _compile(restriction[0])


def _compile(node: etree._Element) -> Callable[[Lookup], bool]:
    name = local(node)
    if name in ("And", "Or"):
        parts = [_compile(child) for child in node]
        return (lambda lookup: all(p(lookup) for p in parts)) if name == "And" else (
            lambda lookup: any(p(lookup) for p in parts))
    if name == "Not":
        inner = _compile(node[0])
        return lambda lookup: not inner(lookup)
    path = field_path(node[0])
    if name == "Exists":
        return lambda lookup: bool(lookup(path))
    constant_elem = node.find(f"{t('FieldURIOrConstant')}/{t('Constant')}")
    if name == "Contains":
        constant_elem = node.find(t("Constant"))
    if constant_elem is None:
        raise EwsFault("ErrorUnsupportedQueryFilter",
                       f"the sandbox compares fields with constants only ({name} without a Constant)")
    constant = constant_elem.get("Value", "")
    if name == "Contains":
        return lambda lookup: _contains(node, lookup(path), constant)
    if name not in _COMPARISONS:
        raise EwsFault("ErrorUnsupportedQueryFilter", f"the sandbox does not implement the {name} restriction")
    test = _COMPARISONS[name]
    if name == "IsNotEqualTo":
        return lambda lookup: all(test(_compare(v, constant)) for v in lookup(path))
    return lambda lookup: any(test(_compare(v, constant)) for v in lookup(path))

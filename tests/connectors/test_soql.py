"""SOQL built from configuration values: quoted, escaped, field names checked."""

from __future__ import annotations

import pytest

from reconciler.connectors.errors import ConnectorError
from reconciler.connectors.salesforce import soql_filter, soql_literal


@pytest.mark.parametrize(("value", "literal"), [
    ("NZ", "'NZ'"),
    ("O'Brien", r"'O\'Brien'"),
    ("back\\slash", r"'back\\slash'"),
    ("x' OR Name != '", r"'x\' OR Name != \''"),
    ("line\nbreak", r"'line\nbreak'"),
    (True, "true"),
    (42, "42"),
    (None, "null"),
])
def test_literals_are_quoted_and_escaped(value: object, literal: str) -> None:
    assert soql_literal(value) == literal


@pytest.mark.parametrize(("operator", "value", "condition"), [
    ("equals", "NZ", "MailingCountry = 'NZ'"),
    ("not_equals", "NZ", "MailingCountry != 'NZ'"),
    ("in", ["NZ", "AU"], "MailingCountry IN ('NZ', 'AU')"),
    ("not_in", ["NZ"], "MailingCountry NOT IN ('NZ')"),
    ("starts_with", "N_1%", r"MailingCountry LIKE 'N\_1\%%'"),
    ("is_null", None, "MailingCountry = null"),
    ("is_not_null", None, "MailingCountry != null"),
])
def test_each_filter_operator(operator: str, value: object, condition: str) -> None:
    assert soql_filter("MailingCountry", operator, value) == condition


def test_field_names_cannot_inject() -> None:
    with pytest.raises(ConnectorError, match="not a Salesforce field name"):
        soql_filter("Name = 'x' OR Id", "equals", "y")

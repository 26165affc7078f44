"""SOQL through simple-salesforce against the emulator's demo org."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from reconciler.sandbox.salesforce.soql import SoqlError, parse
from reconciler.sandbox.server import Sandbox
from sandbox.salesforce_client import record_id, running_sandbox, sf, sf_demo_seed

__all__ = ["sf", "sf_demo_seed"]  # fixtures


@pytest.fixture(scope="module")
def sf_sandbox(tmp_path_factory: pytest.TempPathFactory, sf_demo_seed: dict[str, Any]) -> Iterator[Sandbox]:
    """Queries only read: the tests of this module share one sandbox."""
    with running_sandbox(tmp_path_factory.mktemp("sandbox"), sf_demo_seed) as running:
        yield running

ALICE = "alice@acme.example"


def emails(sf: Salesforce, where: str, obj: str = "Contact") -> list[str | None]:
    return [r["Email"] for r in sf.query(f"SELECT Email FROM {obj} WHERE {where} ORDER BY Email")["records"]]


def test_records_carry_attributes_and_nested_relationships(sf: Salesforce) -> None:
    result = sf.query("SELECT Id, Name, Owner.Email, Owner.Username, Owner.Profile.Name, Account.Name "
                      "FROM Contact WHERE Email = 'jane.doe@globex.example'")
    assert result["totalSize"] == 1 and result["done"] is True
    jane = result["records"][0]
    assert jane["attributes"] == {"type": "Contact", "url": f"/services/data/v61.0/sobjects/Contact/{jane['Id']}"}
    assert len(jane["Id"]) == 18 and jane["Id"].startswith("003")
    assert jane["Name"] == "Jane Doe"
    assert jane["Owner"]["attributes"]["type"] == "User"
    assert (jane["Owner"]["Email"], jane["Owner"]["Username"]) == (ALICE, ALICE)
    assert jane["Owner"]["Profile"]["Name"] == "Sales User"
    assert jane["Account"]["Name"] == "Globex"


def test_a_null_reference_renders_as_null(sf: Salesforce) -> None:
    nobody = sf.query("SELECT LastName, Account.Name FROM Contact WHERE LastName = 'Nobody'")["records"][0]
    assert nobody["Account"] is None
    assert [r["LastName"] for r in sf.query("SELECT LastName FROM Contact WHERE AccountId = null")["records"]] == [
        "Nobody"]  # AccountId is indexed, but nulls are found all the same


def test_polymorphic_who_and_relation(sf: Salesforce) -> None:
    review = sf.query("SELECT Who.Email, Who.Type FROM Event WHERE Subject = 'Globex quarterly review'")
    assert review["records"][0]["Who"]["Email"] == "jane.doe@globex.example"
    assert review["records"][0]["Who"]["Type"] == "Contact"
    invitees = sf.query("SELECT Relation.Email, Relation.Type FROM EventRelation "
                        "WHERE Event.Subject = 'Pipeline review' ORDER BY Relation.Email")["records"]
    assert [(r["Relation"]["Email"], r["Relation"]["Type"]) for r in invitees] == [
        ("bob@acme.example", "User"), ("monty@snpp.example", "Lead"), ("raj.patel@initech.example", "Contact")]


def test_comparison_operators(sf: Salesforce) -> None:
    assert emails(sf, "Email = 'JANE.DOE@globex.example'") == ["jane.doe@globex.example"]  # case-insensitive
    assert len(emails(sf, "Email != 'jane.doe@globex.example'")) == 24  # != keeps nulls
    assert emails(sf, "Birthdate < 1990-01-01") == ["raj.patel@initech.example"]
    assert emails(sf, "Birthdate <= 1984-03-12") == ["raj.patel@initech.example"]
    assert emails(sf, "Birthdate > 1984-03-12") == []
    assert emails(sf, "Birthdate >= 1984-03-12") == ["raj.patel@initech.example"]
    assert emails(sf, "LastName > 'W' AND LastName < 'X'") == [
        "bruce@wayne.example", "li.wei@umbrella.example", "milton@initech.example", "willy@wonka.example"]


def test_in_not_in_like_null_and_booleans(sf: Salesforce) -> None:
    assert emails(sf, "Email IN ('li.wei@umbrella.example', 'raj.patel@initech.example')") == [
        "li.wei@umbrella.example", "raj.patel@initech.example"]
    assert len(emails(sf, "Email NOT IN ('li.wei@umbrella.example')")) == 24
    assert emails(sf, "Email LIKE '%@hooli.example'") == ["dup@hooli.example", "dup@hooli.example",
                                                          "gavin@hooli.example"]
    assert emails(sf, "Email LIKE 'r_j.%'") == ["raj.patel@initech.example"]
    assert emails(sf, "Email = null") == [None]
    assert len(emails(sf, "Email != null")) == 24
    assert emails(sf, "Sync_Opt_Out__c = true") == ["milton@initech.example"]
    assert emails(sf, "IsActive = false", obj="User") == ["dave@acme.example"]


def test_and_or_not_with_parentheses(sf: Salesforce) -> None:
    where = ("(Account.Name = 'Hooli' OR Account.Name = 'Umbrella') AND NOT (FirstName = 'Dana') "
             "AND Owner.Username = 'alice@acme.example'")
    assert emails(sf, where) == ["alice.abernathy@umbrella.example", "dup@hooli.example",
                                 "gavin@hooli.example", "li.wei@umbrella.example"]
    assert emails(sf, "NOT Email LIKE '%.example'") == [None]


def test_datetime_literals_and_relative_dates(sf: Salesforce) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    assert sf.query("SELECT COUNT() FROM Contact WHERE CreatedDate < "
                    f"{(now + dt.timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}")["totalSize"] == 25
    assert sf.query("SELECT COUNT() FROM Contact WHERE CreatedDate > 2026-01-01T00:00:00+01:00")["totalSize"] == 25
    assert sf.query("SELECT COUNT() FROM Contact WHERE CreatedDate = TODAY")["totalSize"] == 25
    assert sf.query("SELECT COUNT() FROM Contact WHERE CreatedDate = YESTERDAY")["totalSize"] == 0
    past = sf.query("SELECT Subject FROM Event WHERE StartDateTime = LAST_N_DAYS:3 AND IsChild = false")
    assert [r["Subject"] for r in past["records"]] == ["Umbrella follow-up"]


def test_order_by_several_keys_with_nulls_first_and_last(sf: Salesforce) -> None:
    def order(clause: str) -> list[Any]:
        rows = sf.query(f"SELECT FirstName, LastName FROM Contact WHERE Owner.Username = '{ALICE}' "
                        f"ORDER BY {clause}")["records"]
        return [(r["FirstName"], r["LastName"]) for r in rows]

    ascending = order("FirstName ASC")
    assert ascending[0] == (None, "Nobody")  # nulls first by default when ascending
    assert order("FirstName DESC")[-1] == (None, "Nobody")  # and last when descending
    assert order("FirstName ASC NULLS LAST")[-1] == (None, "Nobody")
    assert order("FirstName DESC NULLS FIRST")[0] == (None, "Nobody")
    dups = [row for row in order("LastName, FirstName DESC") if row[1] == "Dup"]
    assert dups == [("Dana", "Dup"), ("Dan", "Dup")]


def test_limit_offset_and_count(sf: Salesforce) -> None:
    everyone = [r["Email"] for r in sf.query("SELECT Email FROM Contact ORDER BY Email NULLS LAST")["records"]]
    window = sf.query("SELECT Email FROM Contact ORDER BY Email NULLS LAST LIMIT 5 OFFSET 3")
    assert [r["Email"] for r in window["records"]] == everyone[3:8]
    assert sf.query(f"SELECT COUNT() FROM Contact WHERE Owner.Username = '{ALICE}'")["totalSize"] == 11
    counted = sf.query("SELECT COUNT(Id) FROM Lead")
    assert counted["records"][0]["expr0"] == 5


def test_ids_15_and_18_characters_both_match(sf: Salesforce) -> None:
    jane = record_id(sf, "SELECT Id FROM Contact WHERE Email = 'jane.doe@globex.example'")
    assert record_id(sf, f"SELECT Id FROM Contact WHERE Id = '{jane[:15]}'") == jane
    assert record_id(sf, f"SELECT Id FROM Contact WHERE Id IN ('{jane}')") == jane


@pytest.mark.parametrize(("soql", "code", "fragment"), [
    ("SELECT Id FROM", "MALFORMED_QUERY", "unexpected token"),
    ("SELECT Id Contact", "MALFORMED_QUERY", "expecting FROM"),
    ("SELECT Id FROM Contact WHERE Email = 'open", "MALFORMED_QUERY", "unterminated string"),
    ("SELECT Id FROM Contact WHERE Email ~ 'x'", "MALFORMED_QUERY", "unexpected character"),
    ("SELECT Id FROM Contact ORDER BY", "MALFORMED_QUERY", "expecting a field"),
    ("SELECT Foo FROM Contact", "INVALID_FIELD", "No such column 'Foo' on entity 'Contact'"),
    ("SELECT Owner.Shoe FROM Contact", "INVALID_FIELD", "No such column 'Shoe' on entity 'User'"),
    ("SELECT Boss.Name FROM Contact", "INVALID_FIELD", "Didn't understand relationship 'Boss'"),
    ("SELECT Id FROM Opportunity", "INVALID_TYPE", "sObject type 'Opportunity' is not supported"),
    ("SELECT Id FROM Contact WHERE Email = 5", "INVALID_FIELD", "must be of type string"),
    ("SELECT Id FROM Contact WHERE CreatedDate > 2026-01-01", "INVALID_FIELD", "must be of type dateTime"),
    ("SELECT Id FROM Contact WHERE Birthdate > '2026-01-01'", "INVALID_FIELD", "must be of type date"),
    ("SELECT Id FROM Contact OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "2000"),
])
def test_errors_are_shaped_like_the_real_api(sf: Salesforce, soql: str, code: str, fragment: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query(soql)
    [error] = refused.value.content
    assert error["errorCode"] == code
    assert fragment in error["message"]


def test_parser_builds_a_tree() -> None:
    query = parse("select Id, Owner.Email from Contact where (A = 1 or B != null) and not C in ('x') "
                  "order by Id desc nulls first limit 10 offset 2")
    assert query.sobject == "Contact"
    assert [item.text for item in query.items] == ["Id", "Owner.Email"]  # type: ignore[union-attr]
    assert query.where is not None and type(query.where).__name__ == "BoolOp"
    assert (query.limit, query.offset) == (10, 2)
    assert query.order_by[0].descending and not query.order_by[0].nulls_last
    with pytest.raises(SoqlError):
        parse("SELECT Id FROM Contact WHERE CreatedDate > 2026-13-01T00:00:00Z")

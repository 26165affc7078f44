"""Single-record sObject calls, field validation, conditional updates, events and invitees."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from email.utils import format_datetime
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (SalesforceGeneralError, SalesforceMalformedRequest,
                                          SalesforceResourceNotFound)

from reconciler.sandbox.server import Sandbox
from sandbox.salesforce_client import client, record_id, running_sandbox, sf, sf_demo_seed

__all__ = ["sf", "sf_demo_seed"]  # fixtures


@pytest.fixture(scope="module")
def sf_sandbox(tmp_path_factory: pytest.TempPathFactory, sf_demo_seed: dict[str, Any]) -> Iterator[Sandbox]:
    """Every test here writes records of its own and reads only those (or the untouched seed), so
    the module shares one sandbox."""
    with running_sandbox(tmp_path_factory.mktemp("sandbox"), sf_demo_seed) as running:
        yield running

ID_PREFIXES = {"Contact": "003", "Account": "001", "Lead": "00Q", "Event": "00U", "User": "005",
               "Profile": "00e", "EventRelation": "0RE"}


def sf_time(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def error_of(raised: pytest.ExceptionInfo[Exception]) -> dict[str, object]:
    [error] = raised.value.content  # type: ignore[attr-defined]
    return error  # type: ignore[no-any-return]


def test_create_get_update_delete(sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Acme Labs"})
    created = sf.Contact.create({"FirstName": "Ann", "LastName": "Ample", "Email": "ann@labs.example",
                                 "AccountId": account["id"], "Birthdate": "1990-05-17"})
    assert created["success"] is True and created["errors"] == []
    contact_id = created["id"]
    assert len(contact_id) == 18 and contact_id.startswith("003")

    contact = sf.Contact.get(contact_id)
    assert contact["attributes"]["type"] == "Contact"
    assert (contact["Name"], contact["Email"], contact["Birthdate"]) == ("Ann Ample", "ann@labs.example", "1990-05-17")
    assert contact["IsDeleted"] is False
    assert contact["CreatedDate"] == contact["LastModifiedDate"] == contact["SystemModstamp"]
    assert contact["CreatedDate"].endswith("+0000") and len(contact["CreatedDate"]) == 28

    assert sf.Contact.update(contact_id, {"Title": "CTO", "FirstName": "Anne"}) == 204
    updated = sf.Contact.get(contact_id)
    assert (updated["Title"], updated["Name"]) == ("CTO", "Anne Ample")
    assert sf_time(updated["LastModifiedDate"]) > sf_time(contact["LastModifiedDate"])
    assert updated["CreatedDate"] == contact["CreatedDate"]

    assert sf.Contact.delete(contact_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get(contact_id)
    with pytest.raises(SalesforceResourceNotFound) as again:
        sf.Contact.delete(contact_id)
    assert error_of(again)["errorCode"] == "ENTITY_IS_DELETED"


def test_ids_have_the_right_key_prefix(sf: Salesforce) -> None:
    for name, prefix in ID_PREFIXES.items():
        for row in sf.query(f"SELECT Id FROM {name}")["records"]:
            assert row["Id"].startswith(prefix) and len(row["Id"]) == 18


def test_unknown_ids_and_types(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Contact.get("003000000000000AAA")
    assert error_of(missing)["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Opportunity.create({"Name": "Big deal"})


def test_timestamps_strictly_increase_and_record_the_actor(sf_sandbox: Sandbox, sf: Salesforce) -> None:
    stamps = [sf.Lead.get(sf.Lead.create({"LastName": f"L{n}", "Company": "C"})["id"])["SystemModstamp"]
              for n in range(5)]
    assert stamps == sorted(set(stamps))
    alice = client(sf_sandbox, "alice@acme.example")
    lead_id = alice.Lead.create({"LastName": "Mine", "Company": "Alice Co"})["id"]
    lead = sf.query(f"SELECT Owner.Username, CreatedBy.Username, LastModifiedBy.Username FROM Lead "
                    f"WHERE Id = '{lead_id}'")["records"][0]
    assert lead["Owner"]["Username"] == lead["CreatedBy"]["Username"] == "alice@acme.example"
    sf.Lead.update(lead_id, {"Title": "Boss"})
    lead = sf.query(f"SELECT LastModifiedBy.Username FROM Lead WHERE Id = '{lead_id}'")["records"][0]
    assert lead["LastModifiedBy"]["Username"] == "integration@acme.example"


@pytest.mark.parametrize(("object_name", "body", "missing"), [
    ("Contact", {"FirstName": "No"}, ["LastName"]),
    ("Account", {"Phone": "1"}, ["Name"]),
    ("Lead", {"LastName": "X"}, ["Company"]),
    ("Lead", {"Email": "x@y.example"}, ["LastName", "Company"]),
    ("Event", {"Subject": "Timeless"}, ["StartDateTime", "EndDateTime"]),
    ("Event", {"Subject": "No end", "StartDateTime": "2026-12-01T10:00:00Z"}, ["EndDateTime"]),
    ("Event", {"Subject": "All day, no date", "IsAllDayEvent": True}, ["ActivityDate"]),
])
def test_required_fields(sf: Salesforce, object_name: str, body: dict[str, object], missing: list[str]) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        getattr(sf, object_name).create(body)
    error = error_of(refused)
    assert error["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert error["fields"] == missing
    with pytest.raises(SalesforceMalformedRequest):
        sf.Contact.update(record_id(sf, "SELECT Id FROM Contact WHERE LastName = 'Nobody'"), {"LastName": None})


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"LastName": "x" * 81}, "STRING_TOO_LONG", "LastName"),
    ({"LastName": "X", "Email": "not-an-address"}, "INVALID_EMAIL_ADDRESS", "Email"),
    ({"LastName": "X", "Birthdate": "17/05/1990"}, "JSON_PARSER_ERROR", "Birthdate"),
    ({"LastName": "X", "Birthdate": "1990-02-30"}, "JSON_PARSER_ERROR", "Birthdate"),
    ({"LastName": "X", "Sync_Opt_Out__c": "yes"}, "JSON_PARSER_ERROR", None),
    ({"LastName": "X", "Shoe__c": "42"}, "INVALID_FIELD", "Shoe__c"),
    ({"LastName": "X", "Name": "Full Name"}, "INVALID_FIELD_FOR_INSERT_UPDATE", "Name"),
    ({"LastName": "X", "AccountId": "not-an-id"}, "MALFORMED_ID", "AccountId"),
    ({"LastName": "X", "AccountId": "003000000000000AAA"}, "FIELD_INTEGRITY_EXCEPTION", "AccountId"),
    ({"LastName": "X", "AccountId": "0015g000000ZZZZAAA"}, "INVALID_CROSS_REFERENCE_KEY", "AccountId"),
    ({"LastName": "X", "Phone": {"number": "1"}}, "JSON_PARSER_ERROR", None),
])
def test_field_types_are_checked(sf: Salesforce, body: dict[str, object], code: str, field: str | None) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Contact.create(body)
    error = error_of(refused)
    assert error["errorCode"] == code
    if field is not None:
        assert field in str(error.get("fields")) or field in str(error["message"])


def test_picklists_and_inactive_owners(sf: Salesforce) -> None:
    event = {"Subject": "S", "StartDateTime": "2026-12-01T10:00:00Z", "EndDateTime": "2026-12-01T11:00:00Z"}
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Event.create({**event, "ShowAs": "Maybe"})
    assert error_of(refused)["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert sf.Event.create({**event, "ShowAs": "OutOfOffice"})["success"]
    dave = record_id(sf, "SELECT Id FROM User WHERE Username = 'dave@acme.example'")
    with pytest.raises(SalesforceMalformedRequest) as inactive:
        sf.Contact.create({"LastName": "Orphan", "OwnerId": dave})
    assert error_of(inactive)["errorCode"] == "INACTIVE_OWNER_OR_USER"


def test_malformed_json_body(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf._call_salesforce("POST", sf.base_url + "sobjects/Contact/", data="{not json")
    assert error_of(refused)["errorCode"] == "JSON_PARSER_ERROR"


def test_if_unmodified_since_refuses_a_stale_update(sf: Salesforce) -> None:
    contact_id = sf.Contact.create({"LastName": "Cond"})["id"]
    read = sf_time(sf.Contact.get(contact_id)["LastModifiedDate"])
    fresh = {"If-Unmodified-Since": format_datetime(read.replace(microsecond=0), usegmt=True)}
    assert sf.Contact.update(contact_id, {"Title": "first"}, headers=fresh) == 204
    stale = {"If-Unmodified-Since": format_datetime(read - dt.timedelta(seconds=5), usegmt=True)}
    with pytest.raises(SalesforceGeneralError) as refused:
        sf.Contact.update(contact_id, {"Title": "second"}, headers=stale)
    assert refused.value.status == 412
    assert error_of(refused)["errorCode"] == "PRECONDITION_FAILED"
    assert sf.Contact.get(contact_id)["Title"] == "first"


def test_timed_event_fields_are_derived(sf: Salesforce) -> None:
    event_id = sf.Event.create({"Subject": "Call", "StartDateTime": "2026-12-01T10:00:00+01:00",
                                "EndDateTime": "2026-12-01T10:45:00+01:00"})["id"]
    event = sf.Event.get(event_id)
    assert event["StartDateTime"] == "2026-12-01T09:00:00.000+0000"
    assert event["EndDateTime"] == "2026-12-01T09:45:00.000+0000"
    assert (event["ActivityDate"], event["DurationInMinutes"], event["ShowAs"]) == ("2026-12-01", 45, "Busy")
    sf.Event.update(event_id, {"StartDateTime": "2026-12-02T15:00:00Z"})  # moving the start keeps the length
    moved = sf.Event.get(event_id)
    assert (moved["EndDateTime"], moved["ActivityDate"]) == ("2026-12-02T15:45:00.000+0000", "2026-12-02")
    with pytest.raises(SalesforceMalformedRequest):
        sf.Event.update(event_id, {"EndDateTime": "2026-12-02T14:00:00Z"})
    by_duration = sf.Event.create({"Subject": "Standup", "StartDateTime": "2026-12-03T08:00:00Z",
                                   "DurationInMinutes": 15})["id"]
    assert sf.Event.get(by_duration)["EndDateTime"] == "2026-12-03T08:15:00.000+0000"
    with pytest.raises(SalesforceMalformedRequest) as disagreeing:
        sf.Event.create({"Subject": "Odd", "StartDateTime": "2026-12-03T08:00:00Z",
                         "EndDateTime": "2026-12-03T09:00:00Z", "DurationInMinutes": 15})
    assert error_of(disagreeing)["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_all_day_events_keep_their_date(sf: Salesforce) -> None:
    event_id = sf.Event.create({"Subject": "Conference", "IsAllDayEvent": True, "ActivityDate": "2026-12-07",
                                "DurationInMinutes": 2880})["id"]
    event = sf.Event.get(event_id)
    assert (event["ActivityDate"], event["StartDateTime"], event["EndDateTime"], event["DurationInMinutes"]) == (
        "2026-12-07", "2026-12-07T00:00:00.000+0000", "2026-12-08T00:00:00.000+0000", 2880)


def test_an_invited_user_gets_a_child_event_until_declining(sf: Salesforce) -> None:
    carol = record_id(sf, "SELECT Id FROM User WHERE Username = 'carol@acme.example'")
    alice = record_id(sf, "SELECT Id FROM User WHERE Username = 'alice@acme.example'")
    lead = record_id(sf, "SELECT Id FROM Lead WHERE Email = 'lex@lexcorp.example'")
    parent = sf.Event.create({"Subject": "Board prep", "OwnerId": alice, "Location": "Room 1",
                              "StartDateTime": "2026-12-03T16:00:00Z", "EndDateTime": "2026-12-03T17:00:00Z"})["id"]
    invite = sf.EventRelation.create({"EventId": parent, "RelationId": carol})
    assert invite["id"].startswith("0RE")
    sf.EventRelation.create({"EventId": parent, "RelationId": lead})
    assert sf.Event.get(parent)["IsGroupEvent"] is True

    def carols_copies() -> list[dict[str, object]]:
        return sf.query(f"SELECT Subject, StartDateTime, Location, IsChild FROM Event "
                        f"WHERE OwnerId = '{carol}' AND Subject = 'Board prep'")["records"]

    [child] = carols_copies()
    assert child["IsChild"] is True
    assert (child["StartDateTime"], child["Location"]) == ("2026-12-03T16:00:00.000+0000", "Room 1")
    sf.Event.update(parent, {"Location": "Room 2"})
    assert carols_copies()[0]["Location"] == "Room 2"  # the organiser's edits reach the copies
    with pytest.raises(SalesforceMalformedRequest) as duplicate:
        sf.EventRelation.create({"EventId": parent, "RelationId": carol})
    assert error_of(duplicate)["errorCode"] == "DUPLICATE_VALUE"

    sf.EventRelation.update(invite["id"], {"Status": "Declined"})
    assert carols_copies() == []
    assert sf.query(f"SELECT Status FROM EventRelation WHERE Id = '{invite['id']}'")["records"][0]["Status"] == "Declined"
    sf.EventRelation.update(invite["id"], {"Status": "Accepted"})
    assert len(carols_copies()) == 1
    sf.Event.delete(parent)
    assert carols_copies() == []
    assert sf.query(f"SELECT COUNT() FROM EventRelation WHERE EventId = '{parent}'")["totalSize"] == 0


def test_seeded_invitation_made_bobs_child_event(sf: Salesforce) -> None:
    rows = sf.query("SELECT Owner.Username, IsChild FROM Event WHERE Subject = 'Pipeline review' "
                    "ORDER BY IsChild")["records"]
    assert [(r["Owner"]["Username"], r["IsChild"]) for r in rows] == [
        ("alice@acme.example", False), ("bob.sf@acme.example.crm", True)]


def test_describe_reports_fields(sf: Salesforce) -> None:
    described = sf.Contact.describe()
    fields = {f["name"]: f for f in described["fields"]}
    assert described["keyPrefix"] == "003"
    assert fields["Email"]["type"] == "email" and fields["Email"]["length"] == 80
    assert fields["LastName"]["nillable"] is False
    assert fields["Name"]["updateable"] is False
    assert fields["Region__c"]["custom"] is True
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    show_as = {f["name"]: f for f in sf.Event.describe()["fields"]}["ShowAs"]
    assert [v["value"] for v in show_as["picklistValues"]] == ["Busy", "Free", "OutOfOffice"]
    assert {o["name"] for o in sf.describe()["sobjects"]} >= set(ID_PREFIXES)


def test_like_escapes_match_literal_wildcards(sf: Salesforce) -> None:
    for last_name in ("100% Pure", "100 Pure", "Under_score", "Underscore"):
        sf.Contact.create({"LastName": last_name})

    def names(pattern: str) -> list[str]:
        return [r["LastName"] for r in sf.query(f"SELECT LastName FROM Contact WHERE LastName LIKE '{pattern}' "
                                                f"ORDER BY LastName")["records"]]

    assert names("100%") == ["100 Pure", "100% Pure"]
    assert names(r"100\%%") == ["100% Pure"]
    assert names("under%score") == ["Under_score", "Underscore"]
    assert names(r"under\_score") == ["Under_score"]
    assert names("under_score") == ["Under_score"]  # _ stands for exactly one character


def test_usernames_are_unique(sf: Salesforce) -> None:
    profile = record_id(sf, "SELECT Id FROM Profile WHERE Name = 'Sales User'")
    new_user = {"Username": "ALICE@acme.example", "Email": "a2@acme.example", "LastName": "Two", "ProfileId": profile}
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.User.create(new_user)
    assert error_of(refused)["errorCode"] == "DUPLICATE_USERNAME"
    created = sf.User.create({**new_user, "Username": "alice.two@acme.example"})
    assert created["id"].startswith("005")
    with pytest.raises(SalesforceMalformedRequest):
        sf.User.update(created["id"], {"Username": "carol@acme.example"})
    sf.User.update(created["id"], {"Username": "alice.2@acme.example"})
    assert record_id(sf, "SELECT Id FROM User WHERE Username = 'alice.2@acme.example'") == created["id"]

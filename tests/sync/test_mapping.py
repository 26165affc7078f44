from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from reconciler.sync import (
    CONTACT, ActionKind, Direction, FieldKind, FieldOverride, InvalidFieldValue, MappingError, Side, SyncPolicy,
    build_mapping, canonical_hash, normalise,
)
from reconciler.sync.fake import Relationship

from .harness import SyncHarness, contact_policy, exchange_store, salesforce_store


def test_default_contact_mapping() -> None:
    mapping = build_mapping(CONTACT)
    pairs = {(f.salesforce_field, f.exchange_field) for f in mapping.fields}
    assert ("Email", "EmailAddress1") in pairs and ("Description", "Body") in pairs
    assert ("MailingCountry", "BusinessAddress.CountryOrRegion") in pairs
    assert ("OtherPostalCode", "OtherAddress.PostalCode") in pairs
    assert len(mapping.fields) == 25
    company = mapping.field("CompanyName")
    assert (company.salesforce_field, company.direction) == ("Account.Name", Direction.SALESFORCE_TO_EXCHANGE)
    assert company.name_on(Side.SALESFORCE, for_write=True) == "AccountId"


def test_override_replaces_the_default_for_the_same_exchange_field() -> None:
    mapping = build_mapping(CONTACT, [FieldOverride("MobilePhone__c", "MobilePhone", Direction.SALESFORCE_TO_EXCHANGE)])
    mobile = mapping.field("MobilePhone")
    assert (mobile.salesforce_field, mobile.direction, mobile.kind) == (
        "MobilePhone__c", Direction.SALESFORCE_TO_EXCHANGE, FieldKind.PHONE)


def test_override_adds_a_custom_field_and_none_removes_one() -> None:
    mapping = build_mapping(CONTACT, [FieldOverride("Nickname__c", "Nickname"),
                                      FieldOverride("Fax", "BusinessFax", Direction.NONE)])
    assert mapping.field("Nickname").salesforce_field == "Nickname__c"
    assert "BusinessFax" not in mapping.keys


def test_field_direction_is_intersected_with_the_object_direction() -> None:
    mapping = build_mapping(CONTACT, [FieldOverride("Title", "JobTitle", Direction.EXCHANGE_TO_SALESFORCE)],
                            direction=Direction.SALESFORCE_TO_EXCHANGE)
    assert "JobTitle" not in mapping.keys           # exchange->salesforce AND salesforce->exchange = none
    assert mapping.field("GivenName").direction is Direction.SALESFORCE_TO_EXCHANGE


@pytest.mark.parametrize("override, message", [
    (FieldOverride("Foo__c", "Pager"), "not an Exchange field"),
    (FieldOverride("Owner.Name", "Nickname", Direction.BOTH), "relationship field"),
    (FieldOverride("Email", "EmailAddress2"), "written from both"),
])
def test_invalid_overrides_are_configuration_errors(override: FieldOverride, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        build_mapping(CONTACT, [override])


@pytest.mark.parametrize("kind, raw, expected", [
    (FieldKind.TEXT, "  Jane  ", "Jane"),
    (FieldKind.TEXT, "", None),
    (FieldKind.TEXT, "   ", None),
    (FieldKind.EMAIL, " Jane.Doe@Example.COM ", "Jane.Doe@Example.COM"),   # case kept for writing
    (FieldKind.PHONE, " (555) 010-0100 ", "(555) 010-0100"),                # never reformatted
    (FieldKind.DATE, date(1980, 12, 31), "1980-12-31"),
    (FieldKind.DATE, datetime(1980, 12, 31, 23, 0, tzinfo=timezone.utc), "1980-12-31"),
    (FieldKind.DATE, "1980-12-31T00:00:00Z", "1980-12-31"),
    (FieldKind.BODY, "line one\r\nline two\rthree\n\n", "line one\nline two\nthree"),
])
def test_normalise(kind: FieldKind, raw, expected) -> None:
    assert normalise(kind, raw) == expected


def test_a_value_that_is_not_a_date_is_rejected() -> None:
    with pytest.raises(InvalidFieldValue):
        normalise(FieldKind.DATE, "next tuesday")


def test_hash_ignores_what_normalisation_ignores_and_nothing_else() -> None:
    mapping = build_mapping(CONTACT)
    salesforce = mapping.canonical(Side.SALESFORCE, {"FirstName": "Jane", "Email": "JANE@x.com",
                                                      "Description": "a\r\nb", "Phone": "555"})
    exchange = mapping.canonical(Side.EXCHANGE, {"GivenName": " Jane", "EmailAddress1": "jane@X.com",
                                                 "Body": "a\nb\n", "BusinessPhone": "555", "JobTitle": ""})
    assert mapping.hash(salesforce) == mapping.hash(exchange)
    reformatted = {**exchange, "BusinessPhone": "5 5 5"}
    assert mapping.hash(reformatted) != mapping.hash(exchange)
    assert canonical_hash({"b": 1, "a": None}) == canonical_hash({"a": None, "b": 1})


def test_our_writes_read_back_differently_formatted_do_not_bounce() -> None:
    salesforce, exchange = salesforce_store(), exchange_store()
    harness = SyncHarness(contact_policy(), salesforce, exchange)
    contact = salesforce.user_create({"FirstName": "Jane", "LastName": "Doe", "Email": "Jane@Example.com",
                                      "Description": "first\nsecond", "Birthdate": "1980-12-31"})
    harness.settle()
    (item_id,) = exchange.live()
    # Exchange re-saves the item its own way: CRLF, padding, lower-cased address, a datetime birthday.
    exchange.user_update(item_id, {"Body": "first\r\nsecond\r\n", "GivenName": "Jane ",
                                   "EmailAddress1": "jane@example.com",
                                   "Birthday": datetime(1980, 12, 31, tzinfo=timezone.utc)})
    decisions = harness.cycle()
    assert decisions.actions == ()
    assert salesforce.live()[contact].fields["Email"] == "Jane@Example.com"


ACCOUNTS = {"001A": "Acme Corp", "001B": "Globex", "001C": "Globex"}


def _company_harness():
    salesforce = salesforce_store(relationships=[Relationship("AccountId", "Account.Name", ACCOUNTS)])
    exchange = exchange_store()
    index: dict[str, list[str]] = {}
    for account_id, name in ACCOUNTS.items():
        index.setdefault(name, []).append(account_id)
    return salesforce, exchange, SyncHarness(contact_policy(), salesforce, exchange, lookups={"Account": index})


def test_exchange_company_resolves_to_the_one_account_of_that_name() -> None:
    salesforce, exchange, harness = _company_harness()
    exchange.user_create({"GivenName": "Jane", "Surname": "Doe", "CompanyName": "ACME corp"})
    decisions = harness.cycle()
    assert decisions.actions[0].salesforce_write.fields["AccountId"] == "001A"
    (contact,) = salesforce.live().values()
    assert contact.fields["Account.Name"] == "Acme Corp"
    assert harness.settle() <= 2
    assert next(iter(exchange.live().values())).fields["CompanyName"] == "ACME corp"   # untouched


def test_ambiguous_or_unknown_company_is_reported_and_kept_in_exchange() -> None:
    salesforce, exchange, harness = _company_harness()
    exchange.user_create({"GivenName": "Jane", "Surname": "Doe", "CompanyName": "Globex"})
    exchange.user_create({"GivenName": "John", "Surname": "Roe", "CompanyName": "Initech"})
    decisions = harness.cycle()
    issues = {action.display_name: action.issues for action in decisions.actions}
    assert "2 Account records match" in issues["Jane Doe"][0]
    assert "no Account records match" in issues["John Roe"][0]
    assert all("AccountId" not in action.salesforce_write.fields for action in decisions.actions)
    harness.settle()
    assert sorted(item.fields["CompanyName"] for item in exchange.live().values()) == ["Globex", "Initech"]


def test_first_pairing_never_strips_the_exchange_company() -> None:
    salesforce, exchange, harness = _company_harness()
    salesforce.user_create({"FirstName": "Jane", "LastName": "Doe", "Email": "jane@example.com"})
    exchange.user_create({"GivenName": "Jane", "Surname": "Doe", "EmailAddress1": "jane@example.com",
                          "CompanyName": "Initech"})
    decisions = harness.cycle()
    assert decisions.actions[0].kind is ActionKind.PAIR
    harness.settle()
    assert next(iter(exchange.live().values())).fields["CompanyName"] == "Initech"


def test_removing_the_account_in_salesforce_keeps_the_exchange_company() -> None:
    salesforce, exchange, harness = _company_harness()
    contact = salesforce.user_create({"FirstName": "Jane", "LastName": "Doe", "AccountId": "001A"})
    harness.settle()
    salesforce.user_update(contact, {"AccountId": None})
    decisions = harness.cycle()
    assert [a.kind for a in decisions.actions] == [ActionKind.SKIP]
    assert "kept in Exchange" in decisions.actions[0].issues[0]
    assert next(iter(exchange.live().values())).fields["CompanyName"] == "Acme Corp"


def test_policy_direction_comes_from_the_mapping() -> None:
    policy = SyncPolicy(build_mapping(CONTACT, direction=Direction.EXCHANGE_TO_SALESFORCE))
    assert policy.direction is Direction.EXCHANGE_TO_SALESFORCE

"""The Contact object type: Exchange vocabulary, default mapping and first-sync matching keys."""

from __future__ import annotations

import unicodedata

from .mapping import FieldKind, FieldMap
from .objects import CanonicalRecord, MatchRule, ObjectType
from .policy import Direction

_ADDRESS_PARTS = ("Street", "City", "State", "PostalCode", "CountryOrRegion")

CONTACT_EXCHANGE_FIELDS: dict[str, FieldKind] = {
    "GivenName": FieldKind.TEXT,
    "MiddleName": FieldKind.TEXT,
    "Surname": FieldKind.TEXT,
    "Nickname": FieldKind.TEXT,
    "CompanyName": FieldKind.LOOKUP,
    "JobTitle": FieldKind.TEXT,
    "Department": FieldKind.TEXT,
    "EmailAddress1": FieldKind.EMAIL,
    "EmailAddress2": FieldKind.EMAIL,
    "EmailAddress3": FieldKind.EMAIL,
    "BusinessPhone": FieldKind.PHONE,
    "BusinessPhone2": FieldKind.PHONE,
    "MobilePhone": FieldKind.PHONE,
    "HomePhone": FieldKind.PHONE,
    "BusinessFax": FieldKind.PHONE,
    "OtherTelephone": FieldKind.PHONE,
    "AssistantName": FieldKind.TEXT,
    "AssistantPhone": FieldKind.PHONE,
    "Birthday": FieldKind.DATE,
    "Body": FieldKind.BODY,
    **{f"{address}.{part}": FieldKind.TEXT
       for address in ("BusinessAddress", "HomeAddress", "OtherAddress") for part in _ADDRESS_PARTS},
}


def _field(salesforce: str, exchange: str, direction: Direction = Direction.BOTH) -> FieldMap:
    return FieldMap(salesforce, exchange, CONTACT_EXCHANGE_FIELDS[exchange], direction)


_SALESFORCE_ADDRESS_PARTS = ("Street", "City", "State", "PostalCode", "Country")

CONTACT_DEFAULT_FIELDS: tuple[FieldMap, ...] = (
    # The company is the Account's name. Written to Exchange as text; towards Salesforce it can only
    # be resolved to an AccountId (unique Account of that name), never by renaming an Account.
    FieldMap("Account.Name", "CompanyName", FieldKind.LOOKUP, Direction.SALESFORCE_TO_EXCHANGE,
             salesforce_write_field="AccountId", lookup_object="Account"),
    _field("AssistantName", "AssistantName"),
    _field("AssistantPhone", "AssistantPhone"),
    _field("Birthdate", "Birthday"),
    _field("Department", "Department"),
    _field("Description", "Body"),
    _field("Email", "EmailAddress1"),
    _field("Fax", "BusinessFax"),
    _field("FirstName", "GivenName"),
    _field("LastName", "Surname"),
    _field("HomePhone", "HomePhone"),
    _field("MobilePhone", "MobilePhone"),
    _field("Phone", "BusinessPhone"),
    _field("OtherPhone", "OtherTelephone"),
    _field("Title", "JobTitle"),
    *(_field(f"Mailing{sf}", f"BusinessAddress.{ex}") for sf, ex in zip(_SALESFORCE_ADDRESS_PARTS, _ADDRESS_PARTS)),
    *(_field(f"Other{sf}", f"OtherAddress.{ex}") for sf, ex in zip(_SALESFORCE_ADDRESS_PARTS, _ADDRESS_PARTS)),
)


def _folded(text: object) -> str | None:
    """Case-, width- and spacing-insensitive form of a name or address used as a matching key."""
    if not isinstance(text, str):
        return None
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return folded or None


def email_key(record: CanonicalRecord) -> str | None:
    return _folded(record.get("EmailAddress1"))


def name_key(record: CanonicalRecord) -> tuple[str | None, str] | None:
    """First + last name; a record without a last name never matches by name."""
    surname = _folded(record.get("Surname"))
    if surname is None:
        return None
    return (_folded(record.get("GivenName")), surname)


def emails_do_not_contradict(salesforce: CanonicalRecord, exchange: CanonicalRecord) -> bool:
    """Same name but two different email addresses: two people, not one."""
    left, right = email_key(salesforce), email_key(exchange)
    return left is None or right is None or left == right


def contact_display_name(record: CanonicalRecord) -> str:
    parts = [record.get("GivenName"), record.get("Surname")]
    name = " ".join(str(part) for part in parts if part)
    return name or str(record.get("EmailAddress1") or record.get("CompanyName") or "(no name)")


CONTACT = ObjectType(
    name="Contact",
    exchange_fields=CONTACT_EXCHANGE_FIELDS,
    default_fields=CONTACT_DEFAULT_FIELDS,
    match_rules=(
        MatchRule("email", email_key),
        MatchRule("name", name_key, emails_do_not_contradict),
    ),
    display_name=contact_display_name,
)

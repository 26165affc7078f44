"""The sObject types the emulator knows: fields, types, lengths, picklists, references.

One table of definitions drives validation of writes, SOQL field resolution, ``describe`` and
relationship traversal, so the three can never disagree. Lengths and picklist values follow
Salesforce's standard objects as documented; a few flags (which fields are updateable) are
educated guesses noted where they matter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Field types, named as Salesforce's describe names them.
ID, REFERENCE, STRING, TEXTAREA, EMAIL, PHONE, URL, PICKLIST = (
    "id", "reference", "string", "textarea", "email", "phone", "url", "picklist")
BOOLEAN, DATE, DATETIME, INT, DOUBLE = "boolean", "date", "datetime", "int", "double"

TEXT_TYPES = frozenset({STRING, TEXTAREA, EMAIL, PHONE, URL, PICKLIST, ID, REFERENCE})
CUSTOM_FIELD_TYPES = frozenset({STRING, TEXTAREA, EMAIL, PHONE, URL, BOOLEAN, DATE, DATETIME,
                                INT, DOUBLE, PICKLIST})


@dataclass(frozen=True)
class FieldDef:
    """One field of an sObject, with what describe reports and what writes must respect."""

    name: str
    type: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    custom: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist: tuple[str, ...] = ()
    default: object = None


@dataclass
class ObjectDef:
    """One sObject type. ``fields`` is keyed by lower-case name: SOQL and REST are case-insensitive."""

    name: str
    key_prefix: str
    fields: dict[str, FieldDef]
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    required: tuple[str, ...] = ()   # always required on create (Event has its own rule)
    has_owner: bool = True
    indexed: tuple[str, ...] = ()    # reference fields with an id -> record ids index
    relationships: dict[str, FieldDef] = field(default_factory=dict)  # lower-case relationship name

    def __post_init__(self) -> None:
        self.relationships = {f.relationship_name.lower(): f for f in self.fields.values()
                              if f.relationship_name}

    def field(self, name: str) -> FieldDef | None:
        return self.fields.get(name.lower())

    def add_field(self, definition: FieldDef) -> None:
        self.fields[definition.name.lower()] = definition
        if definition.relationship_name:
            self.relationships[definition.relationship_name.lower()] = definition


def _s(name: str, length: int, **kw: object) -> FieldDef:
    return FieldDef(name, STRING, length, **kw)  # type: ignore[arg-type]


def _ref(name: str, to: tuple[str, ...], rel: str, **kw: object) -> FieldDef:
    return FieldDef(name, REFERENCE, 18, reference_to=to, relationship_name=rel, **kw)  # type: ignore[arg-type]


def _readonly(definition: FieldDef) -> FieldDef:
    return FieldDef(definition.name, definition.type, definition.length, definition.nillable,
                    False, False, definition.custom, definition.reference_to,
                    definition.relationship_name, definition.picklist, definition.default)


def _system_fields() -> list[FieldDef]:
    return [
        FieldDef("Id", ID, 18, nillable=False, createable=False, updateable=False),
        FieldDef("IsDeleted", BOOLEAN, nillable=False, createable=False, updateable=False),
        FieldDef("CreatedDate", DATETIME, nillable=False, createable=False, updateable=False),
        _readonly(_ref("CreatedById", ("User",), "CreatedBy", nillable=False)),
        FieldDef("LastModifiedDate", DATETIME, nillable=False, createable=False, updateable=False),
        _readonly(_ref("LastModifiedById", ("User",), "LastModifiedBy", nillable=False)),
        FieldDef("SystemModstamp", DATETIME, nillable=False, createable=False, updateable=False),
    ]


def _owner() -> FieldDef:
    return _ref("OwnerId", ("User",), "Owner", nillable=False)


def _name() -> FieldDef:
    # Compound name: Salesforce computes it from FirstName + LastName and never lets a client set it.
    return FieldDef("Name", STRING, 121, createable=False, updateable=False)


def _address(prefix: str) -> list[FieldDef]:
    return [FieldDef(f"{prefix}Street", TEXTAREA, 255), _s(f"{prefix}City", 40),
            _s(f"{prefix}State", 80), _s(f"{prefix}PostalCode", 20), _s(f"{prefix}Country", 80)]


def _object(name: str, prefix: str, fields: list[FieldDef], **kw: object) -> ObjectDef:
    every = _system_fields() + fields
    return ObjectDef(name, prefix, {f.name.lower(): f for f in every}, **kw)  # type: ignore[arg-type]


# Educated guess: which EventRelation statuses exist varies by org settings; New / Accepted /
# Declined are documented, Tentative is what Exchange's "maybe" maps to in our sync.
EVENT_RELATION_STATUSES = ("New", "Accepted", "Declined", "Tentative")
SHOW_AS = ("Busy", "Free", "OutOfOffice")
LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                 "Closed - Not Converted")
def build_schema() -> dict[str, ObjectDef]:
    """A fresh set of definitions (custom fields are added per store, so each store gets its own)."""
    phone = lambda n: FieldDef(n, PHONE, 40)  # noqa: E731
    objects = [
        _object("Profile", "00e", [_s("Name", 255, nillable=False)],
                createable=False, updateable=False, deletable=False, has_owner=False),
        _object("User", "005", [
            _s("Username", 80, nillable=False), FieldDef("Email", EMAIL, 128, nillable=False),
            _s("FirstName", 40), _s("LastName", 80, nillable=False), _name(), _s("Alias", 8),
            FieldDef("IsActive", BOOLEAN, nillable=False, default=True),
            _ref("ProfileId", ("Profile",), "Profile", nillable=False),
            _s("TimeZoneSidKey", 40, nillable=False, default="UTC"),
            _s("Title", 80), _s("Department", 80), phone("Phone"), phone("MobilePhone"),
        ], deletable=False, has_owner=False, required=("Username", "LastName", "Email", "ProfileId"),
            indexed=("ProfileId",)),
        _object("Account", "001", [
            _s("Name", 255, nillable=False), phone("Phone"), phone("Fax"), FieldDef("Website", URL, 255),
            _s("Industry", 255), _s("Type", 255), FieldDef("Description", TEXTAREA, 32000),
            *_address("Billing"), *_address("Shipping"), _owner(),
        ], required=("Name",), indexed=("OwnerId",)),
        _object("Contact", "003", [
            _s("FirstName", 40), _s("LastName", 80, nillable=False), _name(), _s("Salutation", 40),
            FieldDef("Email", EMAIL, 80), phone("Phone"), phone("MobilePhone"), phone("HomePhone"),
            phone("OtherPhone"), phone("Fax"), _s("Title", 128), _s("Department", 80),
            _s("AssistantName", 40), phone("AssistantPhone"), FieldDef("Birthdate", DATE),
            FieldDef("Description", TEXTAREA, 32000), *_address("Mailing"), *_address("Other"),
            _ref("AccountId", ("Account",), "Account"), _owner(),
        ], required=("LastName",), indexed=("OwnerId", "AccountId")),
        _object("Lead", "00Q", [
            _s("FirstName", 40), _s("LastName", 80, nillable=False), _name(),
            _s("Company", 255, nillable=False), FieldDef("Email", EMAIL, 80), phone("Phone"),
            phone("MobilePhone"), _s("Title", 128),
            FieldDef("Status", PICKLIST, 255, nillable=False, picklist=LEAD_STATUSES,
                     default=LEAD_STATUSES[0]),
            # Educated guess: conversion happens through convertLead, never a field write.
            FieldDef("IsConverted", BOOLEAN, nillable=False, updateable=False, default=False),
            FieldDef("Description", TEXTAREA, 32000), _owner(),
        ], required=("LastName", "Company"), indexed=("OwnerId",)),
        _object("Event", "00U", [
            _s("Subject", 255), FieldDef("StartDateTime", DATETIME), FieldDef("EndDateTime", DATETIME),
            FieldDef("IsAllDayEvent", BOOLEAN, nillable=False, default=False),
            FieldDef("ActivityDate", DATE), FieldDef("ActivityDateTime", DATETIME),
            FieldDef("DurationInMinutes", INT), _s("Location", 255),
            FieldDef("Description", TEXTAREA, 32000),
            FieldDef("ShowAs", PICKLIST, 40, picklist=SHOW_AS, default="Busy"),
            FieldDef("IsPrivate", BOOLEAN, nillable=False, default=False),
            FieldDef("IsReminderSet", BOOLEAN, nillable=False, default=False),
            FieldDef("ReminderDateTime", DATETIME), _owner(),
            _ref("WhoId", ("Contact", "Lead"), "Who"), _ref("WhatId", ("Account",), "What"),
            FieldDef("IsChild", BOOLEAN, nillable=False, createable=False, updateable=False, default=False),
            FieldDef("IsGroupEvent", BOOLEAN, nillable=False, createable=False, updateable=False,
                     default=False),
            FieldDef("IsRecurrence", BOOLEAN, nillable=False, default=False),
        ], indexed=("OwnerId", "WhoId")),
        _object("EventRelation", "0RE", [
            _ref("EventId", ("Event",), "Event", nillable=False, updateable=False),
            _ref("RelationId", ("User", "Contact", "Lead"), "Relation", nillable=False, updateable=False),
            FieldDef("Status", PICKLIST, 40, picklist=EVENT_RELATION_STATUSES, default="New"),
            FieldDef("IsInvitee", BOOLEAN, nillable=False, default=True),
            FieldDef("IsParent", BOOLEAN, nillable=False, default=False),
            FieldDef("IsWhat", BOOLEAN, nillable=False, default=False),
            FieldDef("RespondedDate", DATETIME), _s("Response", 255),
        ], has_owner=False, required=("EventId", "RelationId"), indexed=("EventId", "RelationId")),
    ]
    return {o.name.lower(): o for o in objects}


def by_prefix(schema: dict[str, ObjectDef]) -> dict[str, ObjectDef]:
    return {o.key_prefix: o for o in schema.values()}

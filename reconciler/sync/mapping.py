"""Field mapping, normalisation and hashing: turning each side's fields into one canonical record.

The canonical record is keyed by the Exchange field name (``GivenName``, ``BusinessAddress.City``)
and holds *normalised* values. Normalisation exists so that echoes never bounce: a value that only
differs by surrounding whitespace, ``""`` versus absent, the case of an email address, a date's
representation or a body's line endings is the same value, so our own write read back from the
other side is never mistaken for a user's edit. Phone numbers are compared exactly as written:
reformatting users' phone numbers is a complaint, not a feature.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field as dataclass_field, replace
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from .policy import Direction
from .ports import Side

if TYPE_CHECKING:  # objects imports FieldKind / FieldMap from here
    from .objects import ObjectType


class MappingError(ValueError):
    """A field mapping (defaults plus overrides) that cannot be applied; a configuration error."""


class InvalidFieldValue(ValueError):
    """A record holds a value that cannot be normalised (for example a birthday that is no date)."""


class FieldKind(str, Enum):
    """How a field's values are normalised and compared."""

    TEXT = "text"
    EMAIL = "email"      # compared case-insensitively, written in the case the user typed
    PHONE = "phone"      # compared exactly as written (after trimming)
    DATE = "date"        # ISO YYYY-MM-DD, never shifted by a time zone
    BODY = "body"        # multi-line text, line endings normalised to \n
    LOOKUP = "lookup"    # a Salesforce reference shown by name (Account.Name -> CompanyName)


def normalise(kind: FieldKind, value: Any) -> Any:
    """The canonical form of one value: what is compared, hashed and written."""
    if value is None:
        return None
    if kind is FieldKind.DATE:
        return _normalise_date(value)
    text = value if isinstance(value, str) else str(value)
    if kind is FieldKind.BODY:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.strip()
    return text or None


def _normalise_date(value: Any) -> str | None:
    if isinstance(value, datetime):  # the calendar date as stored: a birthday has no time zone
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        # The value itself stays out of the message: messages reach plans and logs.
        raise InvalidFieldValue("not a date (expected YYYY-MM-DD)") from None


def comparable(kind: FieldKind, value: Any) -> Any:
    """The form two canonical values are compared in: emails ignore case, and so does a company
    (an Account found by a case-insensitive name must not read back as an edit)."""
    if kind in (FieldKind.EMAIL, FieldKind.LOOKUP) and value is not None:
        return value.casefold()
    return value


def canonical_hash(record: Mapping[str, Any]) -> str:
    """sha256 of a record's canonical JSON (sorted keys), as stored in the pairs table."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FieldMap:
    """One mapped field. ``exchange_field`` is also the canonical key.

    ``salesforce_write_field`` differs from ``salesforce_field`` only for a lookup: the company is
    read as ``Account.Name`` but written as ``AccountId`` (resolved through an index of
    ``lookup_object`` records by name).
    """

    salesforce_field: str
    exchange_field: str
    kind: FieldKind
    direction: Direction = Direction.BOTH
    salesforce_write_field: str | None = None
    lookup_object: str | None = None

    @property
    def key(self) -> str:
        return self.exchange_field

    def name_on(self, side: Side, *, for_write: bool = False) -> str:
        """This field's name in ``side``'s own vocabulary."""
        if side is Side.EXCHANGE:
            return self.exchange_field
        if for_write and self.salesforce_write_field:
            return self.salesforce_write_field
        return self.salesforce_field

    def flows_into(self, side: Side) -> bool:
        return self.direction.writes(side)


@dataclass(frozen=True)
class FieldOverride:
    """One configuration override: ``{salesforceField, exchangeField, direction}``."""

    salesforce_field: str
    exchange_field: str
    direction: Direction = Direction.BOTH


@dataclass(frozen=True)
class FieldMapping:
    """The effective mapping of one object type in one configuration.

    Every field's direction is already intersected with the object's ``direction``; fields that
    sync in no direction are absent.
    """

    object_type: ObjectType
    direction: Direction
    fields: tuple[FieldMap, ...]
    _by_key: dict[str, FieldMap] = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:  # decide() looks fields up per record and field: keep it O(1)
        object.__setattr__(self, "_by_key", {mapped.key: mapped for mapped in self.fields})

    def field(self, key: str) -> FieldMap:
        return self._by_key[key]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(field.key for field in self.fields)

    def canonical(self, side: Side, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A side's record as a canonical record (every mapped key present, absent -> None)."""
        record: dict[str, Any] = {}
        for field in self.fields:
            try:
                record[field.key] = normalise(field.kind, fields.get(field.name_on(side)))
            except InvalidFieldValue as error:
                raise InvalidFieldValue(f"{field.name_on(side)}: {error}") from None
        return record

    def comparable(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return {field.key: comparable(field.kind, record.get(field.key)) for field in self.fields}

    def same(self, key: str, left: Any, right: Any) -> bool:
        kind = self._by_key[key].kind
        return comparable(kind, left) == comparable(kind, right)

    def hash(self, record: Mapping[str, Any]) -> str:
        """The canonical hash of a canonical record: equal for records that compare equal."""
        return canonical_hash(self.comparable(record))


def build_mapping(
    object_type: ObjectType,
    overrides: Iterable[FieldOverride] = (),
    direction: Direction = Direction.BOTH,
) -> FieldMapping:
    """Defaults of ``object_type``, then ``overrides`` in order, intersected with ``direction``.

    An override naming an ``exchange_field`` that a default maps replaces that default; direction
    ``none`` removes the field. A Salesforce relationship field (``Account.Name``) that is not the
    object's lookup cannot be written, so it may only flow Salesforce -> Exchange.
    """
    by_key: dict[str, FieldMap] = {field.key: field for field in object_type.default_fields}
    for override in overrides:
        kind = object_type.exchange_fields.get(override.exchange_field)
        if kind is None:
            raise MappingError(
                f"{object_type.name}: {override.exchange_field!r} is not an Exchange field this sync "
                f"knows (known: {', '.join(sorted(object_type.exchange_fields))})"
            )
        if not override.salesforce_field.strip():
            raise MappingError(f"{object_type.name}: empty salesforceField for {override.exchange_field}")
        if override.direction is Direction.NONE:
            by_key.pop(override.exchange_field, None)
            continue
        default = by_key.get(override.exchange_field)
        if default is not None and default.salesforce_field == override.salesforce_field:
            by_key[override.exchange_field] = replace(default, direction=override.direction)
            continue
        if "." in override.salesforce_field and override.direction.writes(Side.SALESFORCE):
            raise MappingError(
                f"{object_type.name}: {override.salesforce_field} is a relationship field and cannot be "
                f"written; map it salesforce_to_exchange"
            )
        by_key[override.exchange_field] = FieldMap(
            salesforce_field=override.salesforce_field,
            exchange_field=override.exchange_field,
            kind=FieldKind.TEXT if kind is FieldKind.LOOKUP else kind,
            direction=override.direction,
        )

    effective: list[FieldMap] = []
    for key in sorted(by_key):
        field = by_key[key]
        field_direction = field.direction.intersect(direction)
        if field_direction is not Direction.NONE:
            effective.append(replace(field, direction=field_direction))

    writers: dict[str, str] = {}
    for field in effective:
        if field.flows_into(Side.SALESFORCE):
            write_name = field.name_on(Side.SALESFORCE, for_write=True)
            if write_name in writers:
                raise MappingError(
                    f"{object_type.name}: Salesforce field {write_name} would be written from both "
                    f"{writers[write_name]} and {field.exchange_field}"
                )
            writers[write_name] = field.exchange_field
    return FieldMapping(object_type=object_type, direction=direction, fields=tuple(effective))

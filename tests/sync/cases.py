"""Builders for decision-table tests: a pair at a known base plus each side's record this cycle,
written in canonical (Exchange) field names and translated to Salesforce names by the mapping."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from reconciler.sync import CONTACT, FieldMapping, Pair, Side, SideSnapshot, SourceRecord, build_mapping

SF_ID, EX_ID = "003A", "AAMkA"
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
MAPPING = build_mapping(CONTACT)

BASE: dict[str, Any] = {"GivenName": "Jane", "Surname": "Doe", "EmailAddress1": "jane@example.com",
                        "JobTitle": "Engineer", "BusinessPhone": "+1 555 0100", "CompanyName": "Acme"}


def salesforce_fields(canonical: Mapping[str, Any], mapping: FieldMapping = MAPPING) -> dict[str, Any]:
    return {mapping.field(key).salesforce_field: value for key, value in canonical.items()}


def canonical(values: Mapping[str, Any], mapping: FieldMapping = MAPPING) -> dict[str, Any]:
    return mapping.canonical(Side.EXCHANGE, values)


def synced_pair(base: Mapping[str, Any] = BASE, mapping: FieldMapping = MAPPING) -> Pair:
    record = canonical(base, mapping)
    return Pair(SF_ID, EX_ID, "s1", "e1", mapping.hash(record), mapping.hash(record), record)


def salesforce_record(values: Mapping[str, Any], *, version: str = "s2", minutes: int = 0,
                      record_id: str = SF_ID, mapping: FieldMapping = MAPPING) -> SourceRecord:
    return SourceRecord(record_id, version, salesforce_fields(values, mapping), None, T0 + timedelta(minutes=minutes))


def exchange_record(values: Mapping[str, Any], *, version: str = "e2", minutes: int = 0,
                    record_id: str = EX_ID, stamp: str | None = SF_ID) -> SourceRecord:
    return SourceRecord(record_id, version, dict(values), stamp, T0 + timedelta(minutes=minutes))


def edited(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


def snapshot(*records: SourceRecord, deleted: tuple[str, ...] = (), departed: tuple[str, ...] = (),
             full: bool = False) -> SideSnapshot:
    return SideSnapshot.of(records, deleted=deleted, departed=departed, full=full)

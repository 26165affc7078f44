"""What clients see of stored items: computed fields, and calendar occurrences.

A recurring master is stored once; CalendarView expands it into occurrences (ids that name the
master and the original start) with exceptions applied and deleted occurrences left out.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from .model import ITEM_CLASSES, Item
from .recurrence import occurrence_starts
from .store import Mailbox
from .timezones import iana_name
from .wire import ItemError, format_datetime, parse_datetime

_PARENT_CHANGEKEY = "AQAAAA=="
_TAGS = re.compile(r"<[^>]+>")


def item_values(mailbox: Mailbox, item: Item) -> dict[str, Any]:
    """Stored fields plus what the server computes (ids, times, calendar item type ...)."""
    values = dict(item.fields)
    values["ParentFolderId"] = {"Id": item.folder, "ChangeKey": _PARENT_CHANGEKEY}
    values.setdefault("ItemClass", ITEM_CLASSES.get(item.kind, "IPM.Note"))
    values["DateTimeCreated"] = item.created
    values["LastModifiedTime"] = item.modified
    values.setdefault("HasAttachments", "false")
    if "Body" in values:
        body_type, text = values["Body"]
        values["TextBody"] = _TAGS.sub("", text) if body_type == "HTML" else text
    if item.kind == "Contact" and "DisplayName" not in values:
        values["DisplayName"] = " ".join(v for v in (values.get("GivenName"), values.get("Surname")) if v)
    if item.kind == "CalendarItem":
        values["CalendarItemType"] = "RecurringMaster" if "Recurrence" in values else "Single"
        values["IsRecurring"] = "false"
        values["IsMeeting"] = "true" if values.get("RequiredAttendees") or values.get("OptionalAttendees") else "false"
        values.setdefault("IsCancelled", "false")
        values.setdefault("MyResponseType", "Organizer")
        if item.exceptions:
            values["ModifiedOccurrences"] = [
                {"ItemId": mailbox.occurrence_id(item.id, original), "ChangeKey": item.changekey,
                 "Start": changed.get("Start", original), "End": changed.get("End", original),
                 "OriginalStart": original}
                for original, changed in sorted(item.exceptions.items())]
        if item.deleted:
            values["DeletedOccurrences"] = [{"Start": original} for original in sorted(item.deleted)]
    return values


def series_zone(mailbox: Mailbox, item: Item) -> dt.tzinfo:
    """The zone a series repeats in: its StartTimeZone, else the mailbox's."""
    name = iana_name((item.fields.get("StartTimeZone") or {}).get("Id")) or mailbox.calendar_zone
    return ZoneInfo(name)


def occurrence_values(mailbox: Mailbox, master: Item, original: str) -> dict[str, Any]:
    """One occurrence of a series as a calendar item of its own (Occurrence or Exception)."""
    start = parse_datetime(master.fields["Start"])
    duration = parse_datetime(master.fields["End"]) - start
    values = item_values(mailbox, master)
    for key in ("Recurrence", "ModifiedOccurrences", "DeletedOccurrences", "FirstOccurrence", "LastOccurrence"):
        values.pop(key, None)
    original_start = parse_datetime(original)
    values["Start"] = original
    values["End"] = format_datetime(original_start + duration)
    changed = master.exceptions.get(original)
    if changed:
        values.update(changed)
    values["OriginalStart"] = original
    values["RecurrenceId"] = original
    values["CalendarItemType"] = "Exception" if changed else "Occurrence"
    values["IsRecurring"] = "true"
    return values


def occurrence_originals(mailbox: Mailbox, master: Item, until: dt.datetime | None) -> list[str]:
    """Original starts of the series' live (not deleted) occurrences, up to ``until``."""
    zone = series_zone(mailbox, master)
    starts = occurrence_starts(master.fields["Recurrence"], parse_datetime(master.fields["Start"]), zone, until)
    deleted = set(master.deleted)
    return [s for s in (format_datetime(x) for x in starts) if s not in deleted]


def is_occurrence(mailbox: Mailbox, master: Item, original: str) -> bool:
    until = parse_datetime(original) + dt.timedelta(seconds=1)
    return original in occurrence_originals(mailbox, master, until)


def calendar_view(mailbox: Mailbox, item: Item, start: dt.datetime, end: dt.datetime) -> list[tuple[str, dict[str, Any]]]:
    """(item id, values) of what ``item`` shows between ``start`` and ``end``: itself or its occurrences."""
    if "Recurrence" not in item.fields:
        if parse_datetime(item.fields["Start"]) < end and parse_datetime(item.fields["End"]) > start:
            return [(item.id, item_values(mailbox, item))]
        return []
    shown = []
    for original in occurrence_originals(mailbox, item, end):
        if original in item.exceptions:
            continue
        values = occurrence_values(mailbox, item, original)
        if parse_datetime(values["Start"]) < end and parse_datetime(values["End"]) > start:
            shown.append((mailbox.occurrence_id(item.id, original), values))
    for original in item.exceptions:
        if original in item.deleted:
            continue
        values = occurrence_values(mailbox, item, original)
        if parse_datetime(values["Start"]) < end and parse_datetime(values["End"]) > start:
            shown.append((mailbox.occurrence_id(item.id, original), values))
    return shown


def resolve_occurrence(mailbox: Mailbox, parts: list[str]) -> tuple[Item, str]:
    """The master and original start an occurrence id names; ErrorItemNotFound when either is gone."""
    master_id, original = mailbox.parse_occurrence_id(parts)
    master = mailbox.item(master_id)
    if "Recurrence" not in master.fields or not (original in master.exceptions or is_occurrence(mailbox, master, original)):
        raise ItemError("ErrorItemNotFound", "The specified occurrence could not be found.")
    return master, original

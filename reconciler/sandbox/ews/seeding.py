"""Turn the ``exchange`` section of a seed into folders and items.

Seed items use EWS element names (``GivenName``, ``EmailAddresses: {EmailAddress1: ...}``, ``Start``), so
a seed reads like the wire. Event times are wall-clock times in the event's ``TimeZone`` (default: the
mailbox's); exceptions and deleted occurrences name occurrences by their original local start.
Meetings with ``SendInvitations: true`` are delivered to attendees' mailboxes like a real send.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .model import extended_key
from .recurrence import occurrence_starts
from .store import Folder, Mailbox
from .timezones import windows_id
from .wire import format_datetime

if TYPE_CHECKING:
    from .service import ExchangeService

_STRUCTURED = frozenset({"Body", "Categories", "EmailAddresses", "PhoneNumbers", "ImAddresses", "PhysicalAddresses",
                         "RequiredAttendees", "OptionalAttendees", "Resources", "Recurrence", "ExtendedProperties",
                         "ModifiedOccurrences", "DeletedOccurrences", "Start", "End", "Birthday", "TimeZone",
                         "SendInvitations", "folder", "when"})
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _local(value: Any, zone: dt.tzinfo) -> dt.datetime:
    """A seed time (YAML datetime or date, or ISO text) as an aware datetime; naive means ``zone``."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _utc(value: Any, zone: dt.tzinfo) -> str:
    return format_datetime(_local(value, zone))


def _attendee(service: "ExchangeService", entry: Any) -> dict[str, str]:
    spec = {"EmailAddress": entry} if isinstance(entry, str) else dict(entry)
    known = service.mailboxes.get(spec["EmailAddress"].lower())
    attendee = {"Name": spec.get("Name") or (known.display_name if known else spec["EmailAddress"]),
                "EmailAddress": spec["EmailAddress"], "RoutingType": "SMTP", "MailboxType": "Mailbox"}
    if "ResponseType" in spec:
        attendee["ResponseType"] = spec["ResponseType"]
    return attendee


def _clock(day: dt.date, text: str, zone: dt.tzinfo) -> dt.datetime:
    hours, minutes = (int(part) for part in str(text).split(":"))
    return dt.datetime.combine(day, dt.time(hours, minutes), tzinfo=zone)


def _when(when: dict[str, Any], zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """``when: {day, start, end}`` or ``{day, all_day: true, days}``: days count from the seeding day
    in the item's zone, so a seeded calendar is always near "now" (as in salesforce.yaml)."""
    day = dt.datetime.now(zone).date() + dt.timedelta(days=int(when.get("day", 0)))
    if when.get("all_day"):
        start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
        return start, start + dt.timedelta(days=int(when.get("days", 1)))
    return _clock(day, when["start"], zone), _clock(day, when["end"], zone)


def _occurrence_changes(spec: dict[str, Any], recurrence: dict[str, Any], start: dt.datetime,
                        zone: dt.tzinfo) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Exceptions and deletions named by occurrence number (1-based) or by original local start."""
    originals = [format_datetime(x) for x in occurrence_starts(recurrence, start, zone, None)]

    def original_of(entry: Any) -> str:
        if isinstance(entry, dict) and "occurrence" in entry:
            return originals[int(entry["occurrence"]) - 1]
        return _utc(entry["OriginalStart"] if isinstance(entry, dict) else entry, zone)

    exceptions: dict[str, dict[str, Any]] = {}
    for change in spec.get("ModifiedOccurrences") or []:
        original = original_of(change)
        fields = {k: _text(v) for k, v in change.items()
                  if k not in ("occurrence", "OriginalStart", "Start", "End", "dayShift", "start", "end")}
        if "Start" in change:
            begin, end = _local(change["Start"], zone), _local(change["End"], zone)
        else:
            day = dt.datetime.fromisoformat(original.replace("Z", "+00:00")).astimezone(zone).date()
            day += dt.timedelta(days=int(change.get("dayShift", 0)))
            begin, end = _clock(day, change["start"], zone), _clock(day, change["end"], zone)
        fields["Start"], fields["End"] = format_datetime(begin), format_datetime(end)
        exceptions[original] = fields
    deleted = [original_of(entry) for entry in spec.get("DeletedOccurrences") or []]
    return exceptions, deleted


def item_fields(service: "ExchangeService", spec: dict[str, Any], zone_name: str) -> tuple[
        dict[str, Any], dict[str, dict[str, Any]], dict[str, dict[str, Any]], list[str]]:
    """(fields, extended properties, exceptions, deleted occurrences) of one seed item."""
    zone = ZoneInfo(spec.get("TimeZone") or zone_name)
    fields: dict[str, Any] = {k: _text(v) for k, v in spec.items() if k not in _STRUCTURED}
    if "Body" in spec:
        fields["Body"] = ["Text", spec["Body"]]
    if "Categories" in spec:
        fields["Categories"] = [str(c) for c in spec["Categories"]]
    for container in ("EmailAddresses", "PhoneNumbers", "ImAddresses"):
        if spec.get(container):
            fields[container] = {k: str(v) for k, v in spec[container].items()}
    if spec.get("PhysicalAddresses"):
        fields["PhysicalAddresses"] = {k: {p: str(v) for p, v in parts.items()}
                                       for k, parts in spec["PhysicalAddresses"].items()}
    if "Birthday" in spec:
        fields["Birthday"] = f"{_text(spec['Birthday'])[:10]}T11:59:00Z"
    for name in ("RequiredAttendees", "OptionalAttendees", "Resources"):
        if spec.get(name):
            fields[name] = [_attendee(service, a) for a in spec[name]]
    exceptions: dict[str, dict[str, Any]] = {}
    deleted: list[str] = []
    if "when" in spec or "Start" in spec:
        start, end = _when(spec["when"], zone) if "when" in spec else (_local(spec["Start"], zone),
                                                                        _local(spec["End"], zone))
        fields["Start"], fields["End"] = format_datetime(start), format_datetime(end)
        fields["StartTimeZone"] = {"Id": windows_id(spec.get("TimeZone") or zone_name)}
        fields["EndTimeZone"] = dict(fields["StartTimeZone"])
        fields["IsAllDayEvent"] = _text(bool(spec.get("when", {}).get("all_day", spec.get("IsAllDayEvent", False))))
        if spec.get("Recurrence"):
            recurrence = dict(spec["Recurrence"])
            pattern, range_kind = recurrence.pop("pattern"), recurrence.pop("range")
            if pattern == "WeeklyRecurrence":
                recurrence.setdefault("DaysOfWeek", _DAYS[start.weekday()])
            recurrence.setdefault("StartDate", start.date().isoformat())
            range_keys = ("StartDate", "EndDate", "NumberOfOccurrences")
            fields["Recurrence"] = {
                "pattern": [pattern, {k: _text(v) for k, v in recurrence.items() if k not in range_keys}],
                "range": [range_kind, {k: _text(v) for k, v in recurrence.items() if k in range_keys}]}
            exceptions, deleted = _occurrence_changes(spec, fields["Recurrence"], start, zone)
    extended = {}
    for name, value in (spec.get("ExtendedProperties") or {}).items():
        uri = {"DistinguishedPropertySetId": "PublicStrings", "PropertyName": name, "PropertyType": "String"}
        extended[extended_key(uri)] = {"uri": uri, "value": str(value)}
    return fields, extended, exceptions, deleted


def _folder(mailbox: Mailbox, name: str) -> Folder:
    if name in mailbox.distinguished:
        return mailbox.folders[mailbox.distinguished[name]]
    for folder in mailbox.folders.values():
        if folder.name == name and folder.distinguished is None:
            return folder
    raise ValueError(f"seed: mailbox {mailbox.address} has no folder {name!r}")


def seed_mailbox_items(service: "ExchangeService", mailbox: Mailbox, spec: dict[str, Any]) -> None:
    for folder in spec.get("folders") or []:
        parent = _folder(mailbox, folder.get("parent", "contacts"))
        mailbox.add_folder(parent.id, folder["name"], folder.get("folderClass", parent.folder_class))
    for kind, key, default_folder in (("Contact", "contacts", "contacts"), ("CalendarItem", "events", "calendar")):
        for item_spec in spec.get(key) or []:
            fields, extended, exceptions, deleted = item_fields(service, item_spec, mailbox.calendar_zone)
            send = "SendToAllAndSaveCopy" if item_spec.get("SendInvitations") else "SendToNone"
            service.create_item(mailbox, _folder(mailbox, item_spec.get("folder", default_folder)), kind, fields,
                                extended, send, exceptions, deleted)

"""The item model: how a contact or calendar item is stored, read from SOAP and written back.

Items keep their fields under EWS element names (``GivenName``, ``EmailAddresses``, ``Start`` ...), so
one table of element kinds serves CreateItem, UpdateItem, restrictions and rendering. Values are
JSON-ready (snapshots store them as they are). Fields the server owns (ids, times, organizer,
response state) are never taken from a client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .wire import ItemError, local, normalise_datetime, sub, t

DATETIME_FIELDS = frozenset({
    "Start", "End", "OriginalStart", "Birthday", "WeddingAnniversary", "ReminderDueBy",
    "AppointmentReplyTime", "DateTimeSent", "DateTimeReceived", "RecurrenceId",
})
# xs:boolean accepts "1"/"0" as well as "true"/"false" (exchangelib sends the digits); the store keeps
# the canonical words, as Exchange answers with them and clients such as exchangelib read only those.
BOOLEAN_FIELDS = frozenset({
    "IsAllDayEvent", "ReminderIsSet", "IsResponseRequested", "AllowNewTimeProposal", "IsOnlineMeeting",
    "IsDraft", "IsRead", "HasAttachments",
})
INDEXED_CONTAINERS = {"EmailAddresses": "EmailAddress", "PhoneNumbers": "PhoneNumber", "ImAddresses": "ImAddress"}
INDEXED_BY_URI = {f"contacts:{entry}": container for container, entry in INDEXED_CONTAINERS.items()}
ADDRESS_PARTS = ("Street", "City", "State", "CountryOrRegion", "PostalCode")
ATTENDEE_LISTS = frozenset({"RequiredAttendees", "OptionalAttendees", "Resources"})
MAILBOX_PARTS = ("Name", "EmailAddress", "RoutingType", "MailboxType")
TIMEZONE_FIELDS = frozenset({"StartTimeZone", "EndTimeZone", "MeetingTimeZone"})
# Owned by the server: ignored when a client sends them, computed or kept by the store.
SERVER_MANAGED = frozenset({
    "ItemId", "ParentFolderId", "DateTimeCreated", "LastModifiedTime", "CalendarItemType", "IsMeeting",
    "IsRecurring", "ModifiedOccurrences", "DeletedOccurrences", "FirstOccurrence", "LastOccurrence",
    "Organizer", "MyResponseType", "IsCancelled", "OriginalStart", "HasAttachments", "Size",
    "EffectiveRights", "ResponseObjects", "ConversationId", "MimeContent", "TextBody",
})
# Rendered first, in this order; everything else follows in stored order.
_LEADING = ("ItemId", "ParentFolderId", "ItemClass", "Subject", "Sensitivity", "Body", "Categories",
            "Importance", "DateTimeCreated", "LastModifiedTime", "ReminderIsSet", "ReminderMinutesBeforeStart")

ITEM_CLASSES = {"Contact": "IPM.Contact", "CalendarItem": "IPM.Appointment", "Message": "IPM.Note"}


@dataclass(slots=True)
class Item:
    """One stored item. ``exceptions``/``deleted`` belong to recurring masters only."""

    id: str
    kind: str                 # the EWS element name: Contact, CalendarItem, Message ...
    folder: str
    changekey: str
    created: str
    modified: str
    fields: dict[str, Any]
    extended: dict[str, dict[str, Any]] = field(default_factory=dict)
    exceptions: dict[str, dict[str, Any]] = field(default_factory=dict)  # original start -> changed fields
    deleted: list[str] = field(default_factory=list)                    # original starts

    def to_json(self) -> list[Any]:
        return [self.id, self.kind, self.folder, self.changekey, self.created, self.modified, self.fields,
                self.extended, self.exceptions, self.deleted]

    @classmethod
    def from_json(cls, data: list[Any]) -> "Item":
        return cls(*data)


# -- extended properties -----------------------------------------------------------------------

def extended_key(uri: etree._Element | dict[str, str]) -> str:
    """A stable key for an ExtendedFieldURI (its attributes, sorted)."""
    attrs = dict(uri.attrib) if isinstance(uri, etree._Element) else uri
    return ";".join(f"{k}={attrs[k]}" for k in sorted(attrs))


def read_extended(prop: etree._Element) -> tuple[str, dict[str, Any]]:
    uri = prop.find(t("ExtendedFieldURI"))
    if uri is None:
        raise ItemError("ErrorInvalidExtendedProperty", "ExtendedProperty without ExtendedFieldURI")
    values = prop.find(t("Values"))
    value: str | list[str]
    if values is not None:
        value = [v.text or "" for v in values.findall(t("Value"))]
    else:
        value = prop.findtext(t("Value")) or ""
    return extended_key(uri), {"uri": dict(uri.attrib), "value": value}


def write_extended(parent: etree._Element, entry: dict[str, Any]) -> None:
    prop = sub(parent, t("ExtendedProperty"))
    sub(prop, t("ExtendedFieldURI"), **entry["uri"])
    if isinstance(entry["value"], list):
        values = sub(prop, t("Values"))
        for v in entry["value"]:
            sub(values, t("Value"), v)
    else:
        sub(prop, t("Value"), entry["value"])


# -- reading element values --------------------------------------------------------------------

def _mailbox(elem: etree._Element) -> dict[str, str]:
    return {p: elem.findtext(t(p)) for p in MAILBOX_PARTS if elem.find(t(p)) is not None}


def read_value(name: str, elem: etree._Element) -> Any:
    """The stored form of one item field element."""
    if name in DATETIME_FIELDS:
        return normalise_datetime(elem.text or "")
    if name in BOOLEAN_FIELDS:
        text = (elem.text or "").strip().lower()
        if text not in ("true", "false", "1", "0"):
            raise ItemError("ErrorSchemaValidation", f"{name} must be an xs:boolean, not {text!r}")
        return "true" if text in ("true", "1") else "false"
    if name == "Body":
        return [elem.get("BodyType", "Text"), elem.text or ""]
    if name == "Categories":
        return [c.text or "" for c in elem.findall(t("String"))]
    if name in INDEXED_CONTAINERS:
        return {e.get("Key"): (e.text or "") for e in elem.findall(t("Entry"))}
    if name == "PhysicalAddresses":
        return {e.get("Key"): {local(p): p.text or "" for p in e} for e in elem.findall(t("Entry"))}
    if name in ATTENDEE_LISTS:
        attendees = []
        for a in elem.findall(t("Attendee")):
            mailbox = a.find(t("Mailbox"))
            entry = _mailbox(mailbox) if mailbox is not None else {}
            for extra in ("ResponseType", "LastResponseTime"):
                if a.find(t(extra)) is not None:
                    entry[extra] = a.findtext(t(extra))
            attendees.append(entry)
        return attendees
    if name in TIMEZONE_FIELDS:
        return dict(elem.attrib)
    if name == "Recurrence":
        parts = list(elem)
        if len(parts) != 2:
            raise ItemError("ErrorInvalidRecurrence", "Recurrence needs one pattern and one range")
        return {"pattern": [local(parts[0]), {local(c): c.text or "" for c in parts[0]}],
                "range": [local(parts[1]), {local(c): c.text or "" for c in parts[1]}]}
    if len(elem):
        return {"raw": etree.tostring(elem, encoding="unicode")}
    return elem.text or ""


def read_item(elem: etree._Element) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Fields and extended properties of an item element sent by a client."""
    fields: dict[str, Any] = {}
    extended: dict[str, dict[str, Any]] = {}
    for child in elem:
        name = local(child)
        if name == "ExtendedProperty":
            key, entry = read_extended(child)
            extended[key] = entry
        elif name not in SERVER_MANAGED:
            fields[name] = read_value(name, child)
    return fields, extended


# -- field paths (FieldURI / IndexedFieldURI / ExtendedFieldURI) ------------------------------

@dataclass(frozen=True)
class FieldPath:
    """Where a FieldURI points: an element, an indexed entry (and address part), or an extended property."""

    name: str | None = None           # element name
    container: str | None = None      # indexed container (EmailAddresses ...)
    key: str | None = None            # entry key (EmailAddress1, Business ...)
    part: str | None = None           # address part (City ...)
    extended: str | None = None       # extended property key
    extended_uri: tuple[tuple[str, str], ...] = ()


def field_path(uri: etree._Element) -> FieldPath:
    kind = local(uri)
    if kind == "FieldURI":
        return FieldPath(name=uri.get("FieldURI", "").split(":")[-1])
    if kind == "IndexedFieldURI":
        value = uri.get("FieldURI", "")
        index = uri.get("FieldIndex")
        if value.startswith("contacts:PhysicalAddress:"):
            return FieldPath(container="PhysicalAddresses", key=index, part=value.split(":")[-1])
        if value in INDEXED_BY_URI:
            return FieldPath(container=INDEXED_BY_URI[value], key=index)
        raise ItemError("ErrorInvalidPropertyRequest", f"unknown indexed field {value}")
    if kind == "ExtendedFieldURI":
        return FieldPath(extended=extended_key(uri), extended_uri=tuple(sorted(uri.attrib.items())))
    raise ItemError("ErrorInvalidPropertyRequest", f"unknown field path element {kind}")


def values_at(values: dict[str, Any], extended: dict[str, dict[str, Any]], path: FieldPath) -> list[str]:
    """The string values a restriction compares at ``path`` (several for multi-valued fields)."""
    if path.extended is not None:
        entry = extended.get(path.extended)
        if entry is None:
            return []
        return list(entry["value"]) if isinstance(entry["value"], list) else [entry["value"]]
    if path.container is not None:
        container = values.get(path.container) or {}
        entry = container.get(path.key)
        if entry is None:
            return []
        if path.part is not None:
            return [entry[path.part]] if path.part in entry else []
        return [entry]
    value = values.get(path.name or "")
    if value is None:
        return []
    if path.name == "Body":
        return [value[1]]
    if isinstance(value, list):
        return [v if isinstance(v, str) else v.get("EmailAddress", "") for v in value]
    if isinstance(value, dict):
        return [value.get("EmailAddress") or value.get("Id") or ""] if value else []
    return [value]


# -- UpdateItem ------------------------------------------------------------------------------

def apply_change(item: Item, change: etree._Element) -> None:
    """Apply one SetItemField / AppendToItemField / DeleteItemField to ``item`` in place."""
    verb = local(change)
    uri = change[0]
    path = field_path(uri)
    if verb == "DeleteItemField":
        _delete(item, path)
        return
    payload = change[1] if len(change) > 1 else None
    if payload is None:
        raise ItemError("ErrorInvalidPropertySet", f"{verb} without an item element")
    if path.extended is not None:
        prop = payload.find(t("ExtendedProperty"))
        if prop is None:
            raise ItemError("ErrorInvalidPropertySet", "SetItemField on an extended property needs ExtendedProperty")
        key, entry = read_extended(prop)
        item.extended[key] = entry
        return
    if path.container is not None:
        container_elem = payload.find(t(path.container))
        entry = container_elem.find(t("Entry")) if container_elem is not None else None
        if entry is None:
            raise ItemError("ErrorInvalidPropertySet", f"{verb} on {path.container} needs an Entry")
        stored = item.fields.setdefault(path.container, {})
        if path.part is not None:
            part = entry.find(t(path.part))
            stored.setdefault(path.key, {})[path.part] = part.text or "" if part is not None else ""
        else:
            stored[path.key] = entry.text or ""
        return
    name = path.name or ""
    if name in SERVER_MANAGED:
        return
    elem = payload.find(t(name))
    if elem is None:
        raise ItemError("ErrorInvalidPropertySet", f"{verb} for {name} carries no {name} element")
    value = read_value(name, elem)
    current = item.fields.get(name)
    if verb == "AppendToItemField" and current is not None:
        if isinstance(current, list) and name == "Body":
            value = [current[0], current[1] + value[1]]
        elif isinstance(current, list):
            value = current + value
    item.fields[name] = value


def _delete(item: Item, path: FieldPath) -> None:
    """Deleting an absent field is not an error: exchangelib's full save deletes every empty field."""
    if path.extended is not None:
        item.extended.pop(path.extended, None)
    elif path.container is not None:
        container = item.fields.get(path.container)
        if container and path.key in container:
            if path.part is None:
                del container[path.key]
            else:
                container[path.key].pop(path.part, None)
                if not container[path.key]:
                    del container[path.key]
            if not container:
                del item.fields[path.container]
    elif path.name not in SERVER_MANAGED:
        item.fields.pop(path.name or "", None)


# -- shapes and rendering ---------------------------------------------------------------------

@dataclass
class Shape:
    """Which fields a response carries: a base shape plus additional properties."""

    everything: bool
    names: set[str] = field(default_factory=set)
    entries: dict[str, set[tuple[str | None, str | None]]] = field(default_factory=dict)
    extended: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, shape: etree._Element | None) -> "Shape":
        base = shape.findtext(t("BaseShape")) if shape is not None else "IdOnly"
        result = cls(everything=base in ("AllProperties", "Default"))
        additional = shape.find(t("AdditionalProperties")) if shape is not None else None
        for uri in additional if additional is not None else ():
            path = field_path(uri)
            if path.extended is not None:
                result.extended.add(path.extended)
            elif path.container is not None:
                result.entries.setdefault(path.container, set()).add((path.key, path.part))
            else:
                result.names.add(path.name or "")
        return result

    def wants(self, name: str) -> bool:
        return self.everything or name in self.names or name in self.entries


def _filter_entries(name: str, value: dict[str, Any], shape: Shape) -> dict[str, Any]:
    if shape.everything or name in shape.names:
        return value
    wanted = shape.entries.get(name, set())
    if name == "PhysicalAddresses":
        out: dict[str, Any] = {}
        for key, parts in value.items():
            chosen = {p: v for p, v in parts.items() if (key, p) in wanted}
            if chosen:
                out[key] = chosen
        return out
    return {k: v for k, v in value.items() if (k, None) in wanted}


def write_value(parent: etree._Element, name: str, value: Any) -> None:
    """Append the element for one field value (the inverse of ``read_value``)."""
    if name == "Body":
        sub(parent, t("Body"), value[1], BodyType=value[0])
    elif name == "Categories":
        node = sub(parent, t(name))
        for v in value:
            sub(node, t("String"), v)
    elif name in INDEXED_CONTAINERS:
        node = sub(parent, t(name))
        for key, v in value.items():
            sub(node, t("Entry"), v, Key=key)
    elif name == "PhysicalAddresses":
        node = sub(parent, t(name))
        for key, parts in value.items():
            entry = sub(node, t("Entry"), Key=key)
            for part in ADDRESS_PARTS:
                if part in parts:
                    sub(entry, t(part), parts[part])
    elif name in ATTENDEE_LISTS:
        node = sub(parent, t(name))
        for a in value:
            attendee = sub(node, t("Attendee"))
            mailbox = sub(attendee, t("Mailbox"))
            for p in MAILBOX_PARTS:
                if p in a:
                    sub(mailbox, t(p), a[p])
            for extra in ("ResponseType", "LastResponseTime"):
                if extra in a:
                    sub(attendee, t(extra), a[extra])
    elif name == "Organizer":
        mailbox = sub(sub(parent, t(name)), t("Mailbox"))
        for p in MAILBOX_PARTS:
            if p in value:
                sub(mailbox, t(p), value[p])
    elif name in TIMEZONE_FIELDS or name == "ParentFolderId":
        sub(parent, t(name), **value)
    elif name == "Recurrence":
        node = sub(parent, t(name))
        for part in ("pattern", "range"):
            tag, children = value[part]
            child = sub(node, t(tag))
            for k, v in children.items():
                sub(child, t(k), v)
    elif name in ("ModifiedOccurrences", "DeletedOccurrences"):
        node = sub(parent, t(name))
        for occ in value:
            occ_elem = sub(node, t("Occurrence" if name == "ModifiedOccurrences" else "DeletedOccurrence"))
            if "ItemId" in occ:
                sub(occ_elem, t("ItemId"), Id=occ["ItemId"], ChangeKey=occ["ChangeKey"])
            for k in ("Start", "End", "OriginalStart"):
                if k in occ:
                    sub(occ_elem, t(k), occ[k])
    elif isinstance(value, dict) and "raw" in value:
        parent.append(etree.fromstring(value["raw"]))
    else:
        sub(parent, t(name), value)


def render(parent: etree._Element, kind: str, item_id: str, changekey: str, values: dict[str, Any],
           extended: dict[str, dict[str, Any]], shape: Shape) -> etree._Element:
    """Write one item as ``t:<kind>`` carrying what ``shape`` asks for."""
    elem = sub(parent, t(kind))
    sub(elem, t("ItemId"), Id=item_id, ChangeKey=changekey)
    order = [n for n in _LEADING if n in values] + [n for n in values if n not in _LEADING]
    for name in order:
        if name == "ItemId" or not shape.wants(name):
            if name == "ReminderMinutesBeforeStart":  # extended properties follow it, asked for or not
                for key in sorted(shape.extended):
                    if key in extended:
                        write_extended(elem, extended[key])
            continue
        value = values[name]
        if isinstance(value, dict) and (name in INDEXED_CONTAINERS or name == "PhysicalAddresses"):
            value = _filter_entries(name, value, shape)
            if not value:
                continue
        write_value(elem, name, value)
    for key in sorted(shape.extended):  # only when asked for by ExtendedFieldURI, as Exchange does
        if key in extended:
            write_extended(elem, extended[key])
    return elem



"""The record section of a plan: per user and object, what the next sync cycle would write.

A saved plan is applied by another process, maybe hours later, so each entry carries everything
apply needs without listing again: the sync core's actions (with every write's expected version
token, the pair row to store and the tombstones to add), the bookkeeping, the change-feed cursors
the listing reached, and why a user is skipped or halted. Apply re-checks the version tokens through
conditional writes: a record that moved since the plan is deferred, never overwritten.

JSON round trip lives here (pure). The text form shows values (it goes to the operator's terminal);
the markdown form, made for pull requests, shows counts and field names only, never names, ids,
mailboxes or values.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler.sync import (Action, ActionKind, CreateOp, DeleteOp, FieldChange, FieldConflict, Guard,
                             GuardViolation, Outcome, Pair, PairUpdate, Side, Tombstone, UpdateOp, WriteOp)
from reconciler.sync.events import MAX_ATTENDEES

RECORD_ENTRY_KIND = "user_records"


class UserSyncStatus:
    """How a user/object entry stands in the plan."""

    PLANNED = "planned"   # listed and decided: the actions are what apply does
    SKIPPED = "skipped"   # not synced this cycle for a reason that retrying cannot fix (inactive, no mailbox ...)
    ERROR = "error"       # a connector failed while planning; the next cycle tries again


@dataclass(frozen=True)
class AttendeeChange:
    """One attendee write the plan expects for an event (events only).

    ``change`` is ``create_relation`` / ``update_relation`` / ``delete_relation`` (a Salesforce
    EventRelation, ``who`` its User/Lead/Contact id) or ``invite`` / ``uninvite`` (an attendee of
    the Exchange item, ``who`` the address); ``status`` is the relation's new Status. An event
    created this run has no Salesforce id yet (``salesforce_id`` None). Apply re-reads the events
    and merges again, so a record that moved since the plan gets what it needs by then."""

    event: str
    salesforce_id: str | None
    exchange_id: str | None
    change: str
    who: str
    kind: str | None = None
    status: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"event": self.event, "salesforce_id": self.salesforce_id, "exchange_id": self.exchange_id,
                "change": self.change, "who": self.who, "kind": self.kind, "status": self.status}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> AttendeeChange:
        return cls(doc["event"], doc.get("salesforce_id"), doc.get("exchange_id"), doc["change"], doc["who"],
                   doc.get("kind"), doc.get("status"))


@dataclass(frozen=True)
class AttendeeOverflow:
    """An event whose Exchange attendee list is longer than the 50 that sync (events only):
    ``attendees`` beyond the first 50 become no EventRelation. Reported, not a change: nothing
    is written for them, and the plan says so before apply does."""

    event: str
    salesforce_id: str | None
    exchange_id: str | None
    attendees: int

    @property
    def reason(self) -> str:
        return f"{self.attendees} attendees beyond the first {MAX_ATTENDEES} are not synced"

    def to_json(self) -> dict[str, Any]:
        return {"event": self.event, "salesforce_id": self.salesforce_id, "exchange_id": self.exchange_id,
                "attendees": self.attendees, "reason": self.reason}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> AttendeeOverflow:
        return cls(doc["event"], doc.get("salesforce_id"), doc.get("exchange_id"), int(doc["attendees"]))


@dataclass(frozen=True)
class UserRecordPlan:
    """One user's cycle for one object type.

    ``start_cursors`` are the cursors the listing started from (None: a full listing); apply refuses
    to move cursors another run has moved since. ``next_cursors`` are committed once every action
    of the entry is done; ``cursors_final`` is False when the listing hit errors or records wait for
    slots, so the next cycle lists the same window again. ``guards`` are mass-change violations that
    name this user (configuration-wide counts); ``halt`` is this user's own empty-side guard.
    ``revisits`` are the (side, id) records the plan fetched because an earlier apply deferred or
    failed them (apply forgets them with the cursors); ``full_listings`` maps each side listed in
    full to the ISO time the listing began (apply records it with the cursors). ``attendees`` are
    the attendee writes an event entry expects, ``attendee_overflow`` its events with more
    attendees than sync. ``salesforce_user_zone`` is the owner's Salesforce TimeZoneSidKey as the
    plan read it (event entries: the zone of all-day reminders), so apply needs no directory read.
    """

    user: str
    object: str
    status: str
    reason: str = ""
    configuration: str | None = None
    direction: str | None = None
    mailbox: str | None = None
    salesforce_user_id: str | None = None
    salesforce_user_zone: str | None = None
    reset: bool = False
    start_cursors: Mapping[str, str | None] = field(default_factory=dict)
    next_cursors: Mapping[str, str] = field(default_factory=dict)
    cursors_final: bool = False
    listing_errors: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    bookkeeping: tuple[PairUpdate, ...] = ()
    halt: GuardViolation | None = None
    guards: tuple[GuardViolation, ...] = ()
    revisits: tuple[tuple[str, str], ...] = ()
    full_listings: Mapping[str, str] = field(default_factory=dict)
    attendees: tuple[AttendeeChange, ...] = ()
    attendee_overflow: tuple[AttendeeOverflow, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        """Actions by kind, for the summary lines and ``--detailed-exitcode``."""
        return dict(sorted(Counter(action.kind.value for action in self.actions).items()))

    @property
    def change_count(self) -> int:
        """Record actions that change something, plus the attendee writes an event entry expects."""
        return sum(action.is_change for action in self.actions) + len(self.attendees)

    @property
    def violations(self) -> tuple[GuardViolation, ...]:
        return self.guards + ((self.halt,) if self.halt is not None else ())

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": RECORD_ENTRY_KIND,
            "user": self.user,
            "object": self.object,
            "status": self.status,
            "reason": self.reason,
            "configuration": self.configuration,
            "direction": self.direction,
            "mailbox": self.mailbox,
            "salesforce_user_id": self.salesforce_user_id,
            "salesforce_user_zone": self.salesforce_user_zone,
            "reset": self.reset,
            "start_cursors": dict(self.start_cursors),
            "next_cursors": dict(self.next_cursors),
            "cursors_final": self.cursors_final,
            "listing_errors": list(self.listing_errors),
            "counts": self.counts,
            "actions": [action_to_json(action) for action in self.actions],
            "bookkeeping": [pair_update_to_json(update) for update in self.bookkeeping],
            "halt": violation_to_json(self.halt) if self.halt is not None else None,
            "guards": [violation_to_json(violation) for violation in self.guards],
            "revisits": [list(ref) for ref in self.revisits],
            "full_listings": dict(self.full_listings),
            "attendees": [change.to_json() for change in self.attendees],
            "attendee_overflow": [overflow.to_json() for overflow in self.attendee_overflow],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> UserRecordPlan:
        return cls(
            user=doc["user"], object=doc["object"], status=doc["status"], reason=doc.get("reason", ""),
            configuration=doc.get("configuration"), direction=doc.get("direction"), mailbox=doc.get("mailbox"),
            salesforce_user_id=doc.get("salesforce_user_id"), salesforce_user_zone=doc.get("salesforce_user_zone"),
            reset=bool(doc.get("reset", False)),
            start_cursors=dict(doc.get("start_cursors") or {}), next_cursors=dict(doc.get("next_cursors") or {}),
            cursors_final=bool(doc.get("cursors_final", False)),
            listing_errors=tuple(doc.get("listing_errors", ())),
            actions=tuple(action_from_json(a) for a in doc.get("actions", ())),
            bookkeeping=tuple(pair_update_from_json(u) for u in doc.get("bookkeeping", ())),
            halt=violation_from_json(doc["halt"]) if doc.get("halt") else None,
            guards=tuple(violation_from_json(v) for v in doc.get("guards", ())),
            revisits=tuple((str(side), str(record_id)) for side, record_id in doc.get("revisits", ())),
            full_listings=dict(doc.get("full_listings") or {}),
            attendees=tuple(AttendeeChange.from_json(a) for a in doc.get("attendees", ())),
            attendee_overflow=tuple(AttendeeOverflow.from_json(o) for o in doc.get("attendee_overflow", ())),
        )


def record_entries(record_changes: Iterable[Mapping[str, Any]]) -> list[UserRecordPlan]:
    """The user entries of a plan's ``record_changes``."""
    return [UserRecordPlan.from_json(doc) for doc in record_changes if doc.get("kind") == RECORD_ENTRY_KIND]


def has_record_changes(record_changes: Iterable[Mapping[str, Any]]) -> bool:
    """True when applying would write a record or stop syncing one (what ``--detailed-exitcode`` reports)."""
    return any(entry.change_count for entry in record_entries(record_changes))


# -- JSON of the sync core's values -----------------------------------------------------------------

def write_to_json(op: WriteOp | None) -> dict[str, Any] | None:
    if op is None:
        return None
    if isinstance(op, CreateOp):
        return {"op": "create", "fields": dict(op.fields), "salesforce_id_stamp": op.salesforce_id_stamp}
    if isinstance(op, UpdateOp):
        return {"op": "update", "record_id": op.record_id, "expected_version": op.expected_version,
                "fields": dict(op.fields), "salesforce_id_stamp": op.salesforce_id_stamp}
    return {"op": "delete", "record_id": op.record_id, "expected_version": op.expected_version}


def write_from_json(doc: Mapping[str, Any] | None) -> WriteOp | None:
    if doc is None:
        return None
    if doc["op"] == "create":
        return CreateOp(fields=dict(doc["fields"]), salesforce_id_stamp=doc.get("salesforce_id_stamp"))
    if doc["op"] == "update":
        return UpdateOp(record_id=doc["record_id"], expected_version=doc["expected_version"],
                        fields=dict(doc["fields"]), salesforce_id_stamp=doc.get("salesforce_id_stamp"))
    if doc["op"] == "delete":
        return DeleteOp(record_id=doc["record_id"], expected_version=doc["expected_version"])
    raise ValueError(f"unknown write op {doc['op']!r}")


def tombstone_to_json(tombstone: Tombstone) -> dict[str, Any]:
    return {"side": tombstone.side.value, "record_id": tombstone.record_id, "reason": tombstone.reason,
            "at": tombstone.at.isoformat()}


def tombstone_from_json(doc: Mapping[str, Any]) -> Tombstone:
    return Tombstone(Side(doc["side"]), doc["record_id"], doc["reason"], datetime.fromisoformat(doc["at"]))


def violation_to_json(violation: GuardViolation) -> dict[str, Any]:
    return violation.describe()


def violation_from_json(doc: Mapping[str, Any]) -> GuardViolation:
    return GuardViolation(guard=Guard(doc["guard"]), message=doc["message"], observed=int(doc["observed"]),
                          limit=doc.get("limit"), users=tuple(doc.get("users", ())),
                          side=Side(doc["side"]) if doc.get("side") else None)


def action_to_json(action: Action) -> dict[str, Any]:
    return {
        "kind": action.kind.value,
        "object_type": action.object_type,
        "salesforce_id": action.salesforce_id,
        "exchange_id": action.exchange_id,
        "display_name": action.display_name,
        "reason": action.reason,
        "changes": [{"side": c.side.value, "key": c.key, "field": c.field, "before": c.before, "after": c.after}
                    for c in action.changes],
        "conflicts": [{"key": c.key, "salesforce_value": c.salesforce_value, "exchange_value": c.exchange_value,
                       "winner": c.winner.value, "rule": c.rule} for c in action.conflicts],
        "issues": list(action.issues),
        "salesforce_write": write_to_json(action.salesforce_write),
        "exchange_write": write_to_json(action.exchange_write),
        "previous_pair": action.previous_pair.to_json() if action.previous_pair else None,
        "next_pair": action.next_pair.to_json() if action.next_pair else None,
        "tombstones": [tombstone_to_json(t) for t in action.tombstones],
        "candidates": {k: list(v) for k, v in action.candidates.items()} if action.candidates is not None else None,
    }


def action_from_json(doc: Mapping[str, Any]) -> Action:
    return Action(
        kind=ActionKind(doc["kind"]),
        object_type=doc["object_type"],
        salesforce_id=doc.get("salesforce_id"),
        exchange_id=doc.get("exchange_id"),
        display_name=doc.get("display_name", ""),
        reason=doc.get("reason", ""),
        changes=tuple(FieldChange(Side(c["side"]), c["key"], c["field"], c.get("before"), c.get("after"))
                      for c in doc.get("changes", ())),
        conflicts=tuple(FieldConflict(c["key"], c.get("salesforce_value"), c.get("exchange_value"),
                                      Side(c["winner"]), c["rule"]) for c in doc.get("conflicts", ())),
        issues=tuple(doc.get("issues", ())),
        salesforce_write=write_from_json(doc.get("salesforce_write")),
        exchange_write=write_from_json(doc.get("exchange_write")),
        previous_pair=Pair.from_json(doc["previous_pair"]) if doc.get("previous_pair") else None,
        next_pair=Pair.from_json(doc["next_pair"]) if doc.get("next_pair") else None,
        tombstones=tuple(tombstone_from_json(t) for t in doc.get("tombstones", ())),
        candidates=({k: tuple(v) for k, v in doc["candidates"].items()} if doc.get("candidates") is not None
                    else None),
    )


def pair_update_to_json(update: PairUpdate) -> dict[str, Any]:
    return {"outcome": update.outcome.value,
            "remove": update.remove.to_json() if update.remove else None,
            "store": update.store.to_json() if update.store else None,
            "tombstones": [tombstone_to_json(t) for t in update.tombstones],
            "message": update.message}


def pair_update_from_json(doc: Mapping[str, Any]) -> PairUpdate:
    return PairUpdate(Outcome(doc["outcome"]),
                      remove=Pair.from_json(doc["remove"]) if doc.get("remove") else None,
                      store=Pair.from_json(doc["store"]) if doc.get("store") else None,
                      tombstones=tuple(tombstone_from_json(t) for t in doc.get("tombstones", ())),
                      message=doc.get("message", ""))


# -- renderers --------------------------------------------------------------------------------------

_SYMBOLS = {
    ActionKind.CREATE_EXCHANGE: "+", ActionKind.CREATE_SALESFORCE: "+", ActionKind.UPDATE_EXCHANGE: "~",
    ActionKind.UPDATE_SALESFORCE: "~", ActionKind.UPDATE_BOTH: "~", ActionKind.RESOLVE_CONFLICT: "~",
    ActionKind.DELETE_EXCHANGE: "-", ActionKind.DELETE_SALESFORCE: "-", ActionKind.UNLINK: "/",
    ActionKind.PAIR: "=", ActionKind.SKIP: " ", ActionKind.AMBIGUOUS: "?", ActionKind.DEFER: ".",
}


def _ids(salesforce_id: str | None, exchange_id: str | None) -> str:
    """`` [salesforce <id>, exchange <id>]`` for the ids a line has, or nothing."""
    ids = ", ".join(f"{side} {record_id}" for side, record_id in
                    (("salesforce", salesforce_id), ("exchange", exchange_id)) if record_id)
    return f" [{ids}]" if ids else ""


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items()) or "nothing to do"


def render_records_text(record_changes: Iterable[Mapping[str, Any]]) -> list[str]:
    """Terminal lines of the record section (values included: the operator's own terminal)."""
    entries = record_entries(record_changes)
    if not entries:
        return []
    lines = ["", "Record changes:"]
    for entry in entries:
        where = f"{entry.object}, {entry.configuration}" + (f", mailbox {entry.mailbox}" if entry.mailbox else "")
        if entry.status != UserSyncStatus.PLANNED:
            lines.append(f"  {entry.user} ({entry.object}): {entry.status}: {entry.reason}")
            continue
        lines.append(f"  {entry.user} ({where}): {_counts_text(entry.counts)}"
                     + ("; Reset Sync: pairs are rebuilt" if entry.reset else ""))
        for problem in entry.listing_errors:
            lines.append(f"    ! listing error: {problem}")
        for violation in entry.violations:
            lines.append(f"    ! guard {violation.guard.value}: {violation.message} (override with --allow-mass-changes)")
        for action in entry.actions:
            lines.append(f"    {_SYMBOLS[action.kind]} {action.kind.value} {action.display_name}"
                         + _ids(action.salesforce_id, action.exchange_id) + f": {action.reason}")
            for change in action.changes:
                lines.append(f"        {change.side.value}.{change.field}: {_value(change.before)} -> {_value(change.after)}")
            for conflict in action.conflicts:
                lines.append(f"        conflict {conflict.key}: salesforce {_value(conflict.salesforce_value)}, "
                             f"exchange {_value(conflict.exchange_value)}; {conflict.winner.value} wins ({conflict.rule})")
            for issue in action.issues:
                lines.append(f"        note: {issue}")
        for change in entry.attendees:
            detail = ", ".join(filter(None, [change.kind, change.status]))
            lines.append(f"    @ {change.change.replace('_', ' ')} {change.who}" + (f" ({detail})" if detail else "")
                         + f" of {change.event}" + _ids(change.salesforce_id, change.exchange_id))
        for overflow in entry.attendee_overflow:
            lines.append(f"    ! attendees of {overflow.event}: {overflow.reason}"
                         + _ids(overflow.salesforce_id, overflow.exchange_id))
    totals: Counter[str] = Counter()
    for entry in entries:
        totals.update(entry.counts)
    lines += ["", f"Records: {_counts_text(dict(sorted(totals.items())))}."]
    return lines


def render_records_markdown(record_changes: Iterable[Mapping[str, Any]]) -> list[str]:
    """Pull-request lines: per configuration, how many users and actions of each kind, and which field
    NAMES change. No user names, mailboxes, ids or values."""
    entries = record_entries(record_changes)
    if not entries:
        return []
    per_configuration: dict[str, Counter[str]] = defaultdict(Counter)
    fields: dict[str, set[str]] = defaultdict(set)
    not_synced: Counter[str] = Counter()
    for entry in entries:
        configuration = entry.configuration or "(none)"
        if entry.status != UserSyncStatus.PLANNED:
            not_synced[entry.status] += 1
            continue
        per_configuration[configuration]["users"] += 1
        per_configuration[configuration].update(entry.counts)
        if entry.violations:
            per_configuration[configuration]["guard violations"] += len(entry.violations)
        for action in entry.actions:
            fields[action.kind.value].update(f"{c.side.value}.{c.field}" for c in action.changes)
        per_configuration[configuration].update(f"attendee {c.change}" for c in entry.attendees)
        if entry.attendee_overflow:
            per_configuration[configuration][f"events with attendees beyond {MAX_ATTENDEES} not synced"] += len(
                entry.attendee_overflow)
    lines = ["", "#### Record changes", "", "| Configuration | Counts |", "| --- | --- |"]
    for configuration in sorted(per_configuration):
        counts = per_configuration[configuration]
        text = ", ".join(f"{kind.replace('_', ' ')}: {n}" for kind, n in sorted(counts.items()))
        lines.append(f"| `SyncConfiguration/{configuration}` | {text} |")
    for status, count in sorted(not_synced.items()):
        lines.append(f"| users {status} | {count} |")
    if any(fields.values()):
        lines += ["", "| Action | Fields written |", "| --- | --- |"]
        for kind in sorted(fields):
            if fields[kind]:
                lines.append(f"| {kind.replace('_', ' ')} | {', '.join(f'`{f}`' for f in sorted(fields[kind]))} |")
    return lines

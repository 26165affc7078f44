"""An event's start, end and all-day flag merge as one time span: when both sides changed the
span since the last sync, even different parts of it, the conflict policy gives one side's whole
span to the other. Field by field, an event extended in Salesforce and moved in Exchange became
the moved start with the old day's end: an end before its start, which Salesforce refuses, so
the event failed every cycle and never converged."""

from __future__ import annotations

import datetime as dt

import pytest

from reconciler.sync import ActionKind, ConflictPolicy, Side, SideSnapshot, SourceRecord, SyncPolicy, build_mapping, decide
from reconciler.sync.events import EVENT
from reconciler.sync.status import Pair

NOW = dt.datetime(2026, 11, 25, 9, 50, tzinfo=dt.timezone.utc)
MAPPING = build_mapping(EVENT)
BASE = {"Subject": "Review", "Start": "2026-12-01T10:00:00Z", "End": "2026-12-01T11:00:00Z", "IsAllDayEvent": "false",
        "Location": "Room 1", "Body": None, "LegacyFreeBusyStatus": "Busy", "Sensitivity": "Normal",
        "ReminderIsSet": "false", "ReminderMinutesBeforeStart": None}
EXTENDED = {"End": "2026-12-01T12:00:00Z"}                                          # an hour longer
MOVED = {"Start": "2026-12-02T10:00:00Z", "End": "2026-12-02T11:00:00Z"}           # to the next day
ALL_DAY = {"Start": "2026-12-01", "End": "2026-12-02", "IsAllDayEvent": "true"}


def _salesforce(canonical: dict[str, object]) -> dict[str, object]:
    return {MAPPING.field(key).name_on(Side.SALESFORCE): value for key, value in canonical.items()}


def _decide(salesforce: dict[str, object], exchange: dict[str, object], conflict: ConflictPolicy):
    pair = Pair("00U1", "AAMk1", "v1", "ck1", MAPPING.hash(BASE), MAPPING.hash(BASE), dict(BASE))
    policy = SyncPolicy(MAPPING, conflict=conflict)
    [action] = decide(policy, [pair], SideSnapshot.of([SourceRecord("00U1", "v2", _salesforce({**BASE, **salesforce}))]),
                      SideSnapshot.of([SourceRecord("AAMk1", "ck2", {**BASE, **exchange}, "00U1")]), now=NOW).actions
    return action


def _span(fields: dict[str, object]) -> tuple[object, object]:
    return fields["Start"], fields["End"]


def _after(side: Side, changed: dict[str, object], write) -> tuple[object, object]:
    """The span a side holds once ``write`` (its update, if any) is done."""
    fields = {**BASE, **changed}
    if write is not None:
        fields |= {key: write.fields[MAPPING.field(key).name_on(side)] for key in ("Start", "End")
                   if MAPPING.field(key).name_on(side) in write.fields}
    return _span(fields)


@pytest.mark.parametrize(("conflict", "winner"), [(ConflictPolicy.SALESFORCE_WINS, Side.SALESFORCE),
                                                   (ConflictPolicy.EXCHANGE_WINS, Side.EXCHANGE)])
def test_an_event_extended_on_one_side_and_moved_on_the_other_keeps_one_sides_whole_span(conflict, winner):
    action = _decide(EXTENDED, MOVED, conflict)
    assert action.kind is ActionKind.RESOLVE_CONFLICT
    winning_span = _span({**BASE, **(EXTENDED if winner is Side.SALESFORCE else MOVED)})
    assert _after(Side.SALESFORCE, EXTENDED, action.salesforce_write) == winning_span
    assert _after(Side.EXCHANGE, MOVED, action.exchange_write) == winning_span
    assert action.next_pair is not None and _span(action.next_pair.base) == winning_span
    assert {c.key for c in action.conflicts} == {"Start", "End"}


def test_a_timed_event_made_all_day_on_one_side_and_moved_on_the_other_keeps_one_sides_whole_span():
    action = _decide(ALL_DAY, MOVED, ConflictPolicy.EXCHANGE_WINS)
    assert action.salesforce_write is not None and action.exchange_write is None
    assert action.next_pair is not None
    assert {key: action.next_pair.base[key] for key in ("Start", "End", "IsAllDayEvent")} == {
        **MOVED, "IsAllDayEvent": "false"}


def test_the_span_changed_on_one_side_only_and_other_fields_on_the_other_both_survive():
    action = _decide({"Location": "Room 9"}, EXTENDED, ConflictPolicy.SALESFORCE_WINS)
    assert action.kind is ActionKind.UPDATE_BOTH and not action.conflicts
    assert action.next_pair is not None
    assert {key: action.next_pair.base[key] for key in ("Start", "End", "Location")} == {
        "Start": BASE["Start"], "End": EXTENDED["End"], "Location": "Room 9"}

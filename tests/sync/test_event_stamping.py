"""Occurrences of a series never carry the Salesforce Id stamp: the core never asks for one when an
Exchange record says it cannot be stamped, and its pair counts as stamped from the start."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from reconciler.sync import ActionKind, SideSnapshot, SourceRecord, SyncPolicy, build_mapping, decide
from reconciler.sync.events import EVENT

NOW = dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc)
OCCURRENCE = {"Subject": "Weekly pipeline sync", "Start": "2026-11-26T18:00:00Z", "End": "2026-11-26T18:30:00Z",
              "IsAllDayEvent": "false", "LegacyFreeBusyStatus": "Busy", "Sensitivity": "Normal",
              "ReminderIsSet": "false", "Location": None, "Body": None, "ReminderMinutesBeforeStart": None}
EVENT_FIELDS = {"Subject": "Weekly pipeline sync", "StartDateTime": "2026-11-26T18:00:00Z",
                "EndDateTime": "2026-11-26T18:30:00Z", "IsAllDayEvent": "false", "ShowAs": "Busy",
                "IsPrivate": "Normal", "IsReminderSet": "false", "Location": None, "Description": None,
                "ReminderDateTime": None}
POLICY = SyncPolicy(build_mapping(EVENT))


def _decide(pairs, salesforce, exchange):
    return decide(POLICY, pairs, SideSnapshot.of(salesforce, full=True), SideSnapshot.of(exchange, full=True), now=NOW)


def test_a_first_match_with_an_occurrence_writes_no_stamp_and_stores_the_pair_as_stamped():
    [action] = _decide([], [SourceRecord("00U1", "v1", EVENT_FIELDS)],
                       [SourceRecord("AAMk1", "ck1", OCCURRENCE, stampable=False)]).actions
    assert action.kind is ActionKind.PAIR and action.exchange_write is None
    assert action.next_pair is not None and action.next_pair.exchange_stamped


def test_a_stampable_item_still_gets_the_stamp_on_its_first_match():
    [action] = _decide([], [SourceRecord("00U1", "v1", EVENT_FIELDS)],
                       [SourceRecord("AAMk1", "ck1", OCCURRENCE)]).actions
    assert action.exchange_write is not None and action.exchange_write.salesforce_id_stamp == "00U1"


def test_a_salesforce_event_created_from_an_occurrence_is_paired_as_stamped_and_never_stamped_later():
    [create] = _decide([], [], [SourceRecord("AAMk1", "ck1", OCCURRENCE, stampable=False)]).actions
    assert create.kind is ActionKind.CREATE_SALESFORCE and create.next_pair.exchange_stamped
    paired = replace(create.next_pair, salesforce_id="00U1", salesforce_version="v1")   # as apply stores it
    decisions = _decide([paired], [SourceRecord("00U1", "v1", EVENT_FIELDS)],
                        [SourceRecord("AAMk1", "ck2", OCCURRENCE, stampable=False)])
    assert not [a for a in decisions.actions if a.writes]

"""The pure event rules: descriptor, codecs, free/busy, privacy, selection, window, recurrence keys,
attendees and the organizer/copy rule. Table-driven; every row is a rule from docs/event-rules.md."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from reconciler.sync import ActionKind, Side, SideSnapshot, SourceRecord, SyncPolicy, build_mapping, decide
from reconciler.sync.events import (
    EVENT, MASKED_SUBJECT, OUTSIDE_ORGANIZER_KINDS, SYNCED_ATTENDEES, Attendee, AttendeePlan, CopyAction, EventWindow,
    ExchangeEventCodec, ExchangeEventValues, Invitee, ItemRole, OccurrenceKey, PrivateEvents, RelationKind,
    SalesforceEventCodec, Treatment, attendee_changes, invitee_copy_decision, is_organizers_item, masked, occurrence_key, pairs_outside_window, plan_attendees,
    privacy_treatment, related_record, relation_status, salesforce_recurrence_reason,
    selected_by_category, synced_attendees, writable_into_masked,
)
from reconciler.sync.status import Pair
from reconciler.sync.time_rules import EventTimeError

UTC = dt.timezone.utc
LA = ZoneInfo("America/Los_Angeles")
AUCKLAND = ZoneInfo("Pacific/Auckland")
NOW = dt.datetime(2026, 11, 25, 9, 50, tzinfo=UTC)


def sf_raw(**fields: object) -> dict[str, object]:
    raw: dict[str, object] = {"Subject": "Pipeline review", "StartDateTime": "2026-11-26T17:00:00.000+0000",
                              "EndDateTime": "2026-11-26T18:00:00.000+0000", "IsAllDayEvent": False,
                              "ActivityDate": "2026-11-26", "DurationInMinutes": 60, "Location": "Teams",
                              "Description": None, "ShowAs": "Busy", "IsPrivate": False, "IsReminderSet": False,
                              "ReminderDateTime": None}
    raw.update(fields)
    return raw


def ex_values(**values: object) -> ExchangeEventValues:
    defaults: dict[str, object] = dict(start=dt.datetime(2026, 11, 26, 9, tzinfo=LA),
                                       end=dt.datetime(2026, 11, 26, 10, tzinfo=LA), is_all_day=False,
                                       legacy_free_busy_status="Busy", sensitivity="Normal", reminder_is_set=False,
                                       reminder_minutes_before_start=15)
    defaults.update(values)
    return ExchangeEventValues(**defaults)  # type: ignore[arg-type]


# -- descriptor and mapping ----------------------------------------------------------------------------

def test_default_event_mapping_covers_the_exchange_vocabulary() -> None:
    mapping = build_mapping(EVENT)
    assert {(f.salesforce_field, f.exchange_field) for f in mapping.fields} == {
        ("Subject", "Subject"), ("StartDateTime", "Start"), ("EndDateTime", "End"),
        ("IsAllDayEvent", "IsAllDayEvent"), ("Location", "Location"), ("Description", "Body"),
        ("ShowAs", "LegacyFreeBusyStatus"), ("IsPrivate", "Sensitivity"), ("IsReminderSet", "ReminderIsSet"),
        ("ReminderDateTime", "ReminderMinutesBeforeStart")}
    assert set(EVENT.exchange_fields) == {f.exchange_field for f in mapping.fields}


@pytest.mark.parametrize(("left", "right", "matches"), [
    ({"Subject": "Review", "Start": "2026-11-26T17:00:00Z", "End": "2026-11-26T18:00:00Z"},
     {"Subject": "  review ", "Start": "2026-11-26T17:00:00Z", "End": "2026-11-26T18:00:00Z"}, True),
    ({"Subject": "Review", "Start": "2026-11-26T17:00:00Z", "End": "2026-11-26T18:00:00Z"},
     {"Subject": "Review", "Start": "2026-11-26T17:00:00Z", "End": "2026-11-26T18:30:00Z"}, False),
    ({"Subject": "Offsite", "Start": "2026-11-28", "End": "2026-11-29"},
     {"Subject": "Offsite", "Start": "2026-11-28", "End": "2026-11-29"}, True),
    ({"Subject": "Review", "Start": None, "End": None}, {"Subject": "Review", "Start": None, "End": None}, False),
])
def test_first_sync_matching_key_is_subject_start_and_end(left, right, matches) -> None:
    rule = EVENT.match_rules[0]
    key_left, key_right = rule.key(left), rule.key(right)
    assert (key_left is not None and key_left == key_right) is matches


def test_a_synced_pair_of_the_same_event_reads_as_equal_and_matches_without_writes() -> None:
    """Both codecs make the same canonical record, so first sync pairs and writes nothing."""
    salesforce = SalesforceEventCodec(LA).read(sf_raw(ShowAs="OutOfOffice", IsReminderSet=True,
                                                      ReminderDateTime="2026-11-26T16:45:00.000+0000"))
    exchange = ExchangeEventCodec(LA).read(ex_values(legacy_free_busy_status="OOF", reminder_is_set=True))
    exchange |= {"Subject": "Pipeline review", "Location": "Teams", "Body": None}
    policy = SyncPolicy(build_mapping(EVENT))
    decisions = decide(policy, [], SideSnapshot.of([SourceRecord("00U1", "v1", salesforce)], full=True),
                       SideSnapshot.of([SourceRecord("AAMk1", "ck1", exchange)], full=True), now=NOW)
    [action] = decisions.actions
    assert action.kind is ActionKind.PAIR and action.reason == "first-sync match by subject_start_end"
    assert action.salesforce_write is None
    assert action.exchange_write is not None and dict(action.exchange_write.fields) == {}  # the stamp only


def test_an_exchange_all_day_event_creates_a_salesforce_all_day_event_on_the_same_date() -> None:
    exchange = ExchangeEventCodec(LA).read(ex_values(start=dt.date(2026, 11, 28), end=dt.date(2026, 11, 30),
                                                     is_all_day=True, legacy_free_busy_status="Tentative"))
    exchange |= {"Subject": "Offsite", "Location": None, "Body": None}
    decisions = decide(SyncPolicy(build_mapping(EVENT)), [], SideSnapshot.of([], full=True),
                       SideSnapshot.of([SourceRecord("AAMk2", "ck", exchange)], full=True), now=NOW)
    [action] = decisions.actions
    assert action.kind is ActionKind.CREATE_SALESFORCE
    body = SalesforceEventCodec(AUCKLAND).write(action.salesforce_write.fields, None)
    assert body["IsAllDayEvent"] is True and body["ActivityDate"] == "2026-11-28"
    assert body["DurationInMinutes"] == 2 * 1440
    assert body["ShowAs"] == "Busy"   # Tentative has no Salesforce counterpart: read as Busy


# -- codecs --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("exchange", "canonical"), [
    ("Busy", "Busy"), ("Free", "Free"), ("OOF", "OOF"),
    ("Tentative", "Busy"), ("WorkingElsewhere", "Free"), ("NoData", None), (None, None),
])
def test_legacy_free_busy_status_reads_as_the_nearest_salesforce_value(exchange, canonical) -> None:
    assert ExchangeEventCodec(LA).read(ex_values(legacy_free_busy_status=exchange))["LegacyFreeBusyStatus"] == canonical


@pytest.mark.parametrize(("show_as", "canonical"), [("Busy", "Busy"), ("Free", "Free"), ("OutOfOffice", "OOF")])
def test_show_as_round_trips_through_the_canonical_value(show_as, canonical) -> None:
    codec = SalesforceEventCodec(LA)
    read = codec.read(sf_raw(ShowAs=show_as))
    assert read["ShowAs"] == canonical
    assert codec.write({"ShowAs": read["ShowAs"]}, read) == {"ShowAs": show_as}


@pytest.mark.parametrize(("sensitivity", "canonical"), [
    ("Normal", "Normal"), ("Personal", "Normal"), ("Private", "Private"), ("Confidential", "Private"), (None, "Normal"),
])
def test_sensitivity_reads_private_only_for_hidden_items(sensitivity, canonical) -> None:
    assert ExchangeEventCodec(LA).read(ex_values(sensitivity=sensitivity))["Sensitivity"] == canonical


@pytest.mark.parametrize(("is_set", "reminder", "minutes"), [
    (True, "2026-11-26T16:45:00.000+0000", "15"),
    (True, None, None),                    # a flag without a time is no reminder
    (False, "2026-11-26T16:45:00.000+0000", None),
])
def test_salesforce_reminders_read_as_minutes_before_the_start(is_set, reminder, minutes) -> None:
    read = SalesforceEventCodec(LA).read(sf_raw(IsReminderSet=is_set, ReminderDateTime=reminder))
    assert (read["IsReminderSet"], read["ReminderDateTime"]) == ("true" if minutes else "false", minutes)


def test_moving_a_salesforce_event_moves_its_reminder_with_it() -> None:
    codec = SalesforceEventCodec(LA)
    current = codec.read(sf_raw(IsReminderSet=True, ReminderDateTime="2026-11-26T16:45:00.000+0000"))
    body = codec.write({"StartDateTime": "2026-11-27T17:00:00Z", "EndDateTime": "2026-11-27T18:00:00Z"}, current)
    assert body["ReminderDateTime"] == "2026-11-27T16:45:00Z" and body["DurationInMinutes"] == 60


def test_an_all_day_reminder_counts_from_the_owners_midnight() -> None:
    codec = SalesforceEventCodec(AUCKLAND)
    body = codec.write({"StartDateTime": "2026-11-28", "EndDateTime": "2026-11-29", "IsAllDayEvent": "true",
                        "IsReminderSet": "true", "ReminderDateTime": "60"}, None)
    assert body["ReminderDateTime"] == "2026-11-27T10:00:00Z"   # 23:00 NZDT on the 27th


def test_a_start_without_an_end_or_mixed_shapes_are_refused() -> None:
    codec = SalesforceEventCodec(LA)
    with pytest.raises(EventTimeError):
        codec.write({"StartDateTime": "2026-11-28"}, None)
    with pytest.raises(EventTimeError):
        codec.write({"StartDateTime": "2026-11-28", "EndDateTime": "2026-11-29T00:00:00Z"}, None)


def test_exchange_writes_put_timed_events_in_the_mailbox_zone_keeping_wall_clock_across_dst() -> None:
    codec = ExchangeEventCodec(LA)
    # 17:00 UTC is 10:00 in Los Angeles before the November DST change (PDT) and 09:00 after (PST).
    before = codec.write_times({"Start": "2026-10-26T17:00:00Z", "End": "2026-10-26T18:00:00Z"}, None)
    after = codec.write_times({"Start": "2026-11-02T18:00:00Z", "End": "2026-11-02T19:00:00Z"}, None)
    assert before is not None and after is not None
    assert before[0].tzinfo is LA and (before[0].hour, after[0].hour) == (10, 10)
    assert codec.write_times({"Subject": "x"}, None) is None


def test_exchange_writes_all_day_events_as_dates() -> None:
    assert ExchangeEventCodec(AUCKLAND).write_times(
        {"Start": "2026-11-28", "End": "2026-11-29", "IsAllDayEvent": "true"}, None) == (
        dt.date(2026, 11, 28), dt.date(2026, 11, 29), True)


# -- privacy and selection ---------------------------------------------------------------------------

@pytest.mark.parametrize(("mode", "is_private", "treatment"), [
    (PrivateEvents.SKIP, True, Treatment.SKIP), (PrivateEvents.SKIP, False, Treatment.SYNC),
    (PrivateEvents.SYNC, True, Treatment.SYNC), (PrivateEvents.BUSY_ONLY, True, Treatment.MASK),
    (PrivateEvents.BUSY_ONLY, False, Treatment.SYNC),
])
def test_privacy_modes(mode, is_private, treatment) -> None:
    assert privacy_treatment(mode, is_private) is treatment


def test_busy_only_keeps_the_time_and_hides_subject_body_and_location() -> None:
    names = {"Subject": "Subject", "Body": "Description", "Location": "Location"}
    fields = {"Subject": "Dentist", "Description": "root canal", "Location": "Dr Who",
              "StartDateTime": "2026-11-26T22:00:00Z", "IsPrivate": "Private"}
    assert masked(fields, names) == {"Subject": MASKED_SUBJECT, "Description": None, "Location": None,
                                     "StartDateTime": "2026-11-26T22:00:00Z", "IsPrivate": "Private"}
    assert writable_into_masked({"Subject": "Lunch", "StartDateTime": "2026-11-26T23:00:00Z"}, names) == {
        "StartDateTime": "2026-11-26T23:00:00Z"}


@pytest.mark.parametrize(("categories", "selection", "category", "selected"), [
    (None, "all", None, True), (["Salesforce"], "category", "Salesforce", True),
    (["salesforce "], "category", "Salesforce", True), (["Red"], "category", "Salesforce", False),
    ([], "category", "Salesforce", False),
])
def test_selection_by_category(categories, selection, category, selected) -> None:
    assert selected_by_category(categories, selection, category) is selected


# -- the window ----------------------------------------------------------------------------------------

def test_the_window_spans_whole_utc_days() -> None:
    window = EventWindow.around(NOW, past_days=30, future_days=365)
    assert window.start == dt.datetime(2026, 10, 26, tzinfo=UTC)
    assert window.end == dt.datetime(2027, 11, 26, tzinfo=UTC)


@pytest.mark.parametrize(("start", "end", "inside"), [
    ("2026-10-25T23:00:00Z", "2026-10-26T01:00:00Z", True),    # straddles the past edge
    ("2026-10-25T22:00:00Z", "2026-10-26T00:00:00Z", False),   # ends exactly at the edge
    ("2027-11-25T23:30:00Z", "2027-11-26T00:30:00Z", True),    # straddles the future edge
    ("2027-11-26T00:00:00Z", "2027-11-26T01:00:00Z", False),
    ("2026-10-25", "2026-10-27", True), ("2026-10-25", "2026-10-26", False),
    ("2027-11-25", "2027-11-26", True), ("2027-11-26", "2027-11-27", False),
    ("2026-11-01T09:00:00Z", "2026-11-01T09:00:00Z", True),    # zero length, inside
    ("2026-10-26T00:00:00Z", "2026-10-26T00:00:00Z", False),   # zero length on the past edge
])
def test_events_overlapping_an_edge_are_inside(start, end, inside) -> None:
    assert EventWindow.around(NOW, 30, 365).overlaps(start, end) is inside


def test_pairs_whose_events_left_the_window_are_frozen_not_deleted() -> None:
    def pair(sf_id: str, start: str, end: str) -> Pair:
        return Pair(sf_id, f"ex-{sf_id}", "v", "ck", None, None, {"Start": start, "End": end})
    old, current = pair("a", "2026-09-01T10:00:00Z", "2026-09-01T11:00:00Z"), pair("b", "2026-11-26", "2026-11-27")
    inside, outside = pairs_outside_window([old, current], EventWindow.around(NOW, 30, 365))
    assert (inside, outside) == ([current], [old])


# -- recurrence ----------------------------------------------------------------------------------------

def test_occurrences_are_keyed_by_series_uid_and_original_start() -> None:
    original = dt.datetime(2026, 12, 3, 10, tzinfo=LA)
    moved = occurrence_key("UID1", ItemRole.EXCEPTION, original)
    assert moved == occurrence_key("UID1", ItemRole.OCCURRENCE, original) == OccurrenceKey("UID1", "2026-12-03T18:00:00Z")
    assert occurrence_key("UID2", ItemRole.SINGLE, None) == OccurrenceKey("UID2")
    with pytest.raises(EventTimeError):
        occurrence_key("UID1", ItemRole.OCCURRENCE, None)


def test_salesforce_recurring_series_are_reported_not_synced() -> None:
    assert salesforce_recurrence_reason(False) is None
    assert "not synced" in (salesforce_recurrence_reason(True) or "")


# -- attendees -----------------------------------------------------------------------------------------

DIRECTORY = {
    RelationKind.USER: {"bob@acme.example": ["005B"]},
    RelationKind.LEAD: {"monty@snpp.example": ["00QM"], "raj.patel@initech.example": ["00QR"],
                        "twin@x.example": ["00Q1", "00Q2"]},
    RelationKind.CONTACT: {"raj.patel@initech.example": ["003R"], "jane@globex.example": ["003J"],
                           "bob@acme.example": ["003B"]},
}


@pytest.mark.parametrize(("response", "status"), [
    ("Accept", "Accepted"), ("Decline", "Declined"), ("Tentative", "Tentative"),
    ("NoResponseReceived", "New"), ("Unknown", "New"), (None, "New"), ("Organizer", "New"),
])
def test_responses_map_to_relation_statuses(response, status) -> None:
    assert relation_status(response) == status


def test_attendees_match_users_then_leads_then_contacts() -> None:
    plan = plan_attendees([Attendee("BOB@acme.example", "Accept"), Attendee("raj.patel@initech.example", "Tentative"),
                           Attendee("jane@globex.example", optional=True), Attendee("nobody@x.example"),
                           Attendee("twin@x.example"), Attendee("alice@acme.example")],
                          DIRECTORY, exclude=["alice@acme.example"])
    assert plan.invitees == (Invitee("005B", RelationKind.USER, "BOB@acme.example", "Accepted"),
                             Invitee("00QR", RelationKind.LEAD, "raj.patel@initech.example", "Tentative"),
                             Invitee("003J", RelationKind.CONTACT, "jane@globex.example", "New"))
    assert (plan.unmatched, plan.ambiguous, plan.overflow) == (("nobody@x.example",), ("twin@x.example",), ())
    assert related_record(plan) == "003J"


def test_a_meeting_organised_outside_sync_relates_no_users() -> None:
    plan = plan_attendees([Attendee("bob@acme.example"), Attendee("monty@snpp.example")], DIRECTORY,
                          kinds=OUTSIDE_ORGANIZER_KINDS)
    assert [(i.relation_id, i.kind) for i in plan.invitees] == [("003B", RelationKind.CONTACT),
                                                                ("00QM", RelationKind.LEAD)]


def test_more_than_fifty_attendees_are_reported_as_overflow() -> None:
    attendees = [Attendee(f"guest{n:02}@x.example") for n in range(53)]
    plan = plan_attendees(attendees, DIRECTORY)
    assert len(plan.unmatched) == 50 and plan.overflow == ("guest50@x.example", "guest51@x.example", "guest52@x.example")


def test_relate_to_records_prefers_a_contact_then_a_lead() -> None:
    lead_only = AttendeePlan((Invitee("00QM", RelationKind.LEAD, "m", "New"),), (), (), ())
    assert related_record(lead_only) == "00QM"
    assert related_record(AttendeePlan((Invitee("005B", RelationKind.USER, "b", "New"),), (), (), ())) is None


def _merge(exchange: list[Attendee], salesforce: dict[str, tuple[str, str | None]], synced: set[str]):
    return attendee_changes(plan_attendees(exchange, DIRECTORY), salesforce, [a.email for a in exchange], synced)


def test_attendees_merge_three_way_adding_on_each_side_what_the_other_added() -> None:
    changes = _merge([Attendee("bob@acme.example", "Decline"), Attendee("jane@globex.example")],
                     {"005B": ("New", "bob@acme.example"), "003X": ("Accepted", "new@x.example")}, synced={"005B"})
    assert [i.relation_id for i in changes.create] == ["003J"]          # added in Exchange
    assert [(i.relation_id, i.status) for i in changes.update_status] == [("005B", "Declined")]
    assert changes.invite == ("new@x.example",)                          # added in Salesforce
    assert (changes.delete, changes.uninvite) == ((), ())
    assert changes.synced == ("003J", "003X", "005B")


def test_an_attendee_removed_on_one_side_is_removed_from_the_other() -> None:
    synced = {"005B", "00QM", "003J"}
    changes = _merge([Attendee("bob@acme.example"), Attendee("jane@globex.example")],   # monty left Exchange
                     {"005B": ("New", "bob@acme.example"), "00QM": ("New", "monty@snpp.example")},  # jane left Salesforce
                     synced)
    assert changes.delete == ("00QM",)
    assert changes.uninvite == ("jane@globex.example",)
    assert (changes.create, changes.invite, changes.update_status) == ((), (), ())
    assert changes.synced == ("005B",)


def test_without_a_merge_base_nothing_is_removed_and_both_lists_are_united() -> None:
    changes = _merge([Attendee("jane@globex.example")], {"00QM": ("New", "monty@snpp.example")}, synced=set())
    assert ([i.relation_id for i in changes.create], changes.invite, changes.delete, changes.uninvite) == (
        ["003J"], ("monty@snpp.example",), (), ())


def test_an_attendee_list_in_step_writes_nothing() -> None:
    changes = _merge([Attendee("bob@acme.example", "Accept")], {"005B": ("Accepted", "bob@acme.example")}, {"005B"})
    assert not changes.writes and changes.synced == ("005B",)


def test_the_merge_base_lives_in_the_pair_base() -> None:
    assert synced_attendees({"Subject": "x", SYNCED_ATTENDEES: ["005B", "003J"]}) == {"005B", "003J"}
    assert synced_attendees({"Subject": "x"}) == frozenset()


# -- organizers and copies ------------------------------------------------------------------------------

@pytest.mark.parametrize(("organizer", "response", "organizers_item"), [
    ("alice@acme.example", "Organizer", True), ("alice@acme.example", "Accept", False),
    ("ALICE@acme.example", None, True), (None, None, True),
])
def test_the_organizers_item_is_the_parent(organizer, response, organizers_item) -> None:
    mailbox = "alice@acme.example" if response in ("Organizer", None) else "bob@acme.example"
    assert is_organizers_item(mailbox, organizer, response) is organizers_item


KEY = OccurrenceKey("UID-kickoff")


@pytest.mark.parametrize(("response", "organizer_syncs", "parents", "children", "action", "child"), [
    ("Accept", True, {KEY: "00UP"}, {"00UP": "00UC"}, CopyAction.PAIR_WITH_CHILD, "00UC"),
    ("NoResponseReceived", True, {KEY: "00UP"}, {"00UP": "00UC"}, CopyAction.PAIR_WITH_CHILD, "00UC"),
    ("Decline", True, {KEY: "00UP"}, {}, CopyAction.SKIP, None),
    ("Accept", True, {}, {}, CopyAction.SKIP, None),                  # waits for the organizer's cycle
    ("Accept", True, {KEY: "00UP"}, {}, CopyAction.SKIP, None),       # no child yet: never a second event
    ("Accept", False, {}, {}, CopyAction.OWN_EVENT, None),
    ("Decline", False, {}, {}, CopyAction.SKIP, None),
])
def test_an_invitees_copy_pairs_with_the_child_event_and_is_never_a_second_event(
        response, organizer_syncs, parents, children, action, child) -> None:
    decision = invitee_copy_decision(KEY, response, organizer_syncs, parents, children)
    assert (decision.action, decision.salesforce_id) == (action, child)
    assert decision.reason


def test_with_one_side_not_written_the_other_is_the_source() -> None:
    exchange = [Attendee("jane@globex.example")]
    salesforce = {"00QM": ("New", "monty@snpp.example")}
    synced = {"003J", "00QM", "005B"}
    # Only Salesforce is written: Exchange wins; a synced relation missing in Salesforce comes back.
    into_salesforce = attendee_changes(plan_attendees(exchange, DIRECTORY), {}, ["jane@globex.example"], synced,
                                       to_exchange=False)
    assert ([i.relation_id for i in into_salesforce.create], into_salesforce.uninvite) == (["003J"], ())
    # Only Exchange is written: Salesforce's invitees are (re-)invited, nothing is written to Salesforce.
    into_exchange = attendee_changes(plan_attendees(exchange, DIRECTORY), salesforce, ["jane@globex.example"],
                                     synced, to_salesforce=False)
    assert (into_exchange.invite, into_exchange.create, into_exchange.delete) == (("monty@snpp.example",), (), ())
    assert into_exchange.synced == ("00QM",), "jane is not in Salesforce, so she is not synced"


def test_no_response_in_exchange_never_overwrites_a_salesforce_answer() -> None:
    unanswered = _merge([Attendee("bob@acme.example", "Unknown")], {"005B": ("Accepted", "bob@acme.example")}, {"005B"})
    assert not unanswered.writes
    declined = _merge([Attendee("bob@acme.example", "Decline")], {"005B": ("Accepted", "bob@acme.example")}, {"005B"})
    assert [(i.relation_id, i.status) for i in declined.update_status] == [("005B", "Declined")]

"""The combined bench seed: one cast on every service, the asked-for overlap, recurring series and
meeting attendees, loadable as written."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from harness import exchange_settings, salesforce_settings

from reconciler.connectors.exchange import ExchangeConnector
from reconciler.connectors.exchange_events import ExchangeCalendarStore
from reconciler.connectors.salesforce import SalesforceConnector
from reconciler.connectors.salesforce_events import SalesforceEventStore
from reconciler.sandbox.generate import (COLLEAGUES, GUESTS, LEADS_PER_USER, bench_user_address, colleague_address,
                                         dump_seed, generate_seed, guest_address, main)
from reconciler.sync.events import EventWindow
from reconciler.sandbox.server import DEFAULT_SEED_DIR, Sandbox, load_seed


def _emails(contacts: list[dict]) -> list[str]:
    return [c["EmailAddresses"]["EmailAddress1"] for c in contacts]


def test_every_salesforce_user_has_a_mailbox_the_service_account_and_the_app_may_impersonate() -> None:
    seed = generate_seed(users=3, contacts_per_user=4, events_per_user=2)
    addresses = [bench_user_address(n) for n in (1, 2, 3)]
    assert addresses == ["user00001@bench.example", "user00002@bench.example", "user00003@bench.example"]
    salesforce, exchange = seed["salesforce"], seed["exchange"]
    assert [u["username"] for u in salesforce["users"]] == addresses
    assert [u["email"] for u in salesforce["users"]] == addresses
    assert [m["address"] for m in exchange["mailboxes"]] == addresses
    assert exchange["domains"] == ["bench.example"]
    assert exchange["serviceAccounts"] == [{"username": "svc-reconciler@bench.example", "impersonates": addresses}]
    assert seed["identity"] == load_seed(DEFAULT_SEED_DIR / "identity.yaml")["identity"]
    app_id = seed["identity"]["tenants"][0]["applications"][0]["clientId"]
    assert exchange["applications"] == [{"clientId": app_id, "impersonates": addresses}]
    assert len(salesforce["contacts"]) == 12 and len(salesforce["events"]) == 6
    assert all(len(m["contacts"]) == 4 and len(m["events"]) == 2 for m in exchange["mailboxes"])
    assert {c["owner"] for c in salesforce["contacts"]} == set(addresses)


@pytest.mark.parametrize(("overlap", "shared"), [(0.0, 0), (0.25, 5), (0.5, 10), (1.0, 20)])
def test_overlap_puts_that_share_of_each_users_own_contacts_in_their_mailbox(overlap: float, shared: int) -> None:
    seed = generate_seed(users=2, contacts_per_user=20, events_per_user=0, overlap=overlap, seed=5)
    for number, mailbox in enumerate(seed["exchange"]["mailboxes"], start=1):
        owned = [c for c in seed["salesforce"]["contacts"] if c["owner"] == bench_user_address(number)]
        in_salesforce = {c["Email"] for c in owned}
        in_mailbox = _emails(mailbox["contacts"])
        assert len(in_mailbox) == 20
        assert len(set(in_mailbox) & in_salesforce) == shared
        for contact in owned[:shared]:
            copy = next(c for c in mailbox["contacts"] if c["EmailAddresses"]["EmailAddress1"] == contact["Email"])
            assert (copy["GivenName"], copy["Surname"], copy["CompanyName"], copy["PhoneNumbers"]["BusinessPhone"]) == (
                contact["FirstName"], contact["LastName"], contact["account"], contact["Phone"])
            assert copy.get("JobTitle") == contact.get("Title")
            assert copy["folder"] == "Salesforce_Sync"


def test_the_same_arguments_give_the_same_seed_and_another_seed_number_another() -> None:
    assert generate_seed(2, 10, 3, 0.3, seed=1) == generate_seed(2, 10, 3, 0.3, seed=1)
    assert generate_seed(2, 10, 3, 0.3, seed=1) != generate_seed(2, 10, 3, 0.3, seed=2)


@pytest.mark.parametrize(("users", "contacts", "events", "overlap"),
                         [(0, 1, 0, 0.0), (1, -1, 0, 0.0), (1, 1, -1, 0.0), (1, 1, 0, 1.5), (1, 1, 0, -0.1)])
def test_impossible_sizes_are_refused(users: int, contacts: int, events: int, overlap: float) -> None:
    with pytest.raises(ValueError):
        generate_seed(users, contacts, events, overlap)


def test_the_written_file_loads_back_as_the_same_seed(tmp_path: Path) -> None:
    seed = generate_seed(users=2, contacts_per_user=6, events_per_user=3, overlap=0.5)
    path = tmp_path / "seed.yaml"
    with path.open("w", encoding="utf-8") as stream:
        dump_seed(seed, stream)
    assert load_seed(path) == seed


def test_the_module_command_writes_the_seed_to_stdout(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--users", "2", "--contacts", "5", "--events", "1", "--overlap", "0.4", "--seed", "9"]) == 0
    path = tmp_path / "seed.yaml"
    path.write_text(capsys.readouterr().out, encoding="utf-8")
    assert load_seed(path) == generate_seed(2, 5, 1, 0.4, seed=9)
    with pytest.raises(SystemExit) as refused:
        main(["--overlap", "2"])
    assert refused.value.code == 2
    assert "overlap" in capsys.readouterr().err


def test_the_seeded_sandbox_serves_the_cast_through_the_real_connectors(tmp_path: Path) -> None:
    seed = generate_seed(users=2, contacts_per_user=30, events_per_user=2, overlap=0.5)
    with Sandbox(data_dir=tmp_path / "sandbox", seed=seed) as sandbox:
        endpoints, secrets_dir = sandbox.endpoints(), tmp_path / "sandbox" / "secrets"
        salesforce = SalesforceConnector(salesforce_settings(endpoints, secrets_dir))
        users = salesforce.users_by_username([bench_user_address(1), bench_user_address(2)])
        assert {u.email for u in users.values()} == {bench_user_address(1), bench_user_address(2)}
        owned = salesforce.contact_store(users[bench_user_address(2)].id).list_changes(None)
        assert owned.complete and len(owned.records) == 30
        exchange = ExchangeConnector(exchange_settings(endpoints, secrets_dir))
        try:
            mailbox = exchange.contact_store(bench_user_address(2)).list_changes(None)
        finally:
            exchange.close()
        assert mailbox.complete and len(mailbox.records) == 30
        in_both = {r.fields["Email"].lower() for r in owned.records} & {
            str(r.fields["EmailAddress1"]).lower() for r in mailbox.records}
        assert len(in_both) == 15


# -- events: recurring series and attendees ---------------------------------------------------------

def _occurrences(event: dict) -> int:
    return int(event["Recurrence"]["NumberOfOccurrences"]) if "Recurrence" in event else 1


def test_without_the_event_options_the_seed_is_the_one_other_tests_were_written_against() -> None:
    # Older tests and benchmark numbers rest on this exact seed: one item in twenty a weekly series
    # counted as one event, no meetings, no leads, no colleagues.
    seed = generate_seed(users=1, contacts_per_user=20, events_per_user=40)
    assert seed == generate_seed(1, 20, 40, 0.0, 0, recurring=None, attendees=0)
    events = seed["exchange"]["mailboxes"][0]["events"]
    assert len(events) == 40 and len(seed["salesforce"]["events"]) == 40
    assert [e["Recurrence"]["NumberOfOccurrences"] for e in events if "Recurrence" in e] == [11, 2]
    assert not any("RequiredAttendees" in e or "OptionalAttendees" in e for e in events)
    assert not any("invitees" in e for e in seed["salesforce"]["events"])
    assert "leads" not in seed["salesforce"]
    assert [u["username"] for u in seed["salesforce"]["users"]] == [bench_user_address(1)]
    digest = hashlib.sha256(json.dumps(seed, sort_keys=True).encode()).hexdigest()[:16]
    assert digest == "ae2359a7da362f86"   # of the seed before the event options existed


@pytest.mark.parametrize(("recurring", "occurrences"), [(0.0, 0), (0.2, 40), (0.5, 100), (1.0, 200)])
def test_recurring_makes_that_share_of_the_windows_events_occurrences_of_weekly_series(
        recurring: float, occurrences: int) -> None:
    seed = generate_seed(users=2, contacts_per_user=0, events_per_user=200, recurring=recurring, seed=3)
    for mailbox in seed["exchange"]["mailboxes"]:
        series = [e for e in mailbox["events"] if "Recurrence" in e]
        singles = [e for e in mailbox["events"] if "Recurrence" not in e]
        assert sum(_occurrences(e) for e in series) == occurrences
        assert len(singles) == 200 - occurrences
        assert all(e["Recurrence"]["pattern"] == "WeeklyRecurrence" and _occurrences(e) >= 2 for e in series)
        assert all(not e["when"].get("all_day") for e in series)
        if occurrences:
            moved = [e for e in series if e.get("ModifiedOccurrences")]
            assert moved and all(e["ModifiedOccurrences"][0]["occurrence"] == 2 for e in moved)


def test_a_recurring_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="recurring"):
        generate_seed(1, 0, 10, recurring=1.5)
    with pytest.raises(ValueError, match="attendees"):
        generate_seed(1, 0, 10, attendees=-1)


def test_every_other_timed_event_is_a_meeting_whose_attendees_take_every_kind_in_turn() -> None:
    seed = generate_seed(users=2, contacts_per_user=30, events_per_user=200, recurring=0.2, attendees=3, seed=1)
    salesforce = seed["salesforce"]
    colleagues = {colleague_address(n) for n in range(1, COLLEAGUES + 1)}
    assert colleagues <= {u["username"] for u in salesforce["users"]}
    assert not colleagues & {m["address"] for m in seed["exchange"]["mailboxes"]}   # no mailbox: they do not sync
    guests = {guest_address(n) for n in range(1, GUESTS + 1)}
    for number, mailbox in enumerate(seed["exchange"]["mailboxes"], start=1):
        owner = bench_user_address(number)
        leads = {lead["Email"] for lead in salesforce["leads"] if lead["owner"] == owner}
        contacts = {c["Email"] for c in salesforce["contacts"] if c["owner"] == owner}
        assert len(leads) == LEADS_PER_USER
        kinds = {"user": colleagues, "lead": leads, "contact": contacts, "guest": guests}

        def kind(address: str) -> str:
            return next(name for name, addresses in kinds.items() if address in addresses)

        events = [e for e in salesforce["events"] if e["owner"] == owner]
        meetings = [e for e in events if "invitees" in e]
        assert meetings == [e for n, e in enumerate(events) if n % 2 == 0 and not e["when"].get("all_day")]
        invited = [i["invitee"] for e in meetings for i in e["invitees"]]
        assert all(len(e["invitees"]) == 3 and len({i["invitee"] for i in e["invitees"]}) == 3 for e in meetings)
        assert {kind(a) for a in invited} == {"user", "lead", "contact"}   # guests cannot be Salesforce invitees

        items = mailbox["events"]
        meetings = [e for e in items if "RequiredAttendees" in e]
        assert meetings == [e for n, e in enumerate(items) if n % 2 == 0 and not e["when"].get("all_day")]
        for meeting in meetings:
            assert (len(meeting["RequiredAttendees"]), len(meeting["OptionalAttendees"])) == (2, 1)
        attending = [a["EmailAddress"] for e in meetings for a in e["RequiredAttendees"] + e["OptionalAttendees"]]
        assert Counter(kind(a) for a in attending).keys() == {"user", "lead", "contact", "guest"}
    recurring_meetings = [e for m in seed["exchange"]["mailboxes"] for e in m["events"]
                          if "Recurrence" in e and "RequiredAttendees" in e]
    assert recurring_meetings   # a series with attendees: each occurrence is a meeting


def test_a_user_without_contacts_gets_meetings_without_contact_attendees() -> None:
    seed = generate_seed(users=1, contacts_per_user=0, events_per_user=20, attendees=4)
    invited = {i["invitee"] for e in seed["salesforce"]["events"] for i in e.get("invitees", ())}
    assert invited and all("@customer" not in a for a in invited)


def test_the_module_command_takes_the_event_options(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--contacts", "10", "--events", "30", "--recurring", "0.2", "--attendees", "3"]) == 0
    path = tmp_path / "seed.yaml"
    path.write_text(capsys.readouterr().out, encoding="utf-8")
    assert load_seed(path) == generate_seed(1, 10, 30, recurring=0.2, attendees=3)
    with pytest.raises(SystemExit):
        main(["--recurring", "2"])
    assert "recurring" in capsys.readouterr().err


def test_the_sandbox_shows_the_asked_for_events_and_matches_the_attendees_to_salesforce_records(
        tmp_path: Path) -> None:
    seed = generate_seed(users=1, contacts_per_user=25, events_per_user=50, recurring=0.2, attendees=3)
    window = EventWindow.around(datetime.now(timezone.utc), 31, 365)
    with Sandbox(data_dir=tmp_path / "sandbox", seed=seed) as sandbox:
        endpoints, secrets_dir = sandbox.endpoints(), tmp_path / "sandbox" / "secrets"
        salesforce = SalesforceConnector(salesforce_settings(endpoints, secrets_dir))
        owner = salesforce.users_by_username([bench_user_address(1)])[bench_user_address(1)]
        events = SalesforceEventStore(salesforce, owner.id, window, ZoneInfo("UTC")).list_changes(None)
        exchange = ExchangeConnector(exchange_settings(endpoints, secrets_dir))
        try:
            calendar = ExchangeCalendarStore(exchange, bench_user_address(1), window, ZoneInfo("UTC")).list_changes(None)
        finally:
            exchange.close()
        directory = SalesforceEventStore(salesforce, owner.id, window, ZoneInfo("UTC")).attendee_directory(
            [a.email for r in calendar.records for a in r.fields["Attendees"]])
    assert events.complete and len(events.records) == 50
    assert calendar.complete and len(calendar.records) == 50
    assert sum(r.fields["CalendarItemType"] in ("Occurrence", "Exception") for r in calendar.records) == 10
    invitees = [row for r in events.records for row in r.fields["EventRelations"] if row.is_invitee]
    expected = sum(len(e.get("invitees", ())) for e in seed["salesforce"]["events"])
    assert len(invitees) == expected and {row.relation_type for row in invitees} == {"User", "Lead", "Contact"}
    matched = {kind.value for kind, by_email in directory.items() if by_email}
    assert matched == {"User", "Lead", "Contact"}
    attending = {a.email for r in calendar.records for a in r.fields["Attendees"]}
    assert any(address.endswith("@elsewhere.example") for address in attending)

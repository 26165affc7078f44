"""Per-user status as the sync engine reports it and `status` shows it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from reconciler.state import AuditEntry, CycleOutcome, StateStore, UnknownUser, UserAssignment


def assign(store: StateStore, *assignments: UserAssignment) -> None:
    meta = store.meta()
    store.commit_apply(
        expected_lineage=meta.lineage,
        expected_serial=meta.serial,
        plan_id=f"plan-{meta.serial}",
        digest="a" * 64,
        resources={},
        assignments=list(assignments),
        audit=AuditEntry(datetime.now(timezone.utc), "t", None, None, "apply", {}),
    )


ALICE = UserAssignment("alice", "sales", "alice@acme.example")


def test_cycle_outcomes_are_recorded_per_object_and_direction(store: StateStore) -> None:
    assign(store, ALICE)
    finished = datetime(2026, 11, 25, 9, 15, tzinfo=timezone.utc)
    store.record_cycle("alice", "contact", CycleOutcome("salesforce_to_exchange", "initial_sync_completed", {"created": 40}, None, finished))
    store.record_cycle("alice", "contact", CycleOutcome("exchange_to_salesforce", "error", {}, "ErrorServerBusy on 3 items", finished))
    [alice] = store.user_statuses()
    to_exchange = alice.direction("contact", "salesforce_to_exchange")
    assert (to_exchange.state, to_exchange.counts, to_exchange.last_cycle_at) == ("initial_sync_completed", {"created": 40}, finished)
    assert alice.direction("contact", "exchange_to_salesforce").last_error == "ErrorServerBusy on 3 items"
    assert alice.direction("event", "salesforce_to_exchange") is None


def test_a_successful_cycle_clears_the_last_error(store: StateStore) -> None:
    assign(store, ALICE)
    store.record_cycle("alice", "event", CycleOutcome("salesforce_to_exchange", "error", error="REQUEST_LIMIT_EXCEEDED"))
    store.record_cycle("alice", "event", CycleOutcome("salesforce_to_exchange", "in_sync", {"updated": 1}))
    status = store.user_statuses()[0].direction("event", "salesforce_to_exchange")
    assert (status.state, status.last_error) == ("in_sync", None)


def test_overlong_error_messages_are_cut(store: StateStore) -> None:
    assign(store, ALICE)
    store.record_cycle("alice", "contact", CycleOutcome("salesforce_to_exchange", "error", error="x" * 5000))
    assert len(store.user_statuses()[0].direction("contact", "salesforce_to_exchange").last_error) == 1000


def test_unknown_state_is_refused(store: StateStore) -> None:
    assign(store, ALICE)
    with pytest.raises(ValueError, match="unknown sync state 'synced'"):
        store.record_cycle("alice", "contact", CycleOutcome("salesforce_to_exchange", "synced"))


def test_status_of_a_user_never_applied_is_refused(store: StateStore) -> None:
    with pytest.raises(UnknownUser):
        store.record_cycle("mallory", "contact", CycleOutcome("salesforce_to_exchange", "in_sync"))
    with pytest.raises(UnknownUser):
        store.set_link("mallory", linked=True)


def test_link_shows_the_resolved_mailbox(store: StateStore) -> None:
    assign(store, ALICE)
    store.set_link("alice", linked=True, mailbox="alice@mail.acme.example")
    [alice] = store.user_statuses()
    assert (alice.linked, alice.mailbox) == (True, "alice@mail.acme.example")


def test_changing_a_users_identity_forgets_the_old_link(store: StateStore) -> None:
    assign(store, ALICE, UserAssignment("bob", "sales", "bob@acme.example"))
    store.set_link("alice", linked=True, mailbox="alice@mail.acme.example")
    store.set_link("bob", linked=True, mailbox="bob@mail.acme.example")
    assign(store, UserAssignment("alice", "sales", "alice.new@acme.example"), UserAssignment("bob", "other", "bob@acme.example"))
    statuses = {status.user: status for status in store.user_statuses()}
    assert (statuses["alice"].linked, statuses["alice"].mailbox) == (False, None)
    assert (statuses["bob"].linked, statuses["bob"].mailbox) == (True, "bob@mail.acme.example")


def test_users_found_in_the_directory_get_a_row_once_whatever_the_number_of_calls(store: StateStore) -> None:
    found = UserAssignment("dana@acme.example", "sales", "dana@acme.example")
    store.ensure_users([found])
    store.set_link(found.user, linked=True, mailbox="dana@acme.example")
    store.ensure_users([found])
    store.record_cycle(found.user, "contact", CycleOutcome(direction="salesforce_to_exchange", state="in_sync"))
    [status] = [s for s in store.user_statuses() if s.user == found.user]
    assert status.configuration == "sales" and status.linked and status.mailbox == "dana@acme.example"
    assert status.direction("contact", "salesforce_to_exchange").state == "in_sync"


def test_a_mailbox_counts_as_synced_once_linked_with_an_exchange_cursor_committed(store: StateStore) -> None:
    bob = UserAssignment("bob", "sales", "bob@acme.example")
    carol = UserAssignment("carol", "sales", "carol@acme.example")
    assign(store, ALICE, bob, carol)
    store.set_link("alice", linked=True, mailbox="alice@acme.example")
    store.set_link("bob", linked=True, mailbox="bob@acme.example")
    store.commit_batch("alice", "event", [], [], [], {"exchange": "calendar-state"})
    store.commit_batch("bob", "contact", [], [], [], {"salesforce": "feed"})     # Exchange never listed
    store.commit_batch("carol", "contact", [], [], [], {"exchange": "folder-state"})   # never linked
    assert store.synced_mailboxes() == {"alice": "alice@acme.example"}

    store.reset_user("alice")
    assert store.synced_mailboxes() == {}


def test_a_mailbox_unlinked_or_moved_in_the_configuration_is_no_longer_synced(store: StateStore) -> None:
    assign(store, ALICE)
    store.set_link("alice", linked=True, mailbox="alice@acme.example")
    store.commit_batch("alice", "contact", [], [], [], {"exchange": "folder-state"})
    store.set_link("alice", linked=False)   # a skipped cycle (e.g. no such mailbox) unlinks
    assert store.synced_mailboxes() == {}
    store.set_link("alice", linked=True, mailbox="alice@acme.example")
    assert store.synced_mailboxes() == {"alice": "alice@acme.example"}
    assign(store, UserAssignment("alice", "sales", "alice@acme.example", mailbox="alice.new@acme.example"))
    assert store.synced_mailboxes() == {}

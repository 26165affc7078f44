"""Contract tests: SyncFolderItems through exchangelib 5.6 against the EWS emulator's change journal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from exchangelib import Contact
from exchangelib.errors import ErrorInvalidSyncStateData
from sandbox.ews_client import basic_account, stamp_registered, trusting_sandbox

from reconciler.sandbox.server import Sandbox


@pytest.fixture
def alice(sandbox: Sandbox) -> Iterator:
    with trusting_sandbox(sandbox), stamp_registered():
        yield basic_account(sandbox, "alice@acme.example")


def changes(folder, state: str | None, per_call: int = 512) -> tuple[list[tuple[str, str]], str]:
    """Every change since ``state`` as (type, display name or id), and the new state."""
    folder.item_sync_state = state
    found = [(kind, getattr(item, "display_name", None) or item.id)
             for kind, item in folder.sync_items(sync_state=state, only_fields=["display_name"],
                                                 max_changes_returned=per_call)]
    return found, folder.item_sync_state


def test_a_full_sync_lists_every_contact_then_an_incremental_one_only_the_changes(alice, sandbox: Sandbox) -> None:
    folder = alice.contacts / "Salesforce_Sync"
    full, state = changes(folder, None)
    assert {kind for kind, _ in full} == {"create"}
    assert {name for _, name in full} >= {"Jane Doe", "Raj Patel", "Li Wei", "Morgan Lee", "Sam Rivera"}
    assert changes(folder, state)[0] == []

    jane = folder.get(display_name="Jane Doe")
    jane.job_title = "COO"
    jane.save(update_fields=["job_title"])
    folder.get(display_name="Sam Rivera").delete()
    Contact(folder=folder, display_name="New Person").save()
    Contact(folder=alice.contacts, display_name="Not in the sync folder").save()

    incremental, _ = changes(folder, state)
    assert sorted(kind for kind, _ in incremental) == ["create", "delete", "update"]
    assert ("update", "Jane Doe") in incremental and ("create", "New Person") in incremental


def test_more_changes_than_max_changes_returned_take_several_rounds(alice, sandbox: Sandbox) -> None:
    folder = alice.contacts / "Salesforce_Sync"
    _, state = changes(folder, None)
    alice.bulk_create(folder=folder, items=[Contact(folder=folder, display_name=f"Round {n}") for n in range(25)])
    sandbox.counters.reset()
    found, _ = changes(folder, state, per_call=10)
    assert sorted(name for _, name in found) == sorted(f"Round {n}" for n in range(25))
    assert sandbox.counters.counts("exchange")["SyncFolderItems"] == 3


def test_changes_to_one_item_collapse_between_two_states(alice) -> None:
    folder = alice.contacts / "Salesforce_Sync"
    _, state = changes(folder, None)

    fleeting = Contact(folder=folder, display_name="Fleeting")
    fleeting.save()
    fleeting.delete()                       # created and deleted: never seen
    li = folder.get(display_name="Li Wei")
    li.job_title = "CPO"
    li.save(update_fields=["job_title"])
    li_id = li.id
    li.delete()                             # updated then deleted: one delete
    edited = Contact(folder=folder, display_name="Edited twice")
    edited.save()
    edited.display_name = "Edited thrice"
    edited.save(update_fields=["display_name"])  # created then updated: one create, latest fields

    found, _ = changes(folder, state)
    assert sorted(found) == sorted([("delete", li_id), ("create", "Edited thrice")])


def test_a_corrupt_or_foreign_sync_state_is_refused(alice) -> None:
    folder = alice.contacts / "Salesforce_Sync"
    _, contacts_state = changes(alice.contacts, None)
    for state in ("bm90IGEgc3luYyBzdGF0ZQ==", "%%%", contacts_state):
        folder.item_sync_state = state
        with pytest.raises(ErrorInvalidSyncStateData):
            list(folder.sync_items(sync_state=state))

"""Two-way contact sync end to end: the engine, the real client libraries over HTTPS to the
sandbox, and a real state database."""

from __future__ import annotations

from collections import Counter

import pytest

from reconciler.plan.records import has_record_changes
from reconciler.state import StateStore
from reconciler.sync import ActionKind

from .conftest import World

ALICE, BOB, CAROL = "alice@acme.example", "bob.sf@acme.example.crm", "carol@acme.example"
ALICE_MAILBOX, BOB_MAILBOX = "alice@acme.example", "bob@acme.example"


def emails(records, field):
    return Counter((r.fields.get(field) or "").lower() for r in records if r.fields.get(field))


def test_first_cycle_pairs_what_exists_creates_the_rest_and_the_second_cycle_has_nothing_to_do(world: World):
    plan, outcome = world.cycle()
    assert outcome.ok, [r.error for r in outcome.records.results]
    # alice: three contacts exist on both sides and are paired, not duplicated; the two that share
    # dup@hooli.example stay apart (ambiguous), the Exchange-only contacts reach Salesforce.
    alice = world.kinds(plan, "alice")
    assert alice.count(ActionKind.PAIR) == 3 and alice.count(ActionKind.AMBIGUOUS) == 1
    assert alice.count(ActionKind.CREATE_SALESFORCE) == 2

    salesforce = emails(world.salesforce_contacts(ALICE), "Email")
    exchange = emails(world.exchange_contacts(ALICE_MAILBOX), "EmailAddress1")
    for email in ("jane.doe@globex.example", "raj.patel@initech.example", "li.wei@umbrella.example",
                  "gavin@hooli.example", "morgan.lee@contoso.example", "sam.rivera@fabrikam.example"):
        assert salesforce[email] == 1 and exchange[email] == 1, email
    assert exchange["dup@hooli.example"] == 1 and salesforce["dup@hooli.example"] == 2
    # bob's mailbox is not his login name; carol's mailbox had no Salesforce_Sync folder yet.
    assert emails(world.exchange_contacts(BOB_MAILBOX), "EmailAddress1")["pepper@stark.example"] == 1
    assert len(world.exchange_contacts("carol@acme.example")) == 3

    again = world.plan()
    assert not has_record_changes(again.record_changes)
    assert world.kinds(again, "alice") == [ActionKind.AMBIGUOUS]
    with StateStore.open(world.state) as store:
        states = {(s.user, d.direction): d.state for s in store.user_statuses() for d in s.directions}
    assert states[("alice", "salesforce_to_exchange")] == "initial_sync_completed"


def test_created_exchange_items_carry_the_salesforce_id_stamp(world: World):
    world.cycle()
    stamped = {r.fields["EmailAddress1"]: r.salesforce_id_stamp for r in world.exchange_contacts("carol@acme.example")}
    salesforce = {r.fields["Email"]: r.id for r in world.salesforce_contacts(CAROL)}
    assert stamped == salesforce


def test_edits_flow_each_way_and_edits_of_different_fields_merge(world: World):
    world.cycle()
    jane_sf = world.by_email(world.salesforce_contacts(ALICE), "Email", "jane.doe@globex.example")[0]
    world.user_edit(world.salesforce_store(ALICE), jane_sf, Title="COO")
    raj_ex = world.by_email(world.exchange_contacts(ALICE_MAILBOX), "EmailAddress1", "raj.patel@initech.example")[0]
    world.user_edit(world.exchange_store(ALICE_MAILBOX), raj_ex, MobilePhone="+1 512 555 0000")
    li_sf = world.by_email(world.salesforce_contacts(ALICE), "Email", "li.wei@umbrella.example")[0]
    li_ex = world.by_email(world.exchange_contacts(ALICE_MAILBOX), "EmailAddress1", "li.wei@umbrella.example")[0]
    world.user_edit(world.salesforce_store(ALICE), li_sf, Title="Chief Procurement Officer")
    world.user_edit(world.exchange_store(ALICE_MAILBOX), li_ex, Department="Global Procurement")

    plan, outcome = world.cycle()
    assert outcome.ok
    kinds = world.kinds(plan, "alice")
    assert kinds.count(ActionKind.UPDATE_EXCHANGE) == 1 and kinds.count(ActionKind.UPDATE_SALESFORCE) == 1
    assert kinds.count(ActionKind.UPDATE_BOTH) == 1
    exchange = {r.fields["EmailAddress1"]: r.fields for r in world.exchange_contacts(ALICE_MAILBOX)}
    salesforce = {r.fields["Email"]: r.fields for r in world.salesforce_contacts(ALICE)}
    assert exchange["jane.doe@globex.example"]["JobTitle"] == "COO"
    assert salesforce["raj.patel@initech.example"]["MobilePhone"] == "+1 512 555 0000"
    assert salesforce["li.wei@umbrella.example"]["Department"] == "Global Procurement"
    assert exchange["li.wei@umbrella.example"]["JobTitle"] == "Chief Procurement Officer"
    assert not has_record_changes(world.plan().record_changes)


@pytest.mark.parametrize(("policy", "winner"), [("salesforce_wins", "Sales Title"),
                                                ("exchange_wins", "Mailbox Title")])
def test_the_same_field_edited_on_both_sides_goes_to_the_conflict_policy(world: World, policy: str, winner: str):
    world.edit_configuration("sales-two-way", conflictPolicy=policy)
    world.cycle()
    gavin_sf = world.by_email(world.salesforce_contacts(ALICE), "Email", "gavin@hooli.example")[0]
    gavin_ex = world.by_email(world.exchange_contacts(ALICE_MAILBOX), "EmailAddress1", "gavin@hooli.example")[0]
    world.user_edit(world.salesforce_store(ALICE), gavin_sf, Title="Sales Title")
    world.user_edit(world.exchange_store(ALICE_MAILBOX), gavin_ex, JobTitle="Mailbox Title")

    plan, outcome = world.cycle()
    assert outcome.ok
    [conflict] = [a for a in world.entry(plan, "alice").actions if a.kind is ActionKind.RESOLVE_CONFLICT]
    assert conflict.conflicts[0].key == "JobTitle"
    assert world.by_email(world.salesforce_contacts(ALICE), "Email", "gavin@hooli.example")[0].fields["Title"] == winner
    assert world.by_email(world.exchange_contacts(ALICE_MAILBOX), "EmailAddress1",
                          "gavin@hooli.example")[0].fields["JobTitle"] == winner


def test_deletes_follow_each_directions_policy_and_never_come_back(world: World):
    world.cycle()
    # Salesforce -> Exchange: propagate (default): the Exchange copy goes too.
    sam = world.by_email(world.salesforce_contacts(BOB), "Email", "samir@initech.example")[0]
    world.user_delete(world.salesforce_store(BOB), sam)
    # Exchange -> Salesforce: unlink (default): the Salesforce copy stays, no longer synced.
    alfred = world.by_email(world.exchange_contacts(BOB_MAILBOX), "EmailAddress1", "alfred@wayne.example")[0]
    world.user_delete(world.exchange_store(BOB_MAILBOX), alfred)

    plan, outcome = world.cycle()
    assert outcome.ok
    assert sorted(k.value for k in world.kinds(plan, "bob")) == ["delete_exchange", "unlink"]
    assert not world.by_email(world.exchange_contacts(BOB_MAILBOX), "EmailAddress1", "samir@initech.example")
    alfred_sf = world.by_email(world.salesforce_contacts(BOB), "Email", "alfred@wayne.example")
    assert len(alfred_sf) == 1

    # The kept Salesforce copy is edited later: it is not re-created in Exchange (tombstone).
    world.user_edit(world.salesforce_store(BOB), alfred_sf[0], Title="Butler")
    plan, outcome = world.cycle()
    assert outcome.ok and not has_record_changes(plan.record_changes)
    assert not world.by_email(world.exchange_contacts(BOB_MAILBOX), "EmailAddress1", "alfred@wayne.example")


def test_a_record_edited_between_plan_and_apply_is_deferred_not_overwritten(world: World):
    world.cycle()
    jane_sf = world.by_email(world.salesforce_contacts(ALICE), "Email", "jane.doe@globex.example")[0]
    world.user_edit(world.salesforce_store(ALICE), jane_sf, Title="Planned Title")
    plan = world.plan()
    jane_ex = world.by_email(world.exchange_contacts(ALICE_MAILBOX), "EmailAddress1", "jane.doe@globex.example")[0]
    world.user_edit(world.exchange_store(ALICE_MAILBOX), jane_ex, JobTitle="Typed Meanwhile")

    outcome = world.apply(plan)
    [alice] = [r for r in outcome.records.results if r.user == "alice" and r.object == "contact"]
    assert len(alice.deferred) == 1 and "changed" in alice.deferred[0]
    assert world.by_email(world.exchange_contacts(ALICE_MAILBOX), "EmailAddress1",
                          "jane.doe@globex.example")[0].fields["JobTitle"] == "Typed Meanwhile"
    # The next cycle sees both edits and settles them by the policy (salesforce_wins), losing nothing silently.
    plan, outcome = world.cycle()
    assert outcome.ok
    assert ActionKind.RESOLVE_CONFLICT in world.kinds(plan, "alice")
    assert world.by_email(world.exchange_contacts(ALICE_MAILBOX), "EmailAddress1",
                          "jane.doe@globex.example")[0].fields["JobTitle"] == "Planned Title"


def test_a_saved_plan_is_applied_once_and_refused_when_replayed(world: World):
    from reconciler.state import PlanAlreadyApplied

    world.cycle()
    gavin = world.by_email(world.salesforce_contacts(ALICE), "Email", "gavin@hooli.example")[0]
    world.user_edit(world.salesforce_store(ALICE), gavin, Title="Chairman")
    plan = world.plan()
    assert plan.config_changes == () and has_record_changes(plan.record_changes)
    assert world.apply(plan).ok
    with pytest.raises(PlanAlreadyApplied):
        world.apply(plan)


def test_mass_deletes_stop_the_user_unless_allowed(world: World):
    world.edit_configuration("sales-two-way", limits={"maxDeletes": 2})
    world.cycle()
    store = world.salesforce_store(BOB)
    for contact in world.salesforce_contacts(BOB)[:3]:
        world.user_delete(store, contact)
    plan = world.plan()
    assert [v.guard.value for v in world.entry(plan, "bob").guards] == ["max_deletes"]
    outcome = world.apply(plan)
    [bob] = [r for r in outcome.records.results if r.user == "bob" and r.object == "contact"]
    assert bob.state == "error" and "maxDeletes" in (bob.error or "")
    assert len(world.exchange_contacts(BOB_MAILBOX)) == 9

    plan = world.plan()
    assert world.apply(plan, allow_mass_changes=True).ok
    assert len(world.exchange_contacts(BOB_MAILBOX)) == 6


def test_reset_sync_rebuilds_pairs_by_stamp_and_email_without_duplicates(world: World):
    world.cycle()
    before = Counter(r.fields["EmailAddress1"] for r in world.exchange_contacts(ALICE_MAILBOX))
    world.edit_user("alice", resetSync=1)
    plan, outcome = world.cycle()
    assert outcome.ok
    entry = world.entry(plan, "alice")
    assert entry.reset and not any(a.kind in (ActionKind.CREATE_EXCHANGE, ActionKind.CREATE_SALESFORCE)
                                   for a in entry.actions)
    assert Counter(r.fields["EmailAddress1"] for r in world.exchange_contacts(ALICE_MAILBOX)) == before
    with StateStore.open(world.state) as store:
        assert not [s for s in store.user_statuses() if s.user == "alice"][0].reset_pending
    assert not has_record_changes(world.plan().record_changes)


def test_users_that_cannot_sync_are_reported_and_skipped(world: World):
    world.edit_user("carol", mailbox="carol@partner.example")
    plan, outcome = world.cycle()
    carol = world.entry(plan, "carol")
    assert carol.status == "skipped" and "outside the domains" in carol.reason
    with StateStore.open(world.state) as store:
        [status] = [s for s in store.user_statuses() if s.user == "carol"]
    assert {d.state for d in status.directions} == {"disabled"}
    assert outcome.ok


def test_a_saved_plan_is_refused_for_users_another_sync_reached_first(world: World):
    world.cycle()
    gavin = world.by_email(world.salesforce_contacts(ALICE), "Email", "gavin@hooli.example")[0]
    world.user_edit(world.salesforce_store(ALICE), gavin, Title="Chairman")
    saved = world.plan()
    world.cycle()   # another run syncs alice first
    outcome = world.apply(saved)
    [alice] = [r for r in outcome.records.results if r.user == "alice" and r.object == "contact"]
    assert alice.state == "error" and "plan again" in (alice.error or "") and alice.written == 0


def test_a_listing_that_fails_defers_deletes_and_creates(world: World):
    from reconciler.sandbox.faults import FaultRule

    world.cycle()
    pepper = world.by_email(world.salesforce_contacts(BOB), "Email", "pepper@stark.example")[0]
    world.user_delete(world.salesforce_store(BOB), pepper)
    world.sandbox.faults.add(FaultRule("http_500", service="exchange", operation="SyncFolderItems"))
    plan = world.plan()
    bob = world.entry(plan, "bob")
    assert bob.listing_errors and ActionKind.DELETE_EXCHANGE not in world.kinds(plan, "bob")
    assert ActionKind.DEFER in world.kinds(plan, "bob")
    world.apply(plan)
    world.sandbox.faults.clear()
    assert world.by_email(world.exchange_contacts(BOB_MAILBOX), "EmailAddress1", "pepper@stark.example")
    plan, outcome = world.cycle()
    assert outcome.ok and ActionKind.DELETE_EXCHANGE in world.kinds(plan, "bob")
    assert not world.by_email(world.exchange_contacts(BOB_MAILBOX), "EmailAddress1", "pepper@stark.example")


def test_a_mailbox_that_suddenly_lists_nothing_halts_that_user(world: World):
    world.cycle()
    store = world.exchange_store("carol@acme.example")
    for item in world.exchange_contacts("carol@acme.example"):
        world.user_delete(store, item)
    plan, outcome = world.cycle()
    carol = world.entry(plan, "carol")
    assert carol.halt is not None and carol.halt.guard.value == "empty_side"
    [result] = [r for r in outcome.records.results if r.user == "carol" and r.object == "contact"]
    assert result.state == "error" and result.written == 0
    assert len(world.salesforce_contacts(CAROL)) == 3


def test_inactive_users_and_unknown_mailboxes_are_skipped_with_the_reason(world: World):
    import yaml

    path = world.config_dir / "reconciler.yaml"
    documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    for doc in documents:
        if doc["kind"] == "Profile":
            doc["spec"]["members"].append("dave")
    documents.append({"apiVersion": "reconciler/v1", "kind": "User", "metadata": {"name": "dave"},
                      "spec": {"salesforceUsername": "dave@acme.example"}})
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")
    world.edit_user("carol", mailbox="nobody@acme.example")

    plan, outcome = world.cycle()
    assert outcome.ok
    dave, carol = world.entry(plan, "dave"), world.entry(plan, "carol")
    assert dave.status == "skipped" and "inactive in Salesforce" in dave.reason
    assert carol.status == "skipped" and carol.reason == (
        "no mailbox nobody@acme.example in Exchange "
        "(fix: check the user's mailbox address (User spec.mailbox or the Salesforce Email))")

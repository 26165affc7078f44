"""An ambiguity (two Salesforce contacts and an Exchange contact sharing one email) is never guessed;
it must stay in every plan and in the user's status until a person settles it, then pair as usual."""

from __future__ import annotations

import json
import time
from collections import Counter

from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.plan.records import has_record_changes
from reconciler.state import StateStore
from reconciler.sync import ActionKind

from .conftest import World

ALICE, ALICE_MAILBOX = "alice@acme.example", "alice@acme.example"
SHARED_EMAIL = "dup@hooli.example"
CHANGE_WINDOW_OVERLAP_SECONDS = 5   # the Salesforce cursor re-reads this much of the previous window


def _alice_status(world: World) -> str:
    shown = CliRunner().invoke(cli, ["status", "-c", str(world.config_dir), "--state", world.state],
                               catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    [line] = [line for line in shown.stdout.splitlines() if line.startswith("alice ")]
    return line


def _without_tokens(counts: dict[str, int]) -> dict[str, int]:
    """Token requests depend on the client's token cache, not on what a plan reads."""
    return {operation: n for operation, n in counts.items() if not operation.endswith(".token")}


def test_an_ambiguity_is_in_every_plan_and_the_status_until_a_person_removes_a_duplicate(world: World):
    twins = world.by_email(world.salesforce_contacts(ALICE), "Email", SHARED_EMAIL)
    [mailbox_copy] = world.by_email(world.exchange_contacts(ALICE_MAILBOX), "EmailAddress1", SHARED_EMAIL)
    candidates = {"salesforce": sorted(r.id for r in twins), "exchange": [mailbox_copy.id]}

    for cycle in range(3):
        if cycle == 1:
            # Past the Salesforce cursor's overlap with the seeding: from here on the change feeds
            # alone no longer list the three records.
            time.sleep(CHANGE_WINDOW_OVERLAP_SECONDS + 1.5)
        world.sandbox.counters.reset()
        plan = world.plan()
        plan_calls = _without_tokens(world.sandbox.counters.counts())
        outcome = world.apply(plan)
        assert outcome.ok, [r.error for r in outcome.records.results]
        ambiguous = [a for a in world.entry(plan, "alice").actions if a.kind is ActionKind.AMBIGUOUS]
        shown = [{side: sorted(ids) for side, ids in (a.candidates or {}).items()} for a in ambiguous]
        assert shown == [candidates]
    with StateStore.open(world.state) as store:
        assert {(ref.side, ref.record_id) for ref in store.revisits("alice", "contact")} == {
            ("salesforce", twins[0].id), ("salesforce", twins[1].id), ("exchange", mailbox_copy.id)}
    status = _alice_status(world)
    assert "contact salesforce_to_exchange: in sync, 1 ambiguous awaiting a person" in status
    assert "contact exchange_to_salesforce: in sync, 1 ambiguous awaiting a person" in status
    as_json = CliRunner().invoke(cli, ["status", "-c", str(world.config_dir), "--state", world.state,
                                       "--format", "json"], catch_exceptions=False)
    [alice] = [u for u in json.loads(as_json.stdout)["users"] if u["user"] == "alice"]
    contact = [(d["state"], d["ambiguous"]) for d in alice["directions"] if d["object"] == "contact"]
    assert contact == [("in_sync", 1)] * 2

    [dan] = [r for r in twins if r.fields["FirstName"] == "Dan"]
    world.user_delete(world.salesforce_store(ALICE), dan)
    plan, outcome = world.cycle()
    assert outcome.ok, [r.error for r in outcome.records.results]
    kinds = world.kinds(plan, "alice")
    assert ActionKind.AMBIGUOUS not in kinds and kinds.count(ActionKind.PAIR) == 1
    [dana] = [r for r in twins if r.fields["FirstName"] == "Dana"]
    with StateStore.open(world.state) as store:
        assert (dana.id, mailbox_copy.id) in {(p.salesforce_id, p.exchange_id) for p in store.pairs("alice", "contact")}
        assert store.revisits("alice", "contact") == []
    assert "ambiguous" not in _alice_status(world)

    world.sandbox.counters.reset()
    quiet = world.plan()
    # What the last ambiguous plan read beyond a quiet one: the three records, by id, once per side
    # (Salesforce: the contacts, and the Account named by the mailbox contact's company).
    extra = Counter(plan_calls)
    extra.subtract(_without_tokens(world.sandbox.counters.counts()))
    assert +extra == {"exchange.GetFolder": 1, "exchange.GetItem": 1, "salesforce.query": 2}
    assert not has_record_changes(quiet.record_changes)
    assert ActionKind.AMBIGUOUS not in world.kinds(quiet, "alice")
    # Paired, not copied: each side still holds one contact with the address.
    in_mailbox = world.by_email(world.exchange_contacts(ALICE_MAILBOX), "EmailAddress1", SHARED_EMAIL)
    assert [r.id for r in in_mailbox] == [mailbox_copy.id]
    assert [r.id for r in world.by_email(world.salesforce_contacts(ALICE), "Email", SHARED_EMAIL)] == [dana.id]

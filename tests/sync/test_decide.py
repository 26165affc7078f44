"""The decision table: each row is (pair at BASE, what Salesforce and Exchange show, policy) ->
the action decide() takes and what it writes where."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from reconciler.sync import (
    ActionKind, ConflictPolicy, DeletePolicies, DeletePolicy, DeleteOp, Direction, SideSnapshot, SourceRecord,
    SyncPolicy, UpdateOp, build_mapping, CONTACT, decide,
)

from .cases import (BASE, EX_ID, MAPPING, SF_ID, edited, exchange_record, salesforce_record, snapshot,
                    synced_pair)
from .harness import NOW


@dataclass
class Row:
    name: str
    salesforce: SideSnapshot
    exchange: SideSnapshot
    expected: ActionKind | None               # None: no action at all
    salesforce_writes: dict[str, Any] | None = None
    exchange_writes: dict[str, Any] | None = None
    direction: Direction = Direction.BOTH
    conflict: ConflictPolicy = ConflictPolicy.SALESFORCE_WINS
    deletes: DeletePolicies = field(default_factory=DeletePolicies)
    reason_contains: str = ""


UNCHANGED = snapshot()
PROPAGATE_BOTH = DeletePolicies(DeletePolicy.PROPAGATE, DeletePolicy.PROPAGATE)

ROWS = [
    Row("nothing changed", UNCHANGED, UNCHANGED, None),
    Row("salesforce edit goes to exchange",
        snapshot(salesforce_record(edited(JobTitle="CTO"))), UNCHANGED,
        ActionKind.UPDATE_EXCHANGE, exchange_writes={"JobTitle": "CTO"}),
    Row("exchange edit goes to salesforce",
        UNCHANGED, snapshot(exchange_record(edited(JobTitle="CTO"))),
        ActionKind.UPDATE_SALESFORCE, salesforce_writes={"Title": "CTO"}),
    Row("edits of different fields on both sides merge",
        snapshot(salesforce_record(edited(JobTitle="CTO"))),
        snapshot(exchange_record(edited(BusinessPhone="+1 555 0199"))),
        ActionKind.UPDATE_BOTH, salesforce_writes={"Phone": "+1 555 0199"}, exchange_writes={"JobTitle": "CTO"}),
    Row("the same edit on both sides writes nothing",
        snapshot(salesforce_record(edited(JobTitle="CTO"))), snapshot(exchange_record(edited(JobTitle="CTO"))),
        None),
    Row("same field, different values: salesforce_wins",
        snapshot(salesforce_record(edited(JobTitle="CTO"))), snapshot(exchange_record(edited(JobTitle="CEO"))),
        ActionKind.RESOLVE_CONFLICT, exchange_writes={"JobTitle": "CTO"}),
    Row("same field, different values: exchange_wins",
        snapshot(salesforce_record(edited(JobTitle="CTO"))), snapshot(exchange_record(edited(JobTitle="CEO"))),
        ActionKind.RESOLVE_CONFLICT, salesforce_writes={"Title": "CEO"}, conflict=ConflictPolicy.EXCHANGE_WINS),
    Row("same field: newest_wins picks the later exchange edit",
        snapshot(salesforce_record(edited(JobTitle="CTO"), minutes=1)),
        snapshot(exchange_record(edited(JobTitle="CEO"), minutes=2)),
        ActionKind.RESOLVE_CONFLICT, salesforce_writes={"Title": "CEO"}, conflict=ConflictPolicy.NEWEST_WINS),
    Row("same field: newest_wins on a tie picks salesforce",
        snapshot(salesforce_record(edited(JobTitle="CTO"), minutes=2)),
        snapshot(exchange_record(edited(JobTitle="CEO"), minutes=2)),
        ActionKind.RESOLVE_CONFLICT, exchange_writes={"JobTitle": "CTO"}, conflict=ConflictPolicy.NEWEST_WINS),
    Row("conflict plus a one-sided edit: both resolved in one action",
        snapshot(salesforce_record(edited(JobTitle="CTO", BusinessPhone="+1 555 0111"))),
        snapshot(exchange_record(edited(JobTitle="CEO", Surname="Smith"))),
        ActionKind.RESOLVE_CONFLICT, salesforce_writes={"LastName": "Smith"},
        exchange_writes={"JobTitle": "CTO", "BusinessPhone": "+1 555 0111"}),
    Row("an echo (version moved, same content) does nothing",
        snapshot(salesforce_record(BASE)), snapshot(exchange_record(BASE)), None),
    Row("whitespace, empty strings and email case are not edits",
        UNCHANGED, snapshot(exchange_record(edited(GivenName="  Jane ", EmailAddress1="JANE@Example.com",
                                                   Department=""))),
        None),
    Row("a reformatted phone number is an edit (phones are compared as written)",
        UNCHANGED, snapshot(exchange_record(edited(BusinessPhone="+15550100"))),
        ActionKind.UPDATE_SALESFORCE, salesforce_writes={"Phone": "+15550100"}),
    Row("salesforce_to_exchange never writes salesforce",
        UNCHANGED, snapshot(exchange_record(edited(JobTitle="CEO"))), None,
        direction=Direction.SALESFORCE_TO_EXCHANGE),
    Row("exchange_to_salesforce never writes exchange",
        snapshot(salesforce_record(edited(JobTitle="CTO"))), UNCHANGED, None,
        direction=Direction.EXCHANGE_TO_SALESFORCE),
    Row("the company is one way: an exchange edit stays in exchange",
        UNCHANGED, snapshot(exchange_record(edited(CompanyName="Other Ltd"))), None),
    Row("a salesforce account change renames the exchange company",
        snapshot(salesforce_record(edited(CompanyName="Globex"))), UNCHANGED,
        ActionKind.UPDATE_EXCHANGE, exchange_writes={"CompanyName": "Globex"}),
    Row("a salesforce contact losing its account never strips the exchange company",
        snapshot(salesforce_record(edited(CompanyName=None))), UNCHANGED, ActionKind.SKIP),
    # deletes
    Row("salesforce delete propagates (default)",
        snapshot(deleted=(SF_ID,)), UNCHANGED, ActionKind.DELETE_EXCHANGE, reason_contains="deleted in salesforce"),
    Row("exchange delete unlinks (default)",
        UNCHANGED, snapshot(deleted=(EX_ID,)), ActionKind.UNLINK),
    Row("exchange delete propagates when asked",
        UNCHANGED, snapshot(deleted=(EX_ID,)), ActionKind.DELETE_SALESFORCE, deletes=PROPAGATE_BOTH),
    Row("salesforce delete ignored keeps exchange, reported as a skip",
        snapshot(deleted=(SF_ID,)), UNCHANGED, ActionKind.SKIP,
        deletes=DeletePolicies(DeletePolicy.IGNORE, DeletePolicy.UNLINK), reason_contains="ignore"),
    Row("leaving the salesforce data set counts as a salesforce delete",
        snapshot(departed=(SF_ID,)), UNCHANGED, ActionKind.DELETE_EXCHANGE, reason_contains="left the salesforce data set"),
    Row("delete in salesforce + edit in exchange: the edit wins and is re-created",
        snapshot(deleted=(SF_ID,)), snapshot(exchange_record(edited(JobTitle="CEO"))),
        ActionKind.CREATE_SALESFORCE, reason_contains="the edit wins"),
    Row("delete + edit where the direction forbids re-creating: unlink",
        snapshot(deleted=(SF_ID,)), snapshot(exchange_record(edited(JobTitle="CEO"))), ActionKind.UNLINK,
        direction=Direction.SALESFORCE_TO_EXCHANGE),
    Row("a propagated delete the direction cannot carry becomes an unlink",
        snapshot(deleted=(SF_ID,)), UNCHANGED, ActionKind.UNLINK, direction=Direction.EXCHANGE_TO_SALESFORCE),
    Row("delete + an echo-only version move on the other side still propagates",
        snapshot(deleted=(SF_ID,)), snapshot(exchange_record(edited(GivenName=" Jane"))), ActionKind.DELETE_EXCHANGE),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_decision_table(row: Row) -> None:
    policy = SyncPolicy(build_mapping(CONTACT, direction=row.direction), conflict=row.conflict, deletes=row.deletes)
    decisions = decide(policy, [synced_pair()], row.salesforce, row.exchange, now=NOW)

    if row.expected is None:
        assert decisions.actions == ()
        return
    (action,) = decisions.actions
    assert action.kind is row.expected
    assert row.reason_contains in action.reason
    assert _update_fields(action.salesforce_write) == row.salesforce_writes
    assert _update_fields(action.exchange_write) == row.exchange_writes
    for op in action.writes.values():
        if isinstance(op, UpdateOp | DeleteOp):
            assert op.expected_version in {"s1", "s2", "e1", "e2"}, "every write is conditional"


def _update_fields(op) -> dict[str, Any] | None:
    return dict(op.fields) if isinstance(op, UpdateOp) else None


def test_conflicts_are_reported_with_both_values_and_the_rule() -> None:
    policy = SyncPolicy(MAPPING)
    decisions = decide(policy, [synced_pair()], snapshot(salesforce_record(edited(JobTitle="CTO"))),
                       snapshot(exchange_record(edited(JobTitle="CEO"))), now=NOW)
    entry = decisions.actions[0].describe(include_values=True)
    assert entry["conflicts"] == [{"field": "JobTitle", "winner": "salesforce", "rule": "salesforce_wins",
                                   "salesforce": "CTO", "exchange": "CEO"}]


def test_update_expects_the_version_it_was_decided_from() -> None:
    decisions = decide(SyncPolicy(MAPPING), [synced_pair()], snapshot(salesforce_record(edited(JobTitle="CTO"))),
                       UNCHANGED, now=NOW)
    op = decisions.actions[0].exchange_write
    assert (op.record_id, op.expected_version) == (EX_ID, "e1")   # exchange was not re-read: the pair's token


def test_echo_refreshes_the_stored_version_without_an_action() -> None:
    decisions = decide(SyncPolicy(MAPPING), [synced_pair()], snapshot(salesforce_record(BASE, version="s9")),
                       UNCHANGED, now=NOW)
    (update,) = decisions.bookkeeping
    assert decisions.actions == ()
    assert update.store.salesforce_version == "s9" and update.remove == synced_pair()


def test_delete_propagation_is_conditional_on_the_survivors_version() -> None:
    decisions = decide(SyncPolicy(MAPPING), [synced_pair()], snapshot(deleted=(SF_ID,)),
                       snapshot(exchange_record(BASE, version="e7")), now=NOW)
    assert decisions.actions[0].exchange_write == DeleteOp(EX_ID, "e7")


def test_unlink_tombstones_both_ids_and_drops_the_pair() -> None:
    decisions = decide(SyncPolicy(MAPPING), [synced_pair()], UNCHANGED, snapshot(deleted=(EX_ID,)), now=NOW)
    (action,) = decisions.actions
    assert {(t.side.value, t.record_id) for t in action.tombstones} == {("salesforce", SF_ID), ("exchange", EX_ID)}
    assert action.previous_pair == synced_pair() and action.next_pair is None


def test_both_sides_gone_forgets_the_pair_quietly() -> None:
    decisions = decide(SyncPolicy(MAPPING), [synced_pair()], snapshot(deleted=(SF_ID,)),
                       snapshot(deleted=(EX_ID,)), now=NOW)
    assert decisions.actions == ()
    assert [(u.remove, u.store) for u in decisions.bookkeeping] == [(synced_pair(), None)]


def test_direction_none_decides_nothing() -> None:
    policy = SyncPolicy(build_mapping(CONTACT, direction=Direction.NONE))
    new = SourceRecord("003N", "s1", {"LastName": "New"})
    assert decide(policy, [synced_pair()], snapshot(new, deleted=(SF_ID,)), UNCHANGED, now=NOW).actions == ()


def test_invalid_value_skips_the_record_with_a_reason_that_shows_no_value() -> None:
    decisions = decide(SyncPolicy(MAPPING), [synced_pair()],
                       snapshot(salesforce_record(edited(Birthday="31/12/1980"))), UNCHANGED, now=NOW)
    (action,) = decisions.actions
    assert action.kind is ActionKind.SKIP and "Birthdate" in action.reason and "1980" not in action.reason


def test_plan_entry_without_values_names_fields_only() -> None:
    decisions = decide(SyncPolicy(MAPPING), [synced_pair()], snapshot(salesforce_record(edited(JobTitle="CTO"))),
                       UNCHANGED, now=NOW)
    private = decisions.actions[0].describe(include_values=False)
    public = decisions.actions[0].describe(include_values=True)
    assert private["fields"] == [{"side": "exchange", "field": "JobTitle", "key": "JobTitle"}]
    assert "name" not in private and "CTO" not in str(private)
    assert public["name"] == "Jane Doe"
    assert public["fields"][0]["before"] == "Engineer" and public["fields"][0]["after"] == "CTO"
    assert public["expected_versions"] == {"exchange": "e1"}


def test_absence_from_a_full_listing_counts_as_a_delete() -> None:
    other = salesforce_record(edited(GivenName="Joe", EmailAddress1="joe@example.com"), record_id="003B")
    decisions = decide(SyncPolicy(MAPPING), [synced_pair()], snapshot(other, full=True), UNCHANGED, now=NOW)
    assert [(a.kind, a.salesforce_id) for a in decisions.actions] == [
        (ActionKind.DELETE_EXCHANGE, SF_ID), (ActionKind.CREATE_EXCHANGE, "003B")]
    assert "no longer listed by salesforce" in decisions.actions[0].reason


@pytest.mark.parametrize("conflict, title", [(ConflictPolicy.SALESFORCE_WINS, "CTO"),
                                             (ConflictPolicy.EXCHANGE_WINS, "CEO")])
def test_first_pairing_settles_differences_by_the_conflict_policy(conflict: ConflictPolicy, title: str) -> None:
    salesforce = salesforce_record({"Surname": "Doe", "EmailAddress1": "jane@x.com", "JobTitle": "CTO"})
    exchange = exchange_record({"Surname": "Doe", "EmailAddress1": "JANE@x.com", "JobTitle": "CEO",
                                "MobilePhone": "+1 555 0100"}, stamp=None)
    decisions = decide(SyncPolicy(MAPPING, conflict=conflict), [], snapshot(salesforce), snapshot(exchange), now=NOW)
    (action,) = decisions.actions
    assert action.kind is ActionKind.PAIR and action.next_pair.base["JobTitle"] == title
    assert action.next_pair.base["MobilePhone"] == "+1 555 0100"          # one side only: it fills the other
    assert action.exchange_write.salesforce_id_stamp == SF_ID


def test_unlink_counts_as_a_change_and_ignore_does_not() -> None:
    def decided(policy: DeletePolicy):
        deletes = DeletePolicies(DeletePolicy.PROPAGATE, policy)
        return decide(SyncPolicy(MAPPING, deletes=deletes), [synced_pair()], UNCHANGED, snapshot(deleted=(EX_ID,)),
                      now=NOW)
    assert (decided(DeletePolicy.UNLINK).change_count, decided(DeletePolicy.IGNORE).change_count) == (1, 0)
    assert decided(DeletePolicy.PROPAGATE).delete_count == 1


def test_plan_entries_are_json() -> None:
    decisions = decide(SyncPolicy(MAPPING), [synced_pair()],
                       snapshot(salesforce_record(edited(JobTitle="CTO", Birthday="1980-12-31"))),
                       snapshot(exchange_record(edited(JobTitle="CEO"))), now=NOW)
    assert json.loads(json.dumps(decisions.describe(include_values=True)))[0]["kind"] == "resolve_conflict"


def test_a_rewritten_pair_keeps_bookkeeping_in_its_base_and_drops_unmapped_fields() -> None:
    stored = synced_pair()
    pair = replace(stored, base={**stored.base, "~attendees": ["005A", "00QB"], "Retired__Field": "x"})
    decisions = decide(SyncPolicy(MAPPING), [pair], snapshot(salesforce_record(edited(JobTitle="CTO"))),
                       UNCHANGED, now=NOW)
    base = decisions.actions[0].next_pair.base
    assert base["~attendees"] == ["005A", "00QB"] and base["JobTitle"] == "CTO"
    assert "Retired__Field" not in base

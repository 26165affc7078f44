"""A pair whose attendees were never merged is told apart from one merged with no attendees: every
completed merge stores the merge base, an empty one too, so a pair without it has its attendee
merge pending (a run killed between its batches and its attendee step, attendees switched on
later), as has a pair flagged after a failed attendee write; the next apply merges them. An empty
base and no base merge alike."""

from __future__ import annotations

from reconciler.sync.events import (ATTENDEES_RETRY, SYNCED_ATTENDEES, Attendee, RelationKind, attendee_changes,
                                    attendees_pending, first_attendee_sync, plan_attendees)
from reconciler.sync.status import Pair


def _pair(base: dict[str, object]) -> Pair:
    return Pair("00U1", "AAMk1", "v1", "ck1", None, None, base)


def test_a_pair_without_a_merge_base_or_flagged_after_a_failed_merge_has_its_attendees_pending() -> None:
    never = _pair({"Subject": "Review"})
    failed = _pair({"Subject": "Review", SYNCED_ATTENDEES: ["003J"], ATTENDEES_RETRY: True})
    assert attendees_pending(never) and first_attendee_sync(never)
    assert attendees_pending(failed) and not first_attendee_sync(failed), "merged again against its base"
    for merged in ([], ["003J"]):
        assert not attendees_pending(_pair({"Subject": "Review", SYNCED_ATTENDEES: merged}))


def test_an_empty_merge_base_merges_like_none_uniting_both_lists() -> None:
    plan = plan_attendees([Attendee("jane@globex.example")], {RelationKind.CONTACT: {"jane@globex.example": ["003J"]}})
    salesforce = {"00QM": ("New", "monty@snpp.example")}
    merged = [attendee_changes(plan, salesforce, ["jane@globex.example"], synced) for synced in ((), [])]
    assert merged[0] == merged[1]
    assert ([i.relation_id for i in merged[0].create], merged[0].invite, merged[0].delete) == (
        ["003J"], ("monty@snpp.example",), ())

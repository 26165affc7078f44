"""The decision step: pairs + what each side shows this cycle -> one action per record. Pure.

The rules (with their reasons) are in docs/sync-rules.md; this module is their executable form.
In short:

* a pair whose sides did not change does nothing; a side "changed" when its version token moved
  AND its canonical hash differs from the one stored, so echoes of our own writes never bounce;
* changes merge field by field against the pair's base; only a field changed on both sides to
  different values goes to the conflict policy;
* a delete (or a departure from the data set) goes through that direction's delete policy, except
  that an edit on the other side since the last sync wins over a propagated delete;
* unpaired records are matched (stamp, then the object type's keys) before anything is created;
* the object's direction gates every write, and every update and delete is conditional on the
  version token the decision was made from.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .actions import Action, ActionKind, Decisions, FieldChange, FieldConflict, Outcome, PairUpdate
from .guards import empty_side_violation
from .mapping import FieldKind, FieldMap, InvalidFieldValue, comparable
from .matching import Unpaired, match_records
from .policy import ConflictPolicy, DeletePolicy, Direction, SyncPolicy
from .ports import CreateOp, DeleteOp, Side, SourceRecord, UpdateOp
from .status import BOOKKEEPING_PREFIX, Pair, SideSnapshot, Tombstone

LookupIndexes = Mapping[str, Mapping[str, Sequence[str]]]
"""Per lookup object (``"Account"``), record name -> ids of the records with that name."""

OVER_LIMIT = "over the per-user limit"
SIDES = (Side.SALESFORCE, Side.EXCHANGE)   # iterating the Enum class is measurably slower per record


def decide(
    policy: SyncPolicy,
    pairs: Sequence[Pair],
    salesforce: SideSnapshot,
    exchange: SideSnapshot,
    tombstones: Iterable[Tombstone] = (),
    *,
    lookups: LookupIndexes | None = None,
    listing_errors: bool = False,
    now: datetime,
) -> Decisions:
    """Decide this cycle for one user and one object type.

    ``lookups`` resolves a company name to an AccountId (only a unique name resolves).
    ``listing_errors``: a listing of this user hit errors, so absence proves nothing: deletes,
    unlinks, creates and new pairings are deferred. ``now`` stamps tombstones (no clock is read).
    """
    if policy.direction is Direction.NONE:
        return Decisions(policy.mapping.object_type.name, ())
    cycle = _Cycle(policy, salesforce, exchange, tombstones, lookups or {}, now)
    working, rebound, stamp_actions, consumed = cycle.rebind_moved_items(pairs)
    # After re-binding: items found again by their stamp (a mailbox move) are not a vanished side.
    halt = (empty_side_violation(Side.SALESFORCE, working, salesforce)
            or empty_side_violation(Side.EXCHANGE, working, exchange))
    actions: list[Action] = list(stamp_actions)
    bookkeeping: list[PairUpdate] = []
    for pair in sorted(working, key=lambda p: (p.salesforce_id, p.exchange_id)):
        outcome = cycle.decide_pair(pair, rebound.get(pair.salesforce_id))
        if isinstance(outcome, Action):
            actions.append(outcome)
        elif isinstance(outcome, PairUpdate):
            bookkeeping.append(outcome)

    unpaired_actions, new_records = cycle.decide_unpaired(working, consumed)
    actions.extend(unpaired_actions)
    released = sum(1 for action in actions if action.previous_pair and action.next_pair is None)
    released += sum(1 for update in bookkeeping if update.remove and update.store is None)
    free_slots = policy.limits.records_per_user - (len(working) - released)
    actions.extend(_enforce_record_limit(new_records, free_slots))

    if listing_errors:
        actions = [_deferred_for_listing_errors(action) for action in actions]
        bookkeeping = [update for update in bookkeeping if update.store is not None]
    return Decisions(policy.mapping.object_type.name, tuple(actions), tuple(bookkeeping), halt)


@dataclass
class _View:
    """One side's records this cycle, canonicalised once."""

    side: Side
    snapshot: SideSnapshot
    records: dict[str, SourceRecord] = field(default_factory=dict)
    canonical: dict[str, dict[str, Any]] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)

    def gone_reason(self, record_id: str) -> str | None:
        """Why a paired record no longer takes part, or None while it does."""
        if record_id in self.snapshot.deleted_ids:
            return f"deleted in {self.side.value}"
        if record_id in self.snapshot.departed_ids:
            return f"left the {self.side.value} data set"
        if self.snapshot.full and record_id not in self.records:
            return f"no longer listed by {self.side.value}"
        return None


@dataclass
class _Merge:
    """``writes``: per side, field (that side's name) -> value to send; ``written``: the same in
    canonical keys and values; ``after``: each side's canonical record once written (None for a
    side not read this cycle)."""

    writes: dict[Side, dict[str, Any]] = field(default_factory=lambda: {side: {} for side in SIDES})
    written: dict[Side, dict[str, Any]] = field(default_factory=lambda: {side: {} for side in SIDES})
    changes: list[FieldChange] = field(default_factory=list)
    conflicts: list[FieldConflict] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    after: dict[Side, dict[str, Any] | None] = field(default_factory=dict)
    base: dict[str, Any] = field(default_factory=dict)


class _Cycle:
    """The per-call context of ``decide``: views of both sides plus the policy."""

    def __init__(self, policy: SyncPolicy, salesforce: SideSnapshot, exchange: SideSnapshot,
                 tombstones: Iterable[Tombstone], lookups: LookupIndexes, now: datetime) -> None:
        self.policy = policy
        self.mapping = policy.mapping
        self.object_name = policy.mapping.object_type.name
        self.tombstoned = {(entry.side, entry.record_id) for entry in tombstones}
        self.lookups = {
            name: {_fold(key): tuple(ids) for key, ids in index.items()} for name, index in lookups.items()
        }
        self.now = now
        # Per field, may it be written INTO each side (looked up per record and field in merge).
        self.flows_into = {mapped.key: {side: mapped.flows_into(side) for side in SIDES}
                           for mapped in policy.mapping.fields}
        self.views = {Side.SALESFORCE: self._view(Side.SALESFORCE, salesforce),
                      Side.EXCHANGE: self._view(Side.EXCHANGE, exchange)}

    def _view(self, side: Side, snapshot: SideSnapshot) -> _View:
        view = _View(side, snapshot)
        for record in snapshot.records:
            view.records[record.id] = record
            try:
                view.canonical[record.id] = self.mapping.canonical(side, record.fields)
            except InvalidFieldValue as error:
                view.invalid[record.id] = str(error)
        return view

    # -- naming ---------------------------------------------------------------------------------

    def display_name(self, *records: Mapping[str, Any] | None) -> str:
        for record in records:
            if record:
                return self.mapping.object_type.display_name(record)
        return "(unknown)"

    def action(self, kind: ActionKind, salesforce_id: str | None, exchange_id: str | None,
               name: str, reason: str, **details: Any) -> Action:
        return Action(kind=kind, object_type=self.object_name, salesforce_id=salesforce_id,
                      exchange_id=exchange_id, display_name=name, reason=reason, **details)

    # -- stamps ---------------------------------------------------------------------------------

    def rebind_moved_items(
        self, pairs: Sequence[Pair]
    ) -> tuple[list[Pair], dict[str, Pair], list[Action], set[str]]:
        """Honour the Salesforce Id stamp of unpaired Exchange items against existing pairs.

        An unpaired item stamped with a paired Salesforce Id whose Exchange item is gone is that
        item, moved (a mailbox move, a restore): the pair follows it, keeping its merge base, and
        nothing is duplicated. If the paired item is still there, the stamped one is a copy: it is
        reported as ambiguous and left alone. Returns the working pairs, the original of each
        re-bound pair (by Salesforce id), the ambiguity actions and the Exchange ids consumed.
        """
        exchange = self.views[Side.EXCHANGE]
        by_salesforce = {pair.salesforce_id: pair for pair in pairs}
        paired_exchange = {pair.exchange_id for pair in pairs}
        stamped: dict[str, list[SourceRecord]] = {}
        for record in exchange.records.values():
            if record.id not in paired_exchange and record.salesforce_id_stamp in by_salesforce:
                stamped.setdefault(record.salesforce_id_stamp, []).append(record)
        rebound: dict[str, Pair] = {}
        actions: list[Action] = []
        consumed: set[str] = set()
        for salesforce_id in sorted(stamped):
            items = sorted(stamped[salesforce_id], key=lambda record: record.id)
            consumed.update(item.id for item in items)
            pair = by_salesforce[salesforce_id]
            if exchange.gone_reason(pair.exchange_id) is not None and len(items) == 1:
                rebound[salesforce_id] = pair
                by_salesforce[salesforce_id] = replace(
                    pair, exchange_id=items[0].id, exchange_version="", exchange_hash=None)
                continue
            actions.append(self.action(
                ActionKind.AMBIGUOUS, salesforce_id, None,
                self.display_name(*(exchange.canonical.get(item.id) for item in items), pair.base),
                "Exchange items carry the Salesforce Id of a record already synced with another "
                "Exchange item; they are left alone (remove the copies or Reset Sync)",
                candidates={"salesforce": (salesforce_id,),
                            "exchange": tuple(sorted({pair.exchange_id, *(item.id for item in items)}))},
            ))
        return list(by_salesforce.values()), rebound, actions, consumed

    # -- pairs ----------------------------------------------------------------------------------

    def changed(self, pair: Pair, side: Side) -> bool:
        """The version token moved AND the canonical hash differs (or is unknown)."""
        view = self.views[side]
        record = view.records.get(pair.id_on(side))
        if record is None or record.version == pair.version_on(side):
            return False
        stored = pair.hash_on(side)
        return stored is None or self.mapping.hash(view.canonical[record.id]) != stored

    def decide_pair(self, pair: Pair, original: Pair | None) -> Action | PairUpdate | None:
        """One existing pair (``original`` is set when the pair was re-bound to a moved item)."""
        records = {side: self.views[side].records.get(pair.id_on(side)) for side in SIDES}
        canonical = {side: self.views[side].canonical.get(pair.id_on(side)) for side in SIDES}
        name = self.display_name(canonical[Side.SALESFORCE], canonical[Side.EXCHANGE], pair.base)
        previous = original or pair
        for side in SIDES:
            problem = self.views[side].invalid.get(pair.id_on(side))
            if problem is not None:
                return self.action(ActionKind.SKIP, pair.salesforce_id, pair.exchange_id, name,
                                   f"invalid value in {side.value} ({problem}); fix it there")
        gone = {side: self.views[side].gone_reason(pair.id_on(side)) for side in SIDES}
        if gone[Side.SALESFORCE] and gone[Side.EXCHANGE]:
            return PairUpdate(Outcome.APPLIED, remove=previous, message="both copies are gone")
        for side in SIDES:
            if gone[side]:
                return self.decide_one_side_gone(pair, previous, side, gone[side], name)

        changed = {side: self.changed(pair, side) for side in SIDES}
        merge = self.merge(pair.base, canonical, changed, records, first_pairing=False)
        item = records[Side.EXCHANGE]
        needs_stamp = (self.policy.direction.writes(Side.EXCHANGE) and (item is None or item.stampable) and (
            not pair.exchange_stamped or (item is not None and item.salesforce_id_stamp != pair.salesforce_id)))
        next_pair = self.next_pair(pair, merge, records, stamp_write=needs_stamp)
        if not any(merge.writes.values()) and not needs_stamp:
            if original is not None:
                return self.action(ActionKind.PAIR, pair.salesforce_id, pair.exchange_id, name,
                                   "re-paired by the Salesforce Id stamp (the Exchange item moved)",
                                   issues=tuple(merge.issues), previous_pair=previous, next_pair=next_pair)
            if merge.issues:
                return self.action(ActionKind.SKIP, pair.salesforce_id, pair.exchange_id, name,
                                   "nothing can be written", issues=tuple(merge.issues),
                                   previous_pair=previous, next_pair=next_pair)
            if next_pair != pair:
                return PairUpdate(Outcome.APPLIED, remove=pair, store=next_pair,
                                  message="version moved without a synced change")
            return None

        writes = {side: UpdateOp(
            record_id=pair.id_on(side),
            expected_version=records[side].version if records[side] else pair.version_on(side),
            fields=merge.writes[side],
            salesforce_id_stamp=pair.salesforce_id if side is Side.EXCHANGE and needs_stamp else None,
        ) for side in SIDES if merge.writes[side] or (side is Side.EXCHANGE and needs_stamp)}
        if original is not None:
            kind, reason = ActionKind.PAIR, "re-paired by the Salesforce Id stamp (the Exchange item moved)"
        elif merge.conflicts:
            kind, reason = ActionKind.RESOLVE_CONFLICT, "changed on both sides; conflicting fields settled by policy"
        elif len(writes) == 2:
            kind, reason = ActionKind.UPDATE_BOTH, "changed on both sides; merged field by field"
        elif Side.SALESFORCE in writes:
            kind, reason = ActionKind.UPDATE_SALESFORCE, "changed in exchange"
        elif merge.writes[Side.EXCHANGE]:
            kind, reason = ActionKind.UPDATE_EXCHANGE, "changed in salesforce"
        else:
            kind, reason = ActionKind.UPDATE_EXCHANGE, "stamp the Salesforce Id on the Exchange item"
        return self.action(
            kind, pair.salesforce_id, pair.exchange_id, name, reason,
            changes=tuple(merge.changes), conflicts=tuple(merge.conflicts), issues=tuple(merge.issues),
            salesforce_write=writes.get(Side.SALESFORCE), exchange_write=writes.get(Side.EXCHANGE),
            previous_pair=previous, next_pair=next_pair,
        )

    def decide_one_side_gone(self, pair: Pair, previous: Pair, gone_side: Side, why: str, name: str) -> Action:
        """Delete policy of the direction the delete travels; an edit since the last sync on the
        surviving side wins over ``propagate`` (re-create if the direction allows, else unlink).
        ``previous`` is the stored row the outcome replaces (``pair`` before a stamp re-bind)."""
        survivor = gone_side.other
        direction = self.policy.direction
        delete_policy = self.policy.deletes.for_delete_on(gone_side)
        survivor_record = self.views[survivor].records.get(pair.id_on(survivor))
        tombstones = (Tombstone(survivor, pair.id_on(survivor), f"{why}; kept in {survivor.value}", self.now),
                      Tombstone(gone_side, pair.id_on(gone_side), why, self.now))
        unlink = dict(previous_pair=previous, tombstones=tombstones)
        if delete_policy is DeletePolicy.IGNORE:
            return self.action(ActionKind.SKIP, pair.salesforce_id, pair.exchange_id, name,
                               f"{why}; policy ignore keeps the {survivor.value} copy, no longer synced", **unlink)
        if delete_policy is DeletePolicy.UNLINK:
            return self.action(ActionKind.UNLINK, pair.salesforce_id, pair.exchange_id, name,
                               f"{why}; policy unlink keeps the {survivor.value} copy, no longer synced", **unlink)
        if self.changed(pair, survivor) and self._has_changes(pair, survivor):
            if direction.writes(gone_side):
                return self.create(gone_side, survivor_record, previous_pair=previous,
                                   reason=f"{why}, but edited in {survivor.value} since the last sync: "
                                          f"the edit wins and is re-created")
            return self.action(ActionKind.UNLINK, pair.salesforce_id, pair.exchange_id, name,
                               f"{why}, but edited in {survivor.value} since the last sync: the edit wins; "
                               f"the direction does not allow re-creating it, so it is unlinked", **unlink)
        if not direction.writes(survivor):
            return self.action(ActionKind.UNLINK, pair.salesforce_id, pair.exchange_id, name,
                               f"{why}; the direction does not allow deleting in {survivor.value}, so it is "
                               f"unlinked", **unlink)
        kind = ActionKind.DELETE_EXCHANGE if survivor is Side.EXCHANGE else ActionKind.DELETE_SALESFORCE
        op = DeleteOp(pair.id_on(survivor),
                      survivor_record.version if survivor_record else pair.version_on(survivor))
        return self.action(kind, pair.salesforce_id, pair.exchange_id, name,
                           f"{why}; policy propagate deletes the {survivor.value} copy",
                           previous_pair=previous,
                           **{f"{survivor.value}_write": op})

    def _has_changes(self, pair: Pair, side: Side) -> bool:
        current = self.views[side].canonical[pair.id_on(side)]
        return any(not self.mapping.same(key, current.get(key), pair.base.get(key)) for key in self.mapping.keys)

    # -- merging --------------------------------------------------------------------------------

    def winner(self, records: Mapping[Side, SourceRecord | None]) -> tuple[Side, str]:
        conflict = self.policy.conflict
        if conflict is ConflictPolicy.EXCHANGE_WINS:
            return Side.EXCHANGE, conflict.value
        if conflict is ConflictPolicy.NEWEST_WINS:
            times = {side: records[side].modified_at if records[side] else None for side in SIDES}
            if times[Side.SALESFORCE] and times[Side.EXCHANGE] and times[Side.EXCHANGE] > times[Side.SALESFORCE]:
                return Side.EXCHANGE, conflict.value
        return Side.SALESFORCE, conflict.value

    def merge(self, base: Mapping[str, Any], current: Mapping[Side, Mapping[str, Any] | None],
              changed: Mapping[Side, bool], records: Mapping[Side, SourceRecord | None],
              *, first_pairing: bool) -> _Merge:
        """Three-way merge of each mapped field against ``base``.

        A side's change counts only if its field may flow to the other side (a one-way field's
        target keeps local edits until its source changes). A side not read this cycle is
        unchanged, so it equals the base. First pairing merges against an empty base: a value
        present on one side only fills the other, values present on both and different go to the
        conflict policy.
        """
        result = _Merge()
        flowing = {mapped.key: self.flows(mapped, base, current, changed) for mapped in self.mapping.fields}
        for group in self.mapping.object_type.merged_together:
            # Both sides changed the group (any of its fields): settled as one value, by the policy.
            if all(any(flowing[key][side] for key in group if key in flowing) for side in SIDES):
                for key in group:
                    if key in flowing:
                        flowing[key] = {side: self.flows_into[key][side.other] for side in SIDES}
        for mapped in self.mapping.fields:
            key = mapped.key
            before = base.get(key)
            values = {side: current[side][key] if current[side] is not None else before for side in SIDES}
            flows = flowing[key]
            if (first_pairing and mapped.kind is FieldKind.LOOKUP and values[Side.SALESFORCE] is None
                    and values[Side.EXCHANGE] is not None and self.policy.direction.writes(Side.SALESFORCE)):
                flows[Side.EXCHANGE] = True   # fill an empty Salesforce reference, never strip Exchange
            targets: list[tuple[Side, Any]] = []
            if flows[Side.SALESFORCE] and flows[Side.EXCHANGE]:
                if not _same(mapped.kind, values[Side.SALESFORCE], values[Side.EXCHANGE]):
                    winner, rule = self.winner(records)
                    result.conflicts.append(FieldConflict(
                        key, values[Side.SALESFORCE], values[Side.EXCHANGE], winner, rule))
                    targets.append((winner.other, values[winner]))
            else:
                for source in SIDES:
                    if flows[source]:
                        target = source.other
                        if current[target] is None or not _same(mapped.kind, current[target][key], values[source]):
                            targets.append((target, values[source]))
            for target, value in targets:
                self.write_field(result, mapped, target, value, current[target], before)
            result.base[key] = self.merged_base(mapped, result, values, before)
        # Bookkeeping keys ("~" prefix) belong to rules beside the field merge (an event's synced
        # attendees live in the base as "~attendees"): a rewritten pair keeps them as they were. A
        # field whose mapping was switched off is dropped, so its stale base never returns.
        for key, value in base.items():
            if key.startswith(BOOKKEEPING_PREFIX):
                result.base.setdefault(key, value)
        result.after = {side: ({**current[side], **result.written[side]} if current[side] is not None else None)
                        for side in SIDES}
        return result

    def write_field(self, result: _Merge, mapped: FieldMap, target: Side, value: Any,
                    target_current: Mapping[str, Any] | None, before: Any) -> None:
        """Record one field write, resolving lookups and refusing to strip them."""
        key = mapped.key
        written = value
        if mapped.kind is FieldKind.LOOKUP and target is Side.EXCHANGE and value is None:
            result.issues.append(f"{key}: the Salesforce record has no {mapped.lookup_object or 'reference'}; "
                                 f"the value is kept in Exchange")
            return
        if mapped.kind is FieldKind.LOOKUP and target is Side.SALESFORCE and value is not None:
            written, issue = self.resolve(mapped, value)
            if issue is not None:
                result.issues.append(issue)
                return
        result.writes[target][mapped.name_on(target, for_write=True)] = written
        result.written[target][key] = value
        result.changes.append(FieldChange(
            target, key, mapped.name_on(target, for_write=True),
            target_current[key] if target_current is not None else before, value))

    def resolve(self, mapped: FieldMap, name: Any) -> tuple[str | None, str | None]:
        """A reference by name: exactly one record of that name resolves, anything else is an issue
        (the value stays as it is on both sides: guessing an Account is worse than none)."""
        ids = self.lookups.get(mapped.lookup_object or "", {}).get(_fold(name), ())
        if len(ids) == 1:
            return ids[0], None
        found = "no" if not ids else str(len(ids))
        return None, (f"{mapped.key}: {found} {mapped.lookup_object} records match the name; "
                      f"{mapped.name_on(Side.SALESFORCE, for_write=True)} left unchanged, Exchange keeps "
                      f"its value")

    def flows(self, mapped: FieldMap, base: Mapping[str, Any], current: Mapping[Side, Mapping[str, Any] | None],
              changed: Mapping[Side, bool]) -> dict[Side, bool]:
        """Per side: it moved the field since the base and the field may flow to the other side."""
        before = base.get(mapped.key)
        return {side: changed[side] and current[side] is not None
                and not _same(mapped.kind, current[side][mapped.key], before)   # type: ignore[index]
                and self.flows_into[mapped.key][side.other] for side in SIDES}

    def merged_base(self, mapped: FieldMap, result: _Merge, values: Mapping[Side, Any], before: Any) -> Any:
        """The new base of a field: the agreed value of a two-way field (the old base while the
        sides still disagree, e.g. an unresolved company), the source's value of a one-way field."""
        key = mapped.key
        after_salesforce = result.written[Side.SALESFORCE].get(key, values[Side.SALESFORCE])
        after_exchange = result.written[Side.EXCHANGE].get(key, values[Side.EXCHANGE])
        into = self.flows_into[key]
        if into[Side.EXCHANGE] and into[Side.SALESFORCE]:
            return after_salesforce if _same(mapped.kind, after_salesforce, after_exchange) else before
        return after_salesforce if into[Side.EXCHANGE] else after_exchange

    def next_pair(self, pair: Pair, merge: _Merge, records: Mapping[Side, SourceRecord | None],
                  *, stamp_write: bool) -> Pair:
        """The pair after the merge's writes (and the stamp write, if any) succeed; the versions of
        written sides are filled from the write results."""
        versions, hashes = {}, {}
        for side in SIDES:
            written = bool(merge.writes[side]) or (side is Side.EXCHANGE and stamp_write)
            record = records[side]
            versions[side] = "" if written else (record.version if record else pair.version_on(side))
            if merge.after[side] is not None:
                hashes[side] = self.mapping.hash(merge.after[side])
            else:
                hashes[side] = None if merge.writes[side] else pair.hash_on(side)
        return replace(pair, salesforce_version=versions[Side.SALESFORCE],
                       exchange_version=versions[Side.EXCHANGE],
                       salesforce_hash=hashes[Side.SALESFORCE], exchange_hash=hashes[Side.EXCHANGE],
                       base=merge.base, exchange_stamped=pair.exchange_stamped or stamp_write)

    # -- unpaired records -----------------------------------------------------------------------

    def decide_unpaired(
        self, pairs: Sequence[Pair], consumed: set[str]
    ) -> tuple[list[Action], list[tuple[Action, datetime | None]]]:
        """Stamps, then matching, then creates. Returns the reported actions, and the actions that
        would start syncing a record with the oldest last-modified time involved (those are subject
        to the per-user limit)."""
        direction = self.policy.direction
        paired = {Side.SALESFORCE: {p.salesforce_id for p in pairs}, Side.EXCHANGE: {p.exchange_id for p in pairs}}
        reported: list[Action] = []
        pools: dict[Side, list[Unpaired]] = {Side.SALESFORCE: [], Side.EXCHANGE: []}
        for side in SIDES:
            view = self.views[side]
            for record_id in sorted(view.records):
                if (record_id in paired[side] or record_id in consumed
                        or record_id in view.snapshot.deleted_ids or record_id in view.snapshot.departed_ids
                        or (side, record_id) in self.tombstoned):
                    continue
                ids = (record_id, None) if side is Side.SALESFORCE else (None, record_id)
                if record_id in view.invalid:
                    reported.append(self.action(ActionKind.SKIP, *ids, "(invalid record)",
                                                f"invalid value in {side.value} ({view.invalid[record_id]})"))
                    continue
                pools[side].append(Unpaired(view.records[record_id], view.canonical[record_id]))

        unpaired_salesforce = {item.record.id for item in pools[Side.SALESFORCE]}
        exchange_pool: list[Unpaired] = []
        for item in pools[Side.EXCHANGE]:
            stamp = item.record.salesforce_id_stamp
            if stamp is None or stamp in unpaired_salesforce:
                exchange_pool.append(item)
            elif (Side.SALESFORCE, stamp) in self.tombstoned:
                continue   # that contact stopped syncing: its old Exchange copy stays unsynced too
            else:
                reported.append(self.action(
                    ActionKind.SKIP, None, item.record.id, self.display_name(item.canonical),
                    "carries the Salesforce Id of a record not in this user's Salesforce data set "
                    "(deleted, or owned by someone else); not re-created"))

        result = match_records(pools[Side.SALESFORCE], exchange_pool, self.mapping.object_type.match_rules)
        adding = [(self.pair_match(m.salesforce, m.exchange, m.rule),
                   _oldest(m.salesforce.record.modified_at, m.exchange.record.modified_at))
                  for m in result.matches]
        for ambiguity in result.ambiguities:
            first = ([self.views[Side.SALESFORCE].canonical[i] for i in ambiguity.salesforce_ids]
                     + [self.views[Side.EXCHANGE].canonical[i] for i in ambiguity.exchange_ids])
            reported.append(self.action(
                ActionKind.AMBIGUOUS, None, None, self.display_name(*first), ambiguity.reason,
                candidates={"salesforce": ambiguity.salesforce_ids, "exchange": ambiguity.exchange_ids}))
        if direction.writes(Side.EXCHANGE):
            adding += [(self.create(Side.EXCHANGE, item.record), item.record.modified_at)
                       for item in result.unmatched_salesforce]
        if direction.writes(Side.SALESFORCE):
            adding += [(self.create(Side.SALESFORCE, item.record), item.record.modified_at)
                       for item in result.unmatched_exchange]
        return reported, adding

    def pair_match(self, salesforce: Unpaired, exchange: Unpaired, rule: str) -> Action:
        """A first-sync match: pair, then make both sides agree field by field."""
        records = {Side.SALESFORCE: salesforce.record, Side.EXCHANGE: exchange.record}
        current = {Side.SALESFORCE: salesforce.canonical, Side.EXCHANGE: exchange.canonical}
        merge = self.merge({}, current, {Side.SALESFORCE: True, Side.EXCHANGE: True}, records, first_pairing=True)
        needs_stamp = (self.policy.direction.writes(Side.EXCHANGE) and exchange.record.stampable
                       and exchange.record.salesforce_id_stamp != salesforce.record.id)
        draft = Pair(salesforce.record.id, exchange.record.id, salesforce.record.version,
                     exchange.record.version, None, None, {},
                     exchange_stamped=(exchange.record.salesforce_id_stamp == salesforce.record.id
                                       or not exchange.record.stampable))
        writes = {side: UpdateOp(
            record_id=records[side].id, expected_version=records[side].version, fields=merge.writes[side],
            salesforce_id_stamp=salesforce.record.id if side is Side.EXCHANGE and needs_stamp else None,
        ) for side in SIDES if merge.writes[side] or (side is Side.EXCHANGE and needs_stamp)}
        return self.action(
            ActionKind.PAIR, salesforce.record.id, exchange.record.id,
            self.display_name(salesforce.canonical, exchange.canonical),
            f"first-sync match by {rule}" + ("; differences settled field by field" if merge.changes else ""),
            changes=tuple(merge.changes), conflicts=tuple(merge.conflicts), issues=tuple(merge.issues),
            salesforce_write=writes.get(Side.SALESFORCE), exchange_write=writes.get(Side.EXCHANGE),
            next_pair=self.next_pair(draft, merge, records, stamp_write=needs_stamp),
        )

    def create(self, target: Side, source_record: SourceRecord, *, previous_pair: Pair | None = None,
               reason: str | None = None) -> Action:
        """Create ``source_record``'s counterpart on ``target``. An empty lookup is filled towards
        Salesforce even on a one-way company mapping: a new contact without its company would lose
        it, and there is no Salesforce value to override."""
        source = target.other
        canonical = self.views[source].canonical[source_record.id]
        empty = {key: None for key in self.mapping.keys}
        merge = self.merge(empty, {source: canonical, target: empty},
                           {source: True, target: False}, {source: source_record, target: None},
                           first_pairing=True)
        stamp = source_record.id if target is Side.EXCHANGE else None
        op = CreateOp(fields=merge.writes[target], salesforce_id_stamp=stamp)
        ids = {source: source_record.id, target: ""}
        versions = {source: source_record.version, target: ""}
        pair = Pair(ids[Side.SALESFORCE], ids[Side.EXCHANGE], versions[Side.SALESFORCE],
                    versions[Side.EXCHANGE],
                    salesforce_hash=self.mapping.hash(merge.after[Side.SALESFORCE]),
                    exchange_hash=self.mapping.hash(merge.after[Side.EXCHANGE]),
                    base=merge.base,
                    exchange_stamped=target is Side.EXCHANGE or not source_record.stampable)
        kind = ActionKind.CREATE_EXCHANGE if target is Side.EXCHANGE else ActionKind.CREATE_SALESFORCE
        return self.action(
            kind, ids[Side.SALESFORCE] or None, ids[Side.EXCHANGE] or None, self.display_name(canonical),
            reason or f"new in {source.value}",
            changes=tuple(merge.changes), issues=tuple(merge.issues),
            previous_pair=previous_pair, next_pair=pair,
            **{f"{target.value}_write": op},
        )


def _same(kind: FieldKind, left: Any, right: Any) -> bool:
    return left == right or comparable(kind, left) == comparable(kind, right)


def _fold(text: Any) -> str:
    return " ".join(unicodedata.normalize("NFKC", str(text)).casefold().split())


def _oldest(*times: datetime | None) -> datetime | None:
    known = [time for time in times if time is not None]
    return min(known) if known else None


def _enforce_record_limit(adding: list[tuple[Action, datetime | None]], free_slots: int) -> list[Action]:
    """Records that would start syncing get the free slots oldest first (by last-modified time,
    unknown times last, then ids: deterministic); the rest are skipped until slots free up."""
    ordered = [action for action, _ in sorted(
        adding, key=lambda item: (item[1] is None, item[1] or datetime.min,
                                  item[0].salesforce_id or "", item[0].exchange_id or ""))]
    allowed = max(free_slots, 0)
    skipped = [replace(action, kind=ActionKind.SKIP, reason=OVER_LIMIT, changes=(), conflicts=(),
                       salesforce_write=None, exchange_write=None, next_pair=None, previous_pair=None)
               for action in ordered[allowed:]]
    return ordered[:allowed] + skipped


_NEEDS_COMPLETE_LISTINGS = {
    ActionKind.CREATE_EXCHANGE, ActionKind.CREATE_SALESFORCE, ActionKind.DELETE_EXCHANGE,
    ActionKind.DELETE_SALESFORCE, ActionKind.UNLINK, ActionKind.PAIR,
}


def _deferred_for_listing_errors(action: Action) -> Action:
    """With an incomplete listing, absence proves nothing and a missed record can make a create a
    duplicate or a match wrong: such actions wait for a clean cycle. Updates of pairs still run."""
    stops_syncing = action.previous_pair is not None and action.next_pair is None
    if action.kind not in _NEEDS_COMPLETE_LISTINGS and not stops_syncing:
        return action
    return replace(action, kind=ActionKind.DEFER,
                   reason=f"a listing hit errors this cycle; {action.kind.value} deferred ({action.reason})",
                   changes=(), conflicts=(), salesforce_write=None, exchange_write=None,
                   previous_pair=None, next_pair=None, tombstones=())

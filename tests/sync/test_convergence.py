"""Random creates, edits and deletes on both sides, interleaved with sync cycles, converge.

An independent model predicts every contact's fields: it keeps each synced contact's last synced
values and, at each cycle, applies the rule users are promised - the last edit to a field on
either side survives; when both sides edited the same field since the last cycle the conflict
policy picks; a delete on one side without an edit on the other removes the contact, with an edit
the edit wins. After a final quiet cycle both sides must hold exactly the model's contacts, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from reconciler.sync import ConflictPolicy, DeletePolicies, DeletePolicy, Side
from reconciler.sync.fake import LogicalClock

from .cases import MAPPING
from .harness import SyncHarness, contact_policy, exchange_store, learn_ids, salesforce_store

TRACKED = ("GivenName", "Surname", "EmailAddress1", "BusinessPhone", "JobTitle", "Body")
SIDES = st.sampled_from([Side.SALESFORCE, Side.EXCHANGE])


@dataclass
class Contact:
    """One contact as the model knows it. ``base`` is None until its first sync."""

    ids: dict[Side, str | None]
    base: dict[str, Any] | None = None


class ConvergenceMachine(RuleBasedStateMachine):
    conflict = ConflictPolicy.SALESFORCE_WINS

    def __init__(self) -> None:
        super().__init__()
        clock = LogicalClock()     # one clock for both sides: newest_wins compares their times
        self.stores = {Side.SALESFORCE: salesforce_store(clock=clock, page_size=7),
                       Side.EXCHANGE: exchange_store(clock=clock, page_size=7)}
        policy = contact_policy(conflict=self.conflict,
                                deletes=DeletePolicies(DeletePolicy.PROPAGATE, DeletePolicy.PROPAGATE))
        self.harness = SyncHarness(policy, self.stores[Side.SALESFORCE], self.stores[Side.EXCHANGE],
                                   allow_mass_changes=True)
        self.contacts: list[Contact] = []
        self.counter = 0

    # -- values: always fresh, in messy but equivalent spellings ------------------------------------

    def fresh(self, key: str, style: int) -> str:
        self.counter += 1
        n = self.counter
        value = {
            "GivenName": f"Given{n}", "Surname": f"Sur{n}", "EmailAddress1": f"person{n}@example.com",
            "BusinessPhone": f"+1 555 {n:04d}", "JobTitle": f"Title {n}", "Body": f"note {n}\nline two",
        }[key]
        if style == 1:
            value = f"  {value} "
        elif style == 2 and key == "EmailAddress1":
            value = value.upper()
        elif style == 2 and key == "Body":
            value = value.replace("\n", "\r\n")
        return value

    def side_fields(self, side: Side, canonical: dict[str, Any]) -> dict[str, Any]:
        if side is Side.EXCHANGE:
            return dict(canonical)
        return {MAPPING.field(key).salesforce_field: value for key, value in canonical.items()}

    def current(self, contact: Contact, side: Side) -> dict[str, Any] | None:
        record_id = contact.ids[side]
        record = self.stores[side].live().get(record_id) if record_id else None
        return MAPPING.comparable(MAPPING.canonical(side, record.fields)) if record else None

    def alive(self, side: Side, *, synced_only: bool = False) -> list[Contact]:
        return [c for c in self.contacts if self.current(c, side) is not None
                and (c.base is not None or not synced_only or None not in c.ids.values())
                and not (c.base is None and all(c.ids.values()))]   # unsynced twins stay untouched

    # -- what users do ------------------------------------------------------------------------------

    @rule(side=SIDES, styles=st.lists(st.integers(0, 2), min_size=len(TRACKED), max_size=len(TRACKED)),
          with_email=st.booleans())
    def create(self, side: Side, styles: list[int], with_email: bool) -> None:
        values = {key: self.fresh(key, style) for key, style in zip(TRACKED, styles)
                  if with_email or key != "EmailAddress1"}
        record_id = self.stores[side].user_create(self.side_fields(side, values))
        self.contacts.append(Contact({side: record_id, side.other: None}))

    @rule(style=st.integers(0, 2))
    def create_on_both_sides(self, style: int) -> None:
        """The same person added in Outlook and in Salesforce before a sync: must pair, not double."""
        values = {key: self.fresh(key, 0) for key in TRACKED}
        messy = {key: f" {value}" if style else value for key, value in values.items()}
        ids = {Side.SALESFORCE: self.stores[Side.SALESFORCE].user_create(self.side_fields(Side.SALESFORCE, values)),
               Side.EXCHANGE: self.stores[Side.EXCHANGE].user_create(self.side_fields(Side.EXCHANGE, messy))}
        self.contacts.append(Contact(ids))

    @rule(side=SIDES, data=st.data(), key=st.sampled_from(TRACKED), style=st.integers(0, 3))
    def edit(self, side: Side, data: st.DataObject, key: str, style: int) -> None:
        candidates = self.alive(side)
        if not candidates:
            return
        self.edit_field(data.draw(st.sampled_from(candidates)), side, key, style)

    @rule(data=st.data(), keys=st.tuples(st.sampled_from(TRACKED), st.sampled_from(TRACKED)),
          same_field=st.booleans(), styles=st.tuples(st.integers(0, 3), st.integers(0, 3)))
    def edit_on_both_sides(self, data: st.DataObject, keys: tuple[str, str], same_field: bool,
                           styles: tuple[int, int]) -> None:
        """Both copies of one contact edited between two cycles: merged, or settled by the policy."""
        candidates = [c for c in self.alive(Side.SALESFORCE) if c in self.alive(Side.EXCHANGE)]
        if not candidates:
            return
        contact = data.draw(st.sampled_from(candidates))
        order = data.draw(st.permutations([Side.SALESFORCE, Side.EXCHANGE]))
        for side, key, style in zip(order, (keys[0], keys[0] if same_field else keys[1]), styles):
            self.edit_field(contact, side, key, style)

    @rule(side=SIDES, data=st.data(), key=st.sampled_from(TRACKED), style=st.integers(0, 2))
    def delete_here_edit_there(self, side: Side, data: st.DataObject, key: str, style: int) -> None:
        candidates = [c for c in self.alive(side) if c in self.alive(side.other) and c.base is not None]
        if not candidates:
            return
        contact = data.draw(st.sampled_from(candidates))
        self.edit_field(contact, side.other, key, style)
        self.stores[side].user_delete(contact.ids[side])

    def edit_field(self, contact: Contact, side: Side, key: str, style: int) -> None:
        value = None if style == 3 else self.fresh(key, style)      # style 3 clears the field
        field = key if side is Side.EXCHANGE else MAPPING.field(key).salesforce_field
        self.stores[side].user_update(contact.ids[side], {field: value})

    @rule(side=SIDES, data=st.data(), departs=st.booleans())
    def delete(self, side: Side, data: st.DataObject, departs: bool) -> None:
        candidates = self.alive(side)
        if not candidates:
            return
        contact = data.draw(st.sampled_from(candidates))
        if departs:
            self.stores[side].set_in_scope(contact.ids[side], False)   # leaves the data set
        else:
            self.stores[side].user_delete(contact.ids[side])

    # -- sync ---------------------------------------------------------------------------------------

    @rule()
    def sync(self) -> None:
        self.cycle()

    def cycle(self) -> bool:
        """Predict, run one cycle, then hold the result against the prediction: after any cycle
        both copies of every contact hold the predicted values. Returns whether it was quiet."""
        self.predict()
        decisions = self.harness.cycle()
        self.learn_ids()
        for contact in self.contacts:
            assert None not in contact.ids.values(), "a contact was not paired"
            for side in Side:
                assert self.current(contact, side) == contact.base, (
                    f"{side.value} differs from the prediction: an edit was lost, a conflict resolved "
                    f"against the policy, or a delete carried over an edit")
        return not decisions.actions and not decisions.bookkeeping

    @rule()
    def sync_from_a_full_listing(self) -> None:
        self.harness.cursors = {side: None for side in Side}
        self.sync()

    @rule()
    def reset_sync(self) -> None:
        """Reset Sync / a lost state store, after a completed sync: pairs come back from stamps."""
        self.settle()
        self.harness.reset_sync()
        self.sync()

    def settle(self) -> None:
        for _ in range(4):
            if self.cycle():
                return
        raise AssertionError("no quiet cycle after 4 cycles")

    # -- the model ----------------------------------------------------------------------------------

    def predict(self) -> None:
        """What this cycle must produce, from the sides as they are now and each contact's base."""
        survivors: list[Contact] = []
        for contact in self.contacts:
            now = {side: self.current(contact, side) for side in Side}
            if now[Side.SALESFORCE] is None and now[Side.EXCHANGE] is None:
                continue
            if contact.base is None:
                contact.base = self.first_pairing(contact, now)
                survivors.append(contact)
                continue
            gone = [side for side in Side if now[side] is None]
            if gone:
                survivor = gone[0].other
                if now[survivor] == contact.base:
                    continue                                  # the delete propagates
                contact.base = now[survivor]                 # the edit wins and is re-created
                contact.ids[gone[0]] = None
                survivors.append(contact)
                continue
            contact.base = {key: self.merged(contact, now, key) for key in contact.base}
            survivors.append(contact)
        self.contacts = survivors

    def first_pairing(self, contact: Contact, now: dict[Side, dict[str, Any] | None]) -> dict[str, Any]:
        salesforce, exchange = now[Side.SALESFORCE], now[Side.EXCHANGE]
        if salesforce is None or exchange is None:
            return salesforce or exchange
        return {key: exchange[key] if salesforce[key] is None else
                salesforce[key] if exchange[key] is None or salesforce[key] == exchange[key] else
                salesforce[key] if self.winner(contact) is Side.SALESFORCE else exchange[key]
                for key in salesforce}

    def merged(self, contact: Contact, now: dict[Side, dict[str, Any]], key: str) -> Any:
        base, salesforce, exchange = contact.base[key], now[Side.SALESFORCE][key], now[Side.EXCHANGE][key]
        if salesforce != base and exchange != base and salesforce != exchange:
            return salesforce if self.winner(contact) is Side.SALESFORCE else exchange
        return salesforce if salesforce != base else exchange

    def winner(self, contact: Contact) -> Side:
        if self.conflict is ConflictPolicy.EXCHANGE_WINS:
            return Side.EXCHANGE
        if self.conflict is ConflictPolicy.NEWEST_WINS:
            times = {side: self.stores[side].live()[contact.ids[side]].modified_at for side in Side}
            return Side.EXCHANGE if times[Side.EXCHANGE] > times[Side.SALESFORCE] else Side.SALESFORCE
        return Side.SALESFORCE

    def learn_ids(self) -> None:
        learn_ids(self.contacts, self.harness.pairs)

    # -- what must always hold ----------------------------------------------------------------------

    @invariant()
    def no_id_is_in_two_pairs_and_no_stamp_on_two_items(self) -> None:
        for side in Side:
            ids = [pair.id_on(side) for pair in self.harness.pairs]
            assert len(ids) == len(set(ids)), f"two pairs share a {side.value} id"
        stamps = [r.salesforce_id_stamp for r in self.stores[Side.EXCHANGE].live().values() if r.salesforce_id_stamp]
        assert len(stamps) == len(set(stamps)), "two Exchange items carry the same Salesforce Id"

    def teardown(self) -> None:
        self.settle()
        for side in Side:
            live = set(self.stores[side].live())
            assert live == {contact.ids[side] for contact in self.contacts}, f"{side.value} holds other records"
        assert len(self.harness.pairs) == len(self.contacts)


class NewestWinsMachine(ConvergenceMachine):
    conflict = ConflictPolicy.NEWEST_WINS


FAST = settings(max_examples=50, stateful_step_count=30, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

TestConvergenceSalesforceWins = ConvergenceMachine.TestCase
TestConvergenceSalesforceWins.settings = FAST
TestConvergenceNewestWins = NewestWinsMachine.TestCase
TestConvergenceNewestWins.settings = FAST

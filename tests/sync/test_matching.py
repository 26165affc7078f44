"""First-sync matching and stable identity: stamps, email, names, ambiguity, Reset Sync, moves."""

from __future__ import annotations

from reconciler.sync import CONTACT, ActionKind, Side, SourceRecord, Unpaired, build_mapping, match_records

from .harness import SyncHarness, contact_policy, exchange_store, salesforce_store

MAPPING = build_mapping(CONTACT)


def unpaired(side: Side, record_id: str, fields: dict, stamp: str | None = None) -> Unpaired:
    record = SourceRecord(record_id, "v1", fields, stamp)
    return Unpaired(record, MAPPING.canonical(side, fields))


def sf(record_id: str, **fields) -> Unpaired:
    return unpaired(Side.SALESFORCE, record_id, fields)


def ex(record_id: str, stamp: str | None = None, **fields) -> Unpaired:
    return unpaired(Side.EXCHANGE, record_id, fields, stamp)


def matched(result) -> list[tuple[str, str, str]]:
    return [(m.salesforce.record.id, m.exchange.record.id, m.rule) for m in result.matches]


def test_stamp_beats_email() -> None:
    result = match_records(
        [sf("003A", LastName="Doe", Email="jane@x.com"), sf("003B", LastName="Doe", Email="other@x.com")],
        [ex("E1", stamp="003B", Surname="Doe", EmailAddress1="jane@x.com")],
        CONTACT.match_rules)
    assert matched(result) == [("003B", "E1", "stamp")]
    assert [u.record.id for u in result.unmatched_salesforce] == ["003A"]


def test_email_matches_case_insensitively() -> None:
    result = match_records([sf("003A", LastName="Doe", Email="Jane@X.com")],
                           [ex("E1", Surname="Doe", EmailAddress1=" jane@x.COM")], CONTACT.match_rules)
    assert matched(result) == [("003A", "E1", "email")]


def test_names_match_normalised_when_there_is_no_email() -> None:
    result = match_records([sf("003A", FirstName="Jane", LastName="van  Doe")],
                           [ex("E1", GivenName="JANE", Surname=" Van Doe", EmailAddress1="jane@x.com")],
                           CONTACT.match_rules)
    assert matched(result) == [("003A", "E1", "name")]


def test_same_name_but_different_emails_is_two_people() -> None:
    result = match_records([sf("003A", FirstName="Jane", LastName="Doe", Email="jane@a.com")],
                           [ex("E1", GivenName="Jane", Surname="Doe", EmailAddress1="jane@b.com")],
                           CONTACT.match_rules)
    assert result.matches == () and result.ambiguities == ()
    assert len(result.unmatched_salesforce) == len(result.unmatched_exchange) == 1


def test_two_candidates_on_either_side_are_ambiguous_and_neither_paired_nor_created() -> None:
    result = match_records(
        [sf("003A", LastName="Doe", Email="jane@x.com"), sf("003B", LastName="Doe", Email="JANE@x.com"),
         sf("003C", FirstName="Al", LastName="Roe")],
        [ex("E1", Surname="Doe", EmailAddress1="jane@x.com"),
         ex("E2", GivenName="Al", Surname="Roe"), ex("E3", GivenName="al", Surname="roe")],
        CONTACT.match_rules)
    assert result.matches == ()
    assert [(a.rule, a.salesforce_ids, a.exchange_ids) for a in result.ambiguities] == [
        ("email", ("003A", "003B"), ("E1",)), ("name", ("003C",), ("E2", "E3"))]
    assert result.unmatched_salesforce == () and result.unmatched_exchange == ()


def test_a_key_on_one_side_only_is_no_ambiguity() -> None:
    result = match_records([sf("003A", LastName="Doe", Email="jane@x.com"), sf("003B", LastName="Roe", Email="jane@x.com")],
                           [], CONTACT.match_rules)
    assert result.ambiguities == () and len(result.unmatched_salesforce) == 2


def test_ambiguity_is_shown_in_the_plan_with_candidates_and_nothing_created() -> None:
    salesforce, exchange = salesforce_store(), exchange_store()
    for _ in range(2):
        salesforce.user_create({"LastName": "Doe", "Email": "jane@x.com"})
    exchange.user_create({"Surname": "Doe", "EmailAddress1": "jane@x.com"})
    decisions = SyncHarness(contact_policy(), salesforce, exchange).cycle()
    (action,) = decisions.actions
    assert action.kind is ActionKind.AMBIGUOUS
    assert action.describe(include_values=False)["candidates"] == {
        "salesforce": ["003000001", "003000003"], "exchange": ["AAMk000001"]}
    assert len(exchange.live()) == 1 and len(salesforce.live()) == 2


def test_first_pairing_stamps_the_exchange_item_and_fills_gaps_both_ways() -> None:
    salesforce, exchange = salesforce_store(), exchange_store()
    contact = salesforce.user_create({"FirstName": "Jane", "LastName": "Doe", "Email": "jane@x.com", "Title": "CTO"})
    item = exchange.user_create({"GivenName": "Jane", "Surname": "Doe", "EmailAddress1": "jane@x.com",
                                 "MobilePhone": "+44 7700 900123", "JobTitle": "CEO"})
    harness = SyncHarness(contact_policy(), salesforce, exchange)
    decisions = harness.cycle()
    (action,) = decisions.actions
    assert action.kind is ActionKind.PAIR
    assert [(c.key, c.winner) for c in action.conflicts] == [("JobTitle", Side.SALESFORCE)]
    assert exchange.live()[item].salesforce_id_stamp == contact
    assert exchange.live()[item].fields["JobTitle"] == "CTO"
    assert salesforce.live()[contact].fields["MobilePhone"] == "+44 7700 900123"
    assert harness.settle() <= 2


def test_reset_sync_rebuilds_pairs_from_stamps_without_duplicates() -> None:
    salesforce, exchange = salesforce_store(), exchange_store()
    salesforce.user_create({"LastName": "Doe", "Email": "jane@x.com"})
    salesforce.user_create({"LastName": "Doe", "Email": "jane@x.com"})     # same email: only stamps can tell
    exchange.user_create({"GivenName": "Al", "Surname": "Roe"})
    harness = SyncHarness(contact_policy(), salesforce, exchange)
    harness.settle()
    assert len(exchange.live()) == 3 and len(salesforce.live()) == 3
    harness.reset_sync()
    decisions = harness.cycle()
    assert {a.kind for a in decisions.actions} == {ActionKind.PAIR}
    assert all("stamp" in a.reason for a in decisions.actions)
    harness.settle()
    assert len(exchange.live()) == 3 and len(salesforce.live()) == 3 and len(harness.pairs) == 3


def test_mailbox_move_re_pairs_by_stamp_keeping_edits() -> None:
    salesforce, exchange = salesforce_store(), exchange_store()
    contact = salesforce.user_create({"FirstName": "Jane", "LastName": "Doe"})
    harness = SyncHarness(contact_policy(), salesforce, exchange)
    harness.settle()
    (old_id, old_item), = exchange.live().items()
    # The mailbox moves: every item gets a new id, the stamp travels with it, the cursor is useless.
    exchange.user_delete(old_id)
    new_id = exchange.user_create({**old_item.fields, "JobTitle": "CTO"}, stamp=old_item.salesforce_id_stamp)
    harness.cursors[Side.EXCHANGE] = None
    decisions = harness.cycle()
    (action,) = decisions.actions
    assert (action.kind, action.exchange_id) == (ActionKind.PAIR, new_id)
    assert dict(action.salesforce_write.fields) == {"Title": "CTO"}
    assert salesforce.live()[contact].fields["Title"] == "CTO"
    assert [p.exchange_id for p in harness.pairs] == [new_id]
    harness.settle()
    assert len(exchange.live()) == 1 and len(salesforce.live()) == 1


def test_a_copied_stamped_item_is_ambiguous_not_a_second_contact() -> None:
    salesforce, exchange = salesforce_store(), exchange_store()
    salesforce.user_create({"FirstName": "Jane", "LastName": "Doe"})
    harness = SyncHarness(contact_policy(), salesforce, exchange)
    harness.settle()
    (item,) = exchange.live().values()
    copy = exchange.user_create(dict(item.fields), stamp=item.salesforce_id_stamp)
    decisions = harness.cycle()
    assert [a.kind for a in decisions.actions] == [ActionKind.AMBIGUOUS]
    assert copy in decisions.actions[0].candidates["exchange"]
    assert len(salesforce.live()) == 1


def test_a_stamp_naming_a_contact_outside_the_data_set_is_skipped() -> None:
    salesforce, exchange = salesforce_store(), exchange_store()
    exchange.user_create({"Surname": "Doe"}, stamp="003GONE")
    decisions = SyncHarness(contact_policy(), salesforce, exchange).cycle()
    assert [a.kind for a in decisions.actions] == [ActionKind.SKIP]
    assert salesforce.live() == {}


def test_contact_created_in_salesforce_from_exchange_gets_stamped_next_cycle() -> None:
    salesforce, exchange = salesforce_store(), exchange_store()
    item = exchange.user_create({"GivenName": "Jane", "Surname": "Doe"})
    harness = SyncHarness(contact_policy(), salesforce, exchange)
    assert [a.kind for a in harness.cycle().actions] == [ActionKind.CREATE_SALESFORCE]
    assert [a.reason for a in harness.cycle().actions] == ["stamp the Salesforce Id on the Exchange item"]
    (contact,) = salesforce.live()
    assert exchange.live()[item].salesforce_id_stamp == contact


def test_a_moved_item_whose_contact_was_deleted_meanwhile_is_deleted_once_and_the_old_row_dropped() -> None:
    salesforce, exchange = salesforce_store(), exchange_store()
    contact = salesforce.user_create({"FirstName": "Jane", "LastName": "Doe"})
    salesforce.user_create({"FirstName": "Bo", "LastName": "Bystander"})
    harness = SyncHarness(contact_policy(), salesforce, exchange)
    harness.settle()
    (old_id, old_item), = [(i, r) for i, r in exchange.live().items() if r.salesforce_id_stamp == contact]
    exchange.user_delete(old_id)
    new_id = exchange.user_create(dict(old_item.fields), stamp=contact)
    salesforce.user_delete(contact)
    harness.cursors[Side.EXCHANGE] = None
    decisions = harness.cycle()
    assert [(a.kind, a.exchange_id) for a in decisions.actions] == [(ActionKind.DELETE_EXCHANGE, new_id)]
    assert [p.salesforce_id for p in harness.pairs] != [] and contact not in {p.salesforce_id for p in harness.pairs}
    assert harness.cycle().actions == ()

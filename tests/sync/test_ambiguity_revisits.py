"""An ambiguity writes nothing, but its records must be read again next cycle until a person settles it."""

from __future__ import annotations

from reconciler.sync import ActionKind, Outcome, Side, apply_results

from .harness import SyncHarness, contact_policy, exchange_store, salesforce_store


def test_an_ambiguity_names_every_candidate_to_revisit_until_a_person_settles_it() -> None:
    salesforce, exchange = salesforce_store(), exchange_store()
    for _ in range(2):
        salesforce.user_create({"LastName": "Doe", "Email": "jane@x.com"})
    exchange.user_create({"Surname": "Doe", "EmailAddress1": "jane@x.com"})
    (action,) = SyncHarness(contact_policy(), salesforce, exchange).cycle().actions
    assert action.kind is ActionKind.AMBIGUOUS
    update = apply_results(action, {})
    assert (update.outcome, update.store, update.remove) == (Outcome.APPLIED, None, None)
    assert set(update.revisit) == {(Side.SALESFORCE, "003000001"), (Side.SALESFORCE, "003000003"),
                                   (Side.EXCHANGE, "AAMk000001")}

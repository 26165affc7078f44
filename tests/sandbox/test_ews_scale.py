"""The EWS emulator stays fast at 100,000 contacts in one mailbox (generated seed, real exchangelib)."""

from __future__ import annotations

import random

import pytest
from exchangelib import Contact
from sandbox.ews_client import basic_account, trusting_sandbox

from reconciler.sandbox.ews import ExchangeService
from reconciler.sandbox.ews.generate import generate_seed
from reconciler.sandbox.identity import IdentityService
from reconciler.sandbox.server import Sandbox

MAILBOXES = [{"address": "big@acme.example", "time_zone": "America/Los_Angeles"},
             {"address": "small@acme.example", "time_zone": "Europe/London"}]


def test_generate_seed_is_deterministic_and_shaped_like_the_demo_seed() -> None:
    first = generate_seed(MAILBOXES, 50, 20, random.Random(7))
    assert first == generate_seed(MAILBOXES, 50, 20, random.Random(7))
    assert first["domains"] == ["acme.example"]
    assert first["serviceAccounts"][0]["impersonates"] == ["big@acme.example", "small@acme.example"]
    big = first["mailboxes"][0]
    assert (len(big["contacts"]), len(big["events"]), big["timeZone"]) == (50, 20, "America/Los_Angeles")
    assert len({c["EmailAddresses"]["EmailAddress1"] for c in big["contacts"]}) == 50
    service = ExchangeService()
    service.seed(first)
    assert len(service.mailboxes["small@acme.example"].items) == 70


@pytest.mark.slow
def test_a_100000_contact_folder_pages_to_its_end_syncs_and_filters() -> None:
    """Correctness at the size the benchmarks use (timings belong to benchmarks/, not to tests)."""
    section = generate_seed(MAILBOXES[:1], 100_000, 0, random.Random(1))
    with Sandbox(services=[ExchangeService(), IdentityService()], seed={"exchange": section}) as sandbox, \
            trusting_sandbox(sandbox):
        folder = basic_account(sandbox, "big@acme.example").contacts / "Salesforce_Sync"
        assert folder.total_count == 100_000
        last_page = list(folder.all().only("display_name")[99_950:100_000])
        first_sync_page = next(iter(folder.sync_items(only_fields=["display_name"], max_changes_returned=512)))
        Contact(folder=folder, display_name="One more").save()
        assert [c.display_name for c in folder.filter(display_name="One more")] == ["One more"]
        assert len(last_page) == 50 and first_sync_page[0] == "create"

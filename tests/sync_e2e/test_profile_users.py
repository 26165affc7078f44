"""A user reached only through a Salesforce profile (no User resource) gets an assignment row at
apply, so their sync status is recorded and `reconcile status` shows it."""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from reconciler.cli import cli

from .conftest import World

BOB = "bob.sf@acme.example.crm"


def _bob_only_through_his_salesforce_profile(world: World) -> None:
    path = world.config_dir / "reconciler.yaml"
    documents = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
                 if not (doc["kind"] == "User" and doc["metadata"]["name"] == "bob")]
    for doc in documents:
        if doc["kind"] == "Profile":
            doc["spec"]["members"] = [m for m in doc["spec"]["members"] if m != "bob"]
        if doc["kind"] == "SyncConfiguration":
            doc["spec"]["assign"]["profiles"].append("managers")
    documents.append({"apiVersion": "reconciler/v1", "kind": "Profile", "metadata": {"name": "managers"},
                      "spec": {"salesforceProfiles": ["Sales Manager"], "members": []}})
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")


def test_a_profile_only_user_has_their_contact_status_recorded_and_shown(world: World):
    _bob_only_through_his_salesforce_profile(world)
    plan, outcome = world.cycle()
    assert outcome.ok, [r.error for r in outcome.records.results]
    assert world.entry(plan, BOB).mailbox == "bob@acme.example"

    runner = CliRunner()
    shown = runner.invoke(cli, ["status", "-c", str(world.config_dir), "--state", world.state, "--format", "json"],
                          catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    [bob] = [user for user in json.loads(shown.stdout)["users"] if user["user"] == BOB]
    assert bob["configuration"] == "sales-two-way" and bob["mailbox"] == "bob@acme.example"
    states = {(d["object"], d["direction"]): d["state"] for d in bob["directions"]}
    assert states == {(obj, direction): "initial_sync_completed" for obj in ("contact", "event")
                      for direction in ("salesforce_to_exchange", "exchange_to_salesforce")}

    text = runner.invoke(cli, ["status", "-c", str(world.config_dir), "--state", world.state], catch_exceptions=False)
    assert BOB in text.stdout and "initial sync completed" in text.stdout.split(BOB, 1)[1].splitlines()[0]

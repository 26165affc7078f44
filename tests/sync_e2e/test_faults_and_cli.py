"""Faults on the wire end converged after re-runs; the quickstart through the CLI and its
auto-started sandbox; the main flow once on PostgreSQL."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.sandbox.faults import FaultRule

from .conftest import QUICKSTART, World

ALICE, ALICE_MAILBOX = "alice@acme.example", "alice@acme.example"


def _exactly_once(world: World) -> None:
    for username, mailbox in ((ALICE, ALICE_MAILBOX), ("bob.sf@acme.example.crm", "bob@acme.example"),
                              ("carol@acme.example", "carol@acme.example")):
        salesforce = Counter(r.fields["Email"].lower() for r in world.salesforce_contacts(username) if r.fields.get("Email"))
        exchange = Counter(r.fields["EmailAddress1"].lower() for r in world.exchange_contacts(mailbox)
                           if r.fields.get("EmailAddress1"))
        shared = {e for e in salesforce if e != "dup@hooli.example"}
        assert {e: exchange[e] for e in shared} == {e: 1 for e in shared}, username
        assert all(n == 1 for e, n in salesforce.items() if e != "dup@hooli.example"), username


def test_transient_faults_and_per_record_failures_end_converged_after_re_runs(world: World):
    faults = world.sandbox.faults
    faults.add(FaultRule("http_503", service="exchange", times=3))
    faults.add(FaultRule("server_busy", service="exchange", times=3, back_off_ms=10))
    faults.add(FaultRule("request_limit", service="salesforce", times=3))
    faults.add(FaultRule("record_failure", service="salesforce", times=1))
    faults.add(FaultRule("record_failure", service="exchange", times=2))

    results, _ = world.cycles_until_quiet(4)
    assert any(not r.ok for r in results[:-1]), "the per-record failures must have surfaced as errors"
    assert results[-1].ok
    assert all(rule.fired == rule.times for rule in faults._rules)
    _exactly_once(world)


def test_the_main_flow_on_each_state_backend(config_dir: Path, sandbox, state_url: str):
    world = World(config_dir, state_url, sandbox)
    try:
        _, outcome = world.cycle()
        assert outcome.ok
        raj = world.by_email(world.exchange_contacts(ALICE_MAILBOX), "EmailAddress1", "raj.patel@initech.example")[0]
        world.user_edit(world.exchange_store(ALICE_MAILBOX), raj, JobTitle="Director")
        _, outcome = world.cycle()
        assert outcome.ok
        assert world.by_email(world.salesforce_contacts(ALICE), "Email",
                              "raj.patel@initech.example")[0].fields["Title"] == "Director"
        _exactly_once(world)
    finally:
        world.close()


def test_quickstart_planned_and_applied_through_the_cli_against_the_auto_started_sandbox(tmp_path: Path,
                                                                                          monkeypatch):
    config = Path(shutil.copytree(QUICKSTART, tmp_path / "quickstart"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    runner = CliRunner()

    def reconcile(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    planned = reconcile("plan", "-c", str(config), "--out", "plan.json", "--detailed-exitcode")
    assert planned.exit_code == 2, planned.output
    assert "Record changes:" in planned.stdout and "create_exchange" in planned.stdout
    assert (config / ".reconciler" / "sandbox" / "endpoints.json").is_file()

    markdown = reconcile("show", "plan.json", "--format", "markdown")
    assert "#### Record changes" in markdown.stdout and "jane.doe" not in markdown.stdout

    applied = reconcile("apply", "-c", str(config), "plan.json")
    assert applied.exit_code == 0, applied.output
    assert "alice (contact): initial sync completed" in applied.stdout

    replanned = reconcile("plan", "-c", str(config), "--detailed-exitcode")
    assert replanned.exit_code == 0, replanned.output
    status = reconcile("status", "-c", str(config))
    assert "contact salesforce_to_exchange: initial sync completed" in status.stdout
    offline = reconcile("plan", "-c", str(config), "--refresh=false")
    assert offline.exit_code == 0 and "Record changes" not in offline.stdout
    checked = reconcile("test-connection", "-c", str(config), "--user", "bob")
    assert checked.exit_code == 0 and "impersonation: bob@acme.example" in checked.stdout

"""The ``reconcile`` commands as a pipeline sees them: output streams, exit codes, files."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from reconciler import cli as cli_module
from reconciler.plan import FORMAT_VERSION
from reconciler.state import StateStore

from .conftest import EXAMPLES, Reconcile


def test_plan_save_apply_and_replan_with_detailed_exit_codes(config_dir: Path, reconcile: Reconcile, state_url: str):
    planned = reconcile("plan", "-c", "config", "--refresh=false", "--state", state_url, "--out", "plan.json", "--detailed-exitcode")
    assert planned.exit_code == 2, planned.output
    assert "Plan: " in planned.stdout and " to add, 0 to change, 0 to destroy." in planned.stdout
    assert "Saved the plan to plan.json" in planned.stderr and "Saved" not in planned.stdout

    applied = reconcile("apply", "-c", "config", "--state", state_url, "plan.json")
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.startswith("Apply complete! Resources: ") and "State serial is now 1." in applied.stdout

    replanned = reconcile("plan", "-c", "config", "--refresh=false", "--state", state_url, "--detailed-exitcode")
    assert replanned.exit_code == 0, replanned.output
    assert replanned.stdout == "No changes. The applied configuration matches the files.\n"


def test_validate_reports_diagnostics_relative_to_the_working_directory(config_dir: Path, reconcile: Reconcile):
    valid = reconcile("validate", "-c", "config")
    assert valid.exit_code == 0 and valid.stdout.startswith("Configuration valid: ")

    broken = next(config_dir.rglob("*.yaml"))
    broken.write_text(broken.read_text(encoding="utf-8") + "\n---\napiVersion: reconciler/v1\nkind: User\n"
                      "metadata: {name: zed}\nspec: {salesforceUsername: zed@acme.example, colour: blue}\n",
                      encoding="utf-8")
    invalid = reconcile("validate", "-c", "config")
    assert invalid.exit_code == 1
    relative = broken.relative_to(config_dir.parent)
    first = invalid.stdout.splitlines()[0]
    assert first.startswith(f"{relative}:") and ": error: " in first
    assert invalid.stdout.splitlines()[-1].startswith("Configuration invalid: 1 error")

    as_json = json.loads(reconcile("validate", "-c", "config", "--format", "json").stdout)
    assert as_json["valid"] is False and as_json["diagnostics"][0]["file"] == str(relative)

    no_plan = reconcile("plan", "-c", "config", "--refresh=false", "--state", "state.db", "--out", "plan.json")
    assert no_plan.exit_code == 1 and f"{relative}:" in no_plan.stderr and no_plan.stdout == ""
    assert not Path("plan.json").exists()


def broken_examples() -> list[tuple[str, str]]:
    """(directory, severity) of each broken example, as its README's table declares them."""
    rows = re.findall(r"^\| `([\w-]+)/` \|.*\| (error|warning) \|$",
                      (EXAMPLES / "broken" / "README.md").read_text(encoding="utf-8"), re.MULTILINE)
    assert sorted(name for name, _ in rows) == sorted(p.name for p in (EXAMPLES / "broken").iterdir() if p.is_dir())
    return rows


@pytest.mark.parametrize("broken, severity", broken_examples())
def test_validate_fails_on_every_broken_example_and_passes_with_warnings_alone(
        broken: str, severity: str, reconcile: Reconcile):
    result = reconcile("validate", "-c", str(EXAMPLES / "broken" / broken))
    assert f": {severity}: " in result.stdout
    assert result.exit_code == (1 if severity == "error" else 0), result.output


@pytest.mark.parametrize("args", [
    ["plan", "--no-such-option", "--detailed-exitcode"],
    ["plan", "--detailed-exitcode", "--format", "yaml"],
    ["no-such-command"],
    ["apply", "a.json", "b.json"],
    ["apply", "plan.json", "--refresh=false"],
    ["sandbox", "serve", "--port", "99999", "--dir", "x"],
])
def test_usage_errors_exit_64_never_2(config_dir: Path, reconcile: Reconcile, args: list[str]):
    result = reconcile(*args)
    assert result.exit_code == 64, result.output
    assert "Usage: reconcile" in result.stderr and result.stdout == ""


def test_apply_without_a_terminal_needs_auto_approve(config_dir: Path, reconcile: Reconcile):
    refused = reconcile("apply", "-c", "config", "--state", "state.db", "--refresh=false")
    assert refused.exit_code == 1
    assert "refusing to apply without approval" in refused.stderr and "--auto-approve" in refused.stderr
    with StateStore.open("state.db") as store:
        assert store.meta().serial == 0

    approved = reconcile("apply", "-c", "config", "--state", "state.db", "--refresh=false", "--auto-approve")
    assert approved.exit_code == 0 and "Apply complete!" in approved.stdout
    nothing = reconcile("apply", "-c", "config", "--state", "state.db", "--refresh=false", "--auto-approve")
    assert nothing.exit_code == 0 and "No changes. Nothing was applied." in nothing.stdout


def test_show_renders_a_saved_plan_in_every_format(config_dir: Path, reconcile: Reconcile):
    reconcile("plan", "-c", "config", "--refresh=false", "--state", "state.db", "--out", "plan.json")
    saved = Path("plan.json").read_text(encoding="utf-8")
    assert reconcile("show", "plan.json", "--format", "json").stdout == saved
    text = reconcile("show", "plan.json").stdout
    assert "Effects on users:" in text and "\x1b[" not in text
    markdown = reconcile("show", "plan.json", "--format", "markdown").stdout
    assert markdown.startswith("### reconcile plan") and "User resources |" in markdown


def test_a_plan_of_a_newer_format_is_refused(config_dir: Path, reconcile: Reconcile):
    reconcile("plan", "-c", "config", "--refresh=false", "--state", "state.db", "--out", "plan.json")
    document = json.loads(Path("plan.json").read_text(encoding="utf-8"))
    document["format_version"] = 99
    Path("plan.json").write_text(json.dumps(document), encoding="utf-8")
    for command in (["show", "plan.json"], ["apply", "-c", "config", "--state", "state.db", "plan.json"]):
        result = reconcile(*command)
        assert result.exit_code == 1
        assert f"format_version 99, newer than this reconciler understands ({FORMAT_VERSION})" in result.stderr
        assert "Traceback" not in result.output


def test_stale_and_replayed_plans_are_refused_with_advice(config_dir: Path, reconcile: Reconcile):
    reconcile("plan", "-c", "config", "--refresh=false", "--state", "state.db", "--out", "first.json")
    reconcile("plan", "-c", "config", "--refresh=false", "--state", "state.db", "--out", "second.json")
    assert reconcile("apply", "-c", "config", "--state", "state.db", "second.json").exit_code == 0

    stale = reconcile("apply", "-c", "config", "--state", "state.db", "first.json")
    assert stale.exit_code == 1
    assert "the saved plan is stale and was not applied; nothing was changed" in stale.stderr
    assert "Run `reconcile plan` again" in stale.stderr

    replayed = reconcile("apply", "-c", "config", "--state", "state.db", "second.json")
    assert replayed.exit_code == 1 and "was already applied" in replayed.stderr
    with StateStore.open("state.db") as store:
        assert store.meta().serial == 1 and len(store.audit_log()) == 1


def test_a_held_lock_is_named_and_can_be_forced_open(config_dir: Path, reconcile: Reconcile):
    with StateStore.open("state.db") as store:
        held = store.acquire_lock("apply", "pipeline-42@runner (pid 7)")
    locked = reconcile("apply", "-c", "config", "--state", "state.db", "--refresh=false", "--auto-approve")
    assert locked.exit_code == 1
    assert "pipeline-42@runner (pid 7)" in locked.stderr and held.id in locked.stderr
    assert "lock id" in reconcile("status", "-c", "config", "--state", "state.db").stdout

    wrong = reconcile("force-unlock", "not-the-id", "-c", "config", "--state", "state.db")
    assert wrong.exit_code == 1 and f"the current lock is {held.id}" in wrong.stderr
    released = reconcile("force-unlock", held.id, "-c", "config", "--state", "state.db")
    assert released.exit_code == 0 and f"Released lock {held.id}" in released.stdout
    assert reconcile("apply", "-c", "config", "--state", "state.db", "--refresh=false", "--auto-approve").exit_code == 0


def test_status_shows_the_applied_state_and_every_user(config_dir: Path, reconcile: Reconcile):
    before = reconcile("status", "-c", "config", "--state", "state.db")
    assert before.exit_code == 0 and "Last apply:     never" in before.stdout
    assert "differ from the applied configuration (run `reconcile plan`)" in before.stdout
    reconcile("plan", "-c", "config", "--refresh=false", "--state", "state.db", "--out", "plan.json")
    reconcile("apply", "-c", "config", "--state", "state.db", "plan.json")

    text = reconcile("status", "-c", "config", "--state", "state.db").stdout
    assert "Serial:         1" in text and "Files:          match the applied configuration" in text
    assert "initial sync pending" in text
    status = json.loads(reconcile("status", "-c", "config", "--state", "state.db", "--format", "json").stdout)
    assert status["serial"] == 1 and status["files_in_step"] is True
    assert status["last_apply"]["summary"]["serial"] == 1
    planned_users = {c["address"].split("/")[1] for c in json.loads(Path("plan.json").read_text())["config_changes"]
                     if c["address"].startswith("User/")}
    assert {u["user"] for u in status["users"]} == planned_users
    syncing = {e["user"] for e in json.loads(Path("plan.json").read_text())["effects"]}
    assert {u["user"] for u in status["users"] if u["configuration"]} == syncing
    for user in status["users"]:
        line = next(line for line in text.splitlines() if line.startswith(user["user"] + " "))
        assert ("initial sync pending" if user["user"] in syncing else "not syncing") in line


def test_explain_user(config_dir: Path, reconcile: Reconcile):
    with StateStore.open("state.db"):
        pass
    user = json.loads(reconcile("plan", "-c", "config", "--refresh=false", "--state", "state.db", "--format", "json").stdout)["effects"][0]
    explained = reconcile("explain", "user", user["user"], "-c", "config")
    assert explained.exit_code == 0 and f"Syncs under SyncConfiguration/{user['configuration_after']}" in explained.stdout
    unknown = reconcile("explain", "user", "nobody-at-all", "-c", "config")
    assert unknown.exit_code == 1 and unknown.stderr.startswith("Error: no User named 'nobody-at-all'")


def test_debug_shows_the_traceback_that_is_otherwise_hidden(config_dir: Path, reconcile: Reconcile):
    Path("plan.json").write_text("{}", encoding="utf-8")
    quiet = reconcile("show", "plan.json")
    assert quiet.exit_code == 1 and "Traceback" not in quiet.stderr and "not a plan file" in quiet.stderr
    loud = reconcile("--debug", "show", "plan.json")
    assert loud.exit_code == 1 and "Traceback" in loud.stderr and "PlanFormatError" in loud.stderr


@pytest.mark.parametrize("command", [
    [], ["validate"], ["plan"], ["apply"], ["show"], ["status"], ["explain"], ["explain", "user"],
    ["force-unlock"], ["test-connection"], ["sandbox"], ["sandbox", "serve"],
])
def test_every_help_teaches_with_an_example(reconcile: Reconcile, command: list[str]):
    result = reconcile(*command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout and "reconcile " in result.stdout.split("Example:")[1]


def test_version(reconcile: Reconcile):
    assert reconcile("--version").stdout.startswith("reconcile 0.")


def test_an_unforeseen_error_shows_its_type_only_unless_debugging(
        config_dir: Path, reconcile: Reconcile, monkeypatch: pytest.MonkeyPatch):
    def broken_planner(*args, **kwargs):
        raise RuntimeError("row ('alice@acme.example', ...) failed")

    monkeypatch.setattr(cli_module, "plan_cycle", broken_planner)
    quiet = reconcile("plan", "-c", "config", "--refresh=false", "--state", "state.db", "--detailed-exitcode")
    assert quiet.exit_code == 1
    assert quiet.stderr.endswith("Error: unexpected internal error (RuntimeError); "
                                 "run with --debug for the details and traceback\n")
    assert "alice" not in quiet.output
    loud = reconcile("--debug", "plan", "-c", "config", "--refresh=false", "--state", "state.db")
    assert loud.exit_code == 1 and "Traceback" in loud.stderr and "alice@acme.example" in loud.stderr


def test_an_unreachable_service_asked_for_explicitly_is_an_error_with_its_fix(
        config_dir: Path, reconcile: Reconcile, monkeypatch: pytest.MonkeyPatch):
    for variable in ("ACME_SF_PRIVATE_KEY", "ACME_EXCHANGE_CLIENT_SECRET"):  # the example's secrets: none set
        monkeypatch.delenv(variable, raising=False)
    result = reconcile("plan", "-c", "config", "--state", "state.db", "--refresh=true")
    assert result.exit_code == 1 and result.stdout == ""
    assert "is not set (fix: export " in result.stderr and "Traceback" not in result.stderr


def test_an_apply_that_syncs_records_under_an_unchanged_configuration_says_so(
        tmp_path: Path, reconcile: Reconcile, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(EXAMPLES / "quickstart", tmp_path / "quickstart")
    configured = reconcile("apply", "-c", "quickstart", "--state", "state.db", "--refresh=false", "--auto-approve")
    assert configured.exit_code == 0 and "State serial is now 1." in configured.stdout

    synced = reconcile("apply", "-c", "quickstart", "--state", "state.db", "--auto-approve")

    assert synced.exit_code == 0, synced.output
    assert "Record changes" in synced.stdout
    assert "Apply complete! Configuration unchanged (state serial 1); records as listed above." in synced.stdout

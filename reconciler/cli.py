"""``reconcile``: the command line. Thin by design: parse options, call config / engine / plan, print.

Conventions a pipeline can rely on (terraform's and kubectl's): results on stdout, progress and
warnings on stderr; exit 0 for success or no changes, 1 for errors, 2 for "changes present" only
with ``--detailed-exitcode``, 64 for usage errors (so a typo never reads as "changes present").
Expected errors are mapped to one-line messages in ``ERROR_TABLE``; ``--debug`` adds tracebacks.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from reconciler import __version__
from reconciler.config import Diagnostic, UnknownUserError, explain_user, load_config
from reconciler.connectors.errors import ConnectorError
from reconciler.engine import (ApplyOutcome, InvalidConfiguration, PartialTarget, StalePlan, StatusReport,
                               config_root, load_valid_config, state_status)
from reconciler.engine.checks import check_connections
from reconciler.engine.cycle import CycleOutcome, apply_cycle, plan_cycle, plan_has_changes
from reconciler.engine.records import DEFAULT_FULL_RESYNC_AFTER, DEFAULT_PARALLEL
from reconciler.plan import Plan, PlanFormatError, TargetingError, render_markdown, render_text
from reconciler.sandbox.serve import serve_forever
from reconciler.state import STATE_ENV_VAR, PlanAlreadyApplied, StateError, StateStore, current_actor, resolve_state_url

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_USAGE = 64


class ApprovalRequired(click.ClickException):
    """``apply`` without a plan file needs a 'yes' from a person, or ``--auto-approve``."""

    exit_code = EXIT_ERROR


def _relative(path: str) -> str:
    """``path`` relative to the working directory when it lies below it (what editors and CI link)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path


def format_diagnostic(diagnostic: Diagnostic) -> str:
    return f"{_relative(diagnostic.file)}:{diagnostic.line}:{diagnostic.col}: {diagnostic.severity}: {diagnostic.message}"


def _invalid_configuration_message(exc: BaseException) -> str:
    assert isinstance(exc, InvalidConfiguration)
    return "\n".join([*(format_diagnostic(d) for d in exc.diagnostics), f"Error: {exc}"])


def _oserror_message(exc: BaseException) -> str:
    assert isinstance(exc, OSError)
    where = f": {_relative(str(exc.filename))}" if exc.filename else ""
    return f"Error: {exc.strerror or exc}{where}"


@dataclass(frozen=True)
class ErrorRule:
    """How one kind of expected error reaches the operator: message and exit code."""

    error: type[BaseException]
    exit_code: int
    message: Callable[[BaseException], str] = lambda exc: f"Error: {exc}"


# The one place expected errors become messages; the first matching rule wins.
ERROR_TABLE: tuple[ErrorRule, ...] = (
    ErrorRule(InvalidConfiguration, EXIT_ERROR, _invalid_configuration_message),
    ErrorRule(StalePlan, EXIT_ERROR),
    ErrorRule(PartialTarget, EXIT_ERROR),
    ErrorRule(TargetingError, EXIT_ERROR),
    ErrorRule(PlanFormatError, EXIT_ERROR, lambda exc: f"Error: cannot use the plan file: {exc}"),
    ErrorRule(PlanAlreadyApplied, EXIT_ERROR,
              lambda exc: f"Error: {exc}; a plan is applied at most once, nothing was changed. "
                          "Run `reconcile plan` to see what is left to do."),
    ErrorRule(StateError, EXIT_ERROR),
    ErrorRule(ConnectorError, EXIT_ERROR),
    ErrorRule(UnknownUserError, EXIT_ERROR),
    ErrorRule(OSError, EXIT_ERROR, _oserror_message),
)


class ReconcileGroup(click.Group):
    """The top-level group: maps usage errors to 64 and domain errors through ``ERROR_TABLE``."""

    debug = False

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,  # type: ignore[override]
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        ReconcileGroup.debug = False
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            exc.show()
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_ERROR)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, not a crash dump
            sys.exit(self._report(exc))
        sys.exit(result if isinstance(result, int) else EXIT_OK)

    def _report(self, exc: Exception) -> int:
        if ReconcileGroup.debug:
            traceback.print_exception(exc, file=sys.stderr)
        for rule in ERROR_TABLE:
            if isinstance(exc, rule.error):
                click.echo(rule.message(exc), err=True)
                return rule.exit_code
        # Only the type: the message of an unforeseen error may quote data (a SQL parameter, a record),
        # and nothing unvetted reaches a CI log unless the operator asks for it with --debug.
        click.echo(f"Error: unexpected internal error ({type(exc).__name__})"
                   + ("" if ReconcileGroup.debug else "; run with --debug for the details and traceback"), err=True)
        return EXIT_ERROR


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _use_colour(no_color: bool) -> bool:
    return not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()


def config_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), default=Path("."),
                        show_default=True,
                        help="Configuration: a directory (searched recursively for *.yaml/*.yml) or one file.")(function)


def state_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--state", "state_url", envvar=STATE_ENV_VAR, metavar="URL",
                        help=f"State database: a SQLite path or postgresql+psycopg:// URL (env {STATE_ENV_VAR}; "
                             "default <config dir>/.reconciler/state.db).")(function)


def refresh_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--refresh", type=click.BOOL, default=None, metavar="BOOL",
                        help="List Salesforce and the mailboxes to plan record changes (default: true when a "
                             "configuration is active); --refresh=false plans configuration only, without any "
                             "connector call.")(function)


def parallel_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--parallel", type=click.IntRange(1, 64), default=DEFAULT_PARALLEL, show_default=True,
                        help="Users synced at the same time.")(function)


def full_resync_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--full-resync-after", "full_resync_after", type=click.FloatRange(min=0), metavar="HOURS",
                        default=DEFAULT_FULL_RESYNC_AFTER.total_seconds() / 3600, show_default=True,
                        help="List a user's side in full (not just its changes) when its last full listing is "
                             "older than HOURS, so deletes a change feed missed (Salesforce getDeleted after a "
                             "recycle-bin purge) are found; 0 lists in full every time.")(function)


def format_option(*choices: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--format", "output_format", type=click.Choice(choices), default="text", show_default=True,
                        help="Output format.")


def no_color_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--no-color", is_flag=True,
                        help="No colours (they are only used on a terminal anyway; NO_COLOR is honoured).")(function)


def open_store(state_url: str | None, config_path: Path) -> StateStore:
    url = resolve_state_url(state_url, config_root(config_path))
    store = StateStore.open(url)
    _progress(f"State: {store.redacted_url}")
    return store


def _echo_warnings(warnings: Sequence[Diagnostic]) -> None:
    for warning in warnings:
        _progress(format_diagnostic(warning))


def _render_plan(plan: Plan, output_format: str, no_color: bool) -> str:
    if output_format == "json":
        return plan.to_json()
    if output_format == "markdown":
        return render_markdown(plan)
    return render_text(plan, color=_use_colour(no_color))


def _read_plan(plan_file: Path) -> Plan:
    return Plan.from_json(plan_file.read_text(encoding="utf-8"))


@click.group("reconcile", cls=ReconcileGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="reconcile", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors (for bug reports).")
def cli(debug: bool) -> None:
    """Keep Salesforce and Microsoft Exchange contacts and calendars in step, from YAML in git.

    The loop is the one you know from terraform: `validate` the files, `plan` to see what would
    change (save it with --out), `apply` exactly that plan. `status` shows what is applied and how
    each user's sync is doing; `explain user` says which configuration a user gets and why.

    \b
    Example:
      reconcile validate -c config/
      reconcile plan -c config/ --out plan.json
      reconcile apply -c config/ plan.json

    Exit codes: 0 success or no changes, 1 error, 2 changes present (plan --detailed-exitcode),
    64 usage error.
    """
    ReconcileGroup.debug = debug


@cli.command()
@config_option
@format_option("text", "json")
def validate(config_path: Path, output_format: str) -> int:
    """Check the configuration files against the schemas and each other; never touches the state.

    Prints every problem as `file:line:col: severity: message`, then a summary. Exits 1 when
    there is an error; warnings alone exit 0.

    \b
    Example:
      reconcile validate -c config/
      reconcile validate -c config/ --format json | jq '.diagnostics[]'
    """
    result = load_config(config_path)
    errors, warnings = len(result.errors), len(result.warnings)
    if output_format == "json":
        click.echo(json.dumps({
            "valid": result.ok, "errors": errors, "warnings": warnings,
            "files": [_relative(f) for f in result.files], "resources": len(result.config.resources),
            "diagnostics": [{**d.to_json(), "file": _relative(d.file)} for d in result.diagnostics],
        }, indent=2))
    else:
        for diagnostic in result.diagnostics:
            click.echo(format_diagnostic(diagnostic))
        files = len(result.files)
        counts = (f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''} "
                  f"in {files} file{'s' if files != 1 else ''}")
        if result.ok:
            click.echo(f"Configuration valid: {len(result.config.resources)} resources, {counts}.")
        else:
            click.echo(f"Configuration invalid: {counts}.")
    return EXIT_OK if result.ok else EXIT_ERROR


@cli.command()
@config_option
@state_option
@format_option("text", "json", "markdown")
@click.option("--out", "out_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Save the plan to FILE for `reconcile apply FILE`.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes (0 when none).")
@click.option("--target", "targets", multiple=True, metavar="ADDRESS",
              help="Plan only resources matching ADDRESS (Kind/name, globs allowed: User/*). Repeatable.")
@click.option("--exclude", "excludes", multiple=True, metavar="ADDRESS",
              help="Leave out resources matching ADDRESS. Repeatable.")
@refresh_option
@parallel_option
@full_resync_option
@no_color_option
def plan(config_path: Path, state_url: str | None, output_format: str, out_file: Path | None,
         detailed_exitcode: bool, targets: tuple[str, ...], excludes: tuple[str, ...], refresh: bool | None,
         parallel: int, full_resync_after: float, no_color: bool) -> int:
    """Show what apply would change: configuration resources and the effects on users.

    Compares the files with the configuration last applied (from the state) and, unless
    --refresh=false, lists each synced user's contacts on both sides to show the record changes the
    next sync would make. Nothing is changed anywhere. With --out the plan is saved; `reconcile apply FILE` then carries out exactly that plan and
    refuses it if the state or the files moved in between. Validation errors: exit 1, no plan.

    \b
    Example:
      reconcile plan -c config/ --out plan.json --detailed-exitcode
      reconcile plan -c config/ --format markdown > pr-comment.md
      reconcile plan -c config/ --target 'SyncConfiguration/sales-*' --exclude User/bob
    """
    with open_store(state_url, config_path) as store:
        _progress(f"Planning configuration {_relative(str(config_path))}...")
        new_plan, warnings = plan_cycle(config_path, store, targets, excludes, refresh=refresh, parallel=parallel,
                                        progress=_progress, full_resync_after=timedelta(hours=full_resync_after))
    _echo_warnings(warnings)
    if out_file is not None:
        out_file.write_text(new_plan.to_json(), encoding="utf-8")
        _progress(f"Saved the plan to {_relative(str(out_file))}; apply it with: reconcile apply {_relative(str(out_file))}")
    click.echo(_render_plan(new_plan, output_format, no_color), nl=False)
    if detailed_exitcode and plan_has_changes(new_plan):
        return EXIT_CHANGES
    return EXIT_OK


def _records_json(cycle: CycleOutcome | None) -> list[dict[str, Any]] | None:
    if cycle is None or cycle.records is None:
        return None
    return [{"user": r.user, "object": r.object, "state": r.state, "error": r.error, "written": r.written,
             "deferred": r.deferred, "counts": {d: dict(c) for d, c in r.counts.items()}}
            for r in cycle.records.results]


def _apply_result(outcome: ApplyOutcome, output_format: str, cycle: CycleOutcome | None = None) -> None:
    summary = outcome.plan.summary
    if output_format == "json":
        click.echo(json.dumps({"plan_id": outcome.plan.plan_id, "applied": outcome.changed,
                               "serial": outcome.serial, "summary": summary.to_dict(),
                               "records": _records_json(cycle)}, indent=2))
        return
    if cycle is not None and cycle.records is not None:
        for result in cycle.records.results:
            line = f"{result.user} ({result.object}): {result.state.replace('_', ' ')}, {result.written} written"
            if result.deferred:
                line += f", {len(result.deferred)} deferred to the next cycle"
            click.echo(line + (f": {result.error}" if result.error else ""))
    if outcome.changed:
        click.echo(f"Apply complete! Resources: {summary.add} added, {summary.change} changed, "
                   f"{summary.destroy} destroyed. State serial is now {outcome.serial}.")
    elif cycle is not None and cycle.records is not None:
        click.echo(f"Apply complete! Configuration unchanged (state serial {outcome.serial}); records as listed above.")
    else:
        click.echo("No changes. Nothing was applied.")


@cli.command()
@click.argument("plan_file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@config_option
@state_option
@format_option("text", "json")
@click.option("--auto-approve", is_flag=True, help="Apply without asking (for pipelines that reviewed the plan).")
@click.option("--target", "targets", multiple=True, metavar="ADDRESS",
              help="Without PLAN_FILE: plan and apply only matching resources. Repeatable.")
@click.option("--exclude", "excludes", multiple=True, metavar="ADDRESS",
              help="Without PLAN_FILE: leave out matching resources. Repeatable.")
@click.option("--allow-mass-changes", is_flag=True,
              help="Apply record changes even where maxChanges/maxDeletes or the empty-side guard stopped them.")
@refresh_option
@parallel_option
@full_resync_option
@no_color_option
def apply(plan_file: Path | None, config_path: Path, state_url: str | None, output_format: str,
          auto_approve: bool, targets: tuple[str, ...], excludes: tuple[str, ...], allow_mass_changes: bool,
          refresh: bool | None, parallel: int, full_resync_after: float, no_color: bool) -> int:
    """Carry out a plan: record the configuration as applied so the sync acts on it.

    With PLAN_FILE, applies exactly that saved plan, and refuses it (changing nothing) when it
    is stale: the state moved, the files changed, or the plan was applied before. Without it,
    makes a plan, shows it and asks "Do you want to apply?"; only 'yes' proceeds. Without a
    terminal to ask on, pass --auto-approve. The state stays locked for the whole apply.

    \b
    Example:
      reconcile apply -c config/ plan.json
      reconcile apply -c config/ --auto-approve
    """
    if plan_file is not None and (targets or excludes or refresh is not None):
        raise click.UsageError("--target/--exclude/--refresh are fixed when the plan is made; "
                               "they cannot change a saved plan")
    with open_store(state_url, config_path) as store:
        if plan_file is not None:
            chosen = _read_plan(plan_file)
            _progress(f"Applying saved plan {chosen.plan_id}...")
        else:
            _progress(f"Planning configuration {_relative(str(config_path))}...")
            chosen, warnings = plan_cycle(config_path, store, targets, excludes, refresh=refresh,
                                          parallel=parallel, progress=_progress,
                                          full_resync_after=timedelta(hours=full_resync_after))
            _echo_warnings(warnings)
            click.echo(render_text(chosen, color=_use_colour(no_color)), nl=False, err=output_format == "json")
            if not chosen.config_changes and not chosen.record_changes:
                _apply_result(ApplyOutcome(chosen, chosen.state_serial, changed=False), output_format)
                return EXIT_OK
            if plan_has_changes(chosen) and not auto_approve:
                if not sys.stdin.isatty():  # nobody to answer the prompt
                    raise ApprovalRequired(
                        "refusing to apply without approval: there is no terminal to ask on. Review the plan "
                        "and pass --auto-approve, or save it with `reconcile plan --out FILE` and run "
                        "`reconcile apply FILE`.")
                answer = click.prompt("\nDo you want to apply? Only 'yes' will be accepted", default="",
                                      show_default=False, err=True)
                if answer.strip() != "yes":
                    raise ApprovalRequired("apply cancelled; nothing was changed.")
        cycle = apply_cycle(chosen, store, config_path, current_actor(), allow_mass_changes=allow_mass_changes,
                            parallel=parallel, progress=_progress)
    _apply_result(cycle.config, output_format, cycle)
    return EXIT_OK if cycle.ok else EXIT_ERROR


@cli.command()
@click.argument("plan_file", type=click.Path(path_type=Path, dir_okay=False))
@format_option("text", "json", "markdown")
@no_color_option
def show(plan_file: Path, output_format: str, no_color: bool) -> int:
    """Show a saved plan, e.g. to review it or post it on a pull request. Reads nothing else.

    \b
    Example:
      reconcile show plan.json
      reconcile show plan.json --format markdown > pr-comment.md
    """
    click.echo(_render_plan(_read_plan(plan_file), output_format, no_color), nl=False)
    return EXIT_OK


def _status_json(report: StatusReport) -> dict[str, Any]:
    last = report.last_apply
    return {
        "state": report.state, "lineage": report.lineage, "serial": report.serial,
        "applied_digest": report.applied_digest, "files_digest": report.files_digest,
        "files_in_step": report.files_in_step,
        "last_apply": None if last is None else {
            "time": last.time.isoformat(), "actor": last.actor, "git_commit": last.git_commit,
            "plan_id": last.plan_id, "summary": last.summary},
        "lock": None if report.lock is None else {
            "id": report.lock.id, "holder": report.lock.holder, "operation": report.lock.operation,
            "since": report.lock.created_at.isoformat(), "host": report.lock.host, "pid": report.lock.pid},
        "users": [{
            "user": user.user, "configuration": user.configuration, "mailbox": user.mailbox, "linked": user.linked,
            "reset_pending": user.reset_pending,
            "directions": [{"object": d.object, "direction": d.direction, "state": d.state,
                            "last_cycle_at": d.last_cycle_at.isoformat() if d.last_cycle_at else None,
                            "error": d.last_error, "ambiguous": d.counts.get("ambiguous", 0)}
                           for d in user.directions],
        } for user in report.users],
    }


def _user_sync_text(user: Any) -> str:
    if user.configuration is None:
        return "not syncing"
    if not user.directions:
        text = "initial sync pending"
    else:
        text = "; ".join(f"{d.object} {d.direction}: {d.state.replace('_', ' ')}"
                         + (f", {d.counts['ambiguous']} ambiguous awaiting a person"
                            if d.counts.get("ambiguous") else "")
                         + (f" ({d.last_error})" if d.last_error else "") for d in user.directions)
    return text + (", reset pending" if user.reset_pending else "")


def _status_text(report: StatusReport) -> str:
    last = report.last_apply
    if report.files_digest is None:
        files = "have errors (run `reconcile validate`)"
    elif report.files_in_step:
        files = "match the applied configuration"
    else:
        files = "differ from the applied configuration (run `reconcile plan`)"
    lines = [
        f"State:          {report.state}",
        f"Lineage:        {report.lineage}",
        f"Serial:         {report.serial}",
        f"Applied digest: {report.applied_digest or '(nothing applied yet)'}",
        f"Files:          {files}",
        "Last apply:     " + ("never" if last is None else
                              f"{last.time.isoformat(timespec='seconds')} by {last.actor}, plan {last.plan_id}"
                              + (f", commit {last.git_commit[:12]}" if last.git_commit else "")),
    ]
    if report.lock is not None:
        lines.append(f"Lock:           held by {report.lock.holder} for {report.lock.operation!r} "
                     f"(lock id {report.lock.id})")
    lines.append("")
    if not report.users:
        lines.append("No users in the applied configuration.")
    else:
        width = max(len("USER"), *(len(u.user) for u in report.users))
        cwidth = max(len("CONFIGURATION"), *(len(u.configuration or "-") for u in report.users))
        lines.append(f"{'USER':<{width}}  {'CONFIGURATION':<{cwidth}}  SYNC")
        for user in report.users:
            lines.append(f"{user.user:<{width}}  {user.configuration or '-':<{cwidth}}  {_user_sync_text(user)}")
    return "\n".join(lines) + "\n"


@cli.command()
@config_option
@state_option
@format_option("text", "json")
def status(config_path: Path, state_url: str | None, output_format: str) -> int:
    """Show the applied state (serial, lineage, digest), the last apply, and each user's sync.

    Also says whether the files still match what was applied, and who holds the lock if anyone.

    \b
    Example:
      reconcile status -c config/ --state postgresql+psycopg://reconciler@db/reconciler
      reconcile status -c config/ --format json
    """
    with open_store(state_url, config_path) as store:
        report = state_status(store, config_path)
    if output_format == "json":
        click.echo(json.dumps(_status_json(report), indent=2))
    else:
        click.echo(_status_text(report), nl=False)
    return EXIT_OK


@cli.command("test-connection")
@config_option
@click.option("--user", "user_name", metavar="NAME", help="Also check this User's mailbox: impersonation and folder.")
@format_option("text", "json")
def test_connection(config_path: Path, user_name: str | None, output_format: str) -> int:
    """Check every Connection: authentication, API access and, with --user, the user's mailbox.

    Each failed step says how to fix it. Exits 1 when any check fails.

    \b
    Example:
      reconcile test-connection -c config/
      reconcile test-connection -c config/ --user bob
    """
    config = load_valid_config(config_path).config
    reports = check_connections(config, config_root(config_path), user_name)
    if output_format == "json":
        click.echo(json.dumps([{"connection": r.connection, "type": r.kind, "ok": r.ok,
                                "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail, "fix": c.fix}
                                           for c in r.checks]} for r in reports], indent=2))
    else:
        for report in reports:
            click.echo(f"Connection/{report.connection} ({report.kind}): {'ok' if report.ok else 'FAILED'}")
            for check in report.checks:
                click.echo(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}"
                           + (f" (fix: {check.fix})" if check.fix and not check.ok else ""))
    return EXIT_OK if all(report.ok for report in reports) else EXIT_ERROR


@cli.group()
def explain() -> None:
    """Explain decisions the reconciler makes from the configuration.

    \b
    Example:
      reconcile explain user alice -c config/
    """


@explain.command("user")
@click.argument("name")
@config_option
@format_option("text", "json")
def explain_user_command(name: str, config_path: Path, output_format: str) -> int:
    """Which configuration a user syncs under, and why (individual vs profile, priority, active).

    NAME is a User resource name or a Salesforce username. Reads only the files.

    \b
    Example:
      reconcile explain user alice -c config/
    """
    config = load_valid_config(config_path).config
    text = explain_user(config, name)
    if output_format == "json":
        click.echo(json.dumps({"user": name, "explanation": text.splitlines()}, indent=2))
    else:
        click.echo(text.rstrip("\n"))
    return EXIT_OK


@cli.command("force-unlock")
@click.argument("lock_id")
@config_option
@state_option
@format_option("text", "json")
def force_unlock(lock_id: str, config_path: Path, state_url: str | None, output_format: str) -> int:
    """Release a state lock left behind by a run that died. The LOCK_ID must match the held lock.

    The id is printed by the command that found the state locked, and by `reconcile status`.
    Breaking the lock of a run that is still alive can corrupt nothing (applies commit with a
    compare-and-set), but that run will then fail. The removal is recorded in the audit log.

    \b
    Example:
      reconcile force-unlock 3f2a0c1e-... -c config/
    """
    with open_store(state_url, config_path) as store:
        broken = store.force_unlock(lock_id)
    if output_format == "json":
        click.echo(json.dumps({"lock_id": broken.id, "holder": broken.holder, "operation": broken.operation}))
    else:
        click.echo(f"Released lock {broken.id} held by {broken.holder} for {broken.operation!r}.")
    return EXIT_OK


@cli.group()
def sandbox() -> None:
    """The built-in emulators of Salesforce, Exchange (EWS) and the Microsoft identity platform.

    For trying reconciler and for tests: real HTTPS on 127.0.0.1, no real tenant needed.

    \b
    Example:
      reconcile sandbox serve --dir .reconciler/sandbox
    """


@sandbox.command("serve")
@click.option("--dir", "data_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Where the sandbox keeps its data, TLS CA, endpoints.json and secrets/ (created if missing).")
@click.option("--seed", "seed_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="YAML seed data, read only when DIR holds no saved data yet (default: built-in demo data).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
def sandbox_serve(data_dir: Path, seed_file: Path | None, port: int) -> int:
    """Serve the sandbox on 127.0.0.1 over HTTPS until interrupted (Ctrl-C / SIGTERM).

    Prints the base URL and the path of endpoints.json (URLs, CA file, credentials) once it
    listens. Data written by clients survives a restart with the same --dir.

    \b
    Example:
      reconcile sandbox serve --dir .reconciler/sandbox --port 8443
    """
    data_dir.mkdir(parents=True, exist_ok=True)

    def announce(running: Any) -> None:
        click.echo(f"Sandbox listening on {running.base_url}")
        click.echo(f"Endpoints and credentials: {(data_dir / 'endpoints.json').resolve()}")
        _progress("Press Ctrl-C to stop.")
        sys.stdout.flush()

    serve_forever(data_dir, seed_file, port, announce)
    return EXIT_OK


def main() -> None:
    """Console-script entry point (``reconcile``)."""
    cli.main(prog_name="reconcile")


if __name__ == "__main__":
    main()

"""No secret value ever leaves its reference: not in output (any format), plan files, the state
database or the audit log. Every secret the example references is set to a marker first, so a leak
anywhere, by any code path that resolves secrets, shows up here."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.state import StateStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "configs"


def secret_references(value: Any) -> list[dict[str, str]]:
    if isinstance(value, dict):
        if set(value) == {"secretRef"}:
            return [value["secretRef"]]
        return [ref for item in value.values() for ref in secret_references(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in secret_references(item)]
    return []


def plant_markers(config_dir: Path, marker: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """Give every referenced secret (env var or file, relative to its YAML file) the marker value."""
    planted = 0
    for path in sorted(config_dir.rglob("*.y*ml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            for ref in secret_references(document):
                if "env" in ref:
                    monkeypatch.setenv(ref["env"], marker)
                else:
                    secret_file = path.parent / ref["file"]
                    secret_file.parent.mkdir(parents=True, exist_ok=True)
                    secret_file.write_text(marker, encoding="utf-8")
                planted += 1
    return planted


def dump_database(url: str) -> str:
    """Every row of every table, as text (each value in full: a Row's repr truncates long values)."""
    engine = sa.create_engine(url)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return "\n".join(f"{table.name}: " + " | ".join(str(value) for value in row)
                             for table in metadata.sorted_tables for row in connection.execute(sa.select(table)))
    finally:
        engine.dispose()


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir() if p.name != "broken"))
def test_secret_values_appear_nowhere(example: str, tmp_path: Path, state_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    config_dir = Path(shutil.copytree(EXAMPLES / example, tmp_path / "config"))
    marker = f"SECRET-MARKER-{uuid.uuid4().hex}"
    assert plant_markers(config_dir, marker, monkeypatch) > 0
    runner = CliRunner()
    outputs: list[str] = []

    def reconcile(*args: str) -> None:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code in (0, 2), result.output
        outputs.append(result.output)

    common = ("-c", "config", "--state", state_url)
    for output_format in ("text", "json"):
        reconcile("validate", "-c", "config", "--format", output_format)
    for output_format in ("text", "json", "markdown"):
        reconcile("plan", *common, "--refresh=false", "--format", output_format)
    reconcile("plan", *common, "--refresh=false", "--out", "plan.json")
    for output_format in ("text", "json", "markdown"):
        reconcile("show", "plan.json", "--format", output_format)
    reconcile("apply", *common, "plan.json")
    for output_format in ("text", "json"):
        reconcile("status", *common, "--format", output_format)
    with StateStore.open(state_url) as store:
        user = store.user_statuses()[0].user
        audit = repr(store.audit_log())
    reconcile("explain", "user", user, "-c", "config")

    assert len(outputs) == 13 and all(outputs)
    places = {"command output": "\n".join(outputs), "plan file": Path("plan.json").read_text(encoding="utf-8"),
              "state database": dump_database(state_url), "audit log": audit}
    assert "secretRef" in places["plan file"] and "secretRef" in places["state database"]  # kept as references
    assert [place for place, text in places.items() if marker in text] == []


def test_credentials_used_against_the_sandbox_appear_nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The quickstart with record sync on: secrets are resolved, logins made, records planned and
    written. The credentials are the sandbox's own (it writes them where the quickstart points)."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(EXAMPLES / "quickstart", tmp_path / "config")
    state = f"sqlite:///{tmp_path / 'state.db'}"
    runner = CliRunner()
    outputs: list[str] = []

    def reconcile(*args: str) -> None:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)

    reconcile("plan", "-c", "config", "--state", state, "--refresh=true", "--out", "plan.json")
    for output_format in ("text", "json", "markdown"):
        reconcile("show", "plan.json", "--format", output_format)
    reconcile("apply", "-c", "config", "--state", state, "plan.json")
    for output_format in ("text", "json"):
        reconcile("status", "-c", "config", "--state", state, "--format", output_format)

    plan_text = Path("plan.json").read_text(encoding="utf-8")
    assert '"record_changes": [\n    {' in plan_text  # records were planned: the secrets were used
    secrets = [(Path("config") / ref["file"]).read_text(encoding="utf-8").strip()
               for document in yaml.safe_load_all((Path("config") / "reconciler.yaml").read_text(encoding="utf-8"))
               for ref in secret_references(document)]
    assert len(secrets) == 2 and all(len(secret) >= 16 for secret in secrets)
    with StateStore.open(state) as store:
        audit = repr(store.audit_log())
    places = {"command output": "\n".join(outputs), "plan file": plan_text, "state database": dump_database(state),
              "audit log": audit}
    assert [(place, secret[:4]) for place, text in places.items() for secret in secrets if secret in text] == []

"""The CLI as separate processes, as in a pipeline: a plan made here is applied by a child process;
exit codes and the apply prompt of a real process on a real terminal; the sandbox server."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
from pathlib import Path

import requests

from reconciler.engine import build_config_plan
from reconciler.state import StateStore

from .conftest import RECONCILE, RunReconcile


def test_a_saved_plan_is_applied_by_another_process(config_dir: Path, run_reconcile: RunReconcile, state_url: str):
    with StateStore.open(state_url) as store:
        plan, _ = build_config_plan(config_dir, store)
    Path("plan.json").write_text(plan.to_json(), encoding="utf-8")

    applied = run_reconcile("apply", "-c", "config", "--state", state_url, "plan.json", "--format", "json")
    assert applied.returncode == 0, applied.stderr
    result = json.loads(applied.stdout)
    assert result["plan_id"] == plan.plan_id and result["serial"] == 1 and result["applied"] is True

    with StateStore.open(state_url) as store:
        assert store.meta().serial == 1 and [e.plan_id for e in store.audit_log()] == [plan.plan_id]
        replanned, _ = build_config_plan(config_dir, store)
    assert replanned.config_changes == ()


def test_usage_error_exit_code_of_the_real_process(run_reconcile: RunReconcile):
    result = run_reconcile("plan", "--detailed-exitcode", "--frobnicate")
    assert result.returncode == 64 and "No such option" in result.stderr


def test_sandbox_serve_announces_where_it_listens_and_stops_on_sigterm(tmp_path: Path):
    data_dir = tmp_path / "sandbox"
    with subprocess.Popen([*RECONCILE, "sandbox", "serve", "--dir", str(data_dir), "--port", "0"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as server:
        try:
            listening = server.stdout.readline()
            endpoints_line = server.stdout.readline()
            assert listening.startswith("Sandbox listening on https://127.0.0.1:"), server.stderr.read()
            base_url = listening.split(" on ", 1)[1].strip()
            endpoints_file = Path(endpoints_line.split(": ", 1)[1].strip())
            endpoints = json.loads(endpoints_file.read_text(encoding="utf-8"))
            assert endpoints_file == (data_dir / "endpoints.json").resolve() and endpoints["baseUrl"] == base_url
            session = requests.Session()
            session.trust_env = False
            session.verify = endpoints["caFile"]
            assert session.get(f"{base_url}/no-such-endpoint", timeout=10).status_code == 404
        finally:
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=30) == 0


def test_apply_asks_on_a_terminal_and_only_yes_proceeds(config_dir: Path, tmp_path: Path):
    """stdin is a real pseudo-terminal here, as for a person at a shell."""

    def apply_answering(answer: str) -> tuple[int, str]:
        controller, terminal = pty.openpty()
        with subprocess.Popen([*RECONCILE, "apply", "-c", "config", "--state", "state.db", "--refresh=false"], cwd=tmp_path,
                              stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:
            os.close(terminal)
            os.write(controller, f"{answer}\n".encode())
            _, errors = child.communicate(timeout=120)
        os.close(controller)
        return child.returncode, errors

    code, errors = apply_answering("y")
    assert code == 1 and "Do you want to apply? Only 'yes' will be accepted" in errors
    assert "apply cancelled; nothing was changed" in errors
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        assert store.meta().serial == 0

    code, errors = apply_answering("yes")
    assert code == 0, errors
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        assert store.meta().serial == 1

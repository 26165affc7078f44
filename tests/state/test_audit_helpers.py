"""Who acts and on which commit: the facts stamped on audit entries and locks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.state import current_actor, git_commit_of, new_audit_entry
from reconciler.state.audit import CI_ACTOR_VARIABLES


@pytest.fixture
def no_ci(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for variable in (*CI_ACTOR_VARIABLES, "CI"):
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


@pytest.mark.parametrize("variable", ["GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILD_REQUESTEDFOR"])
def test_ci_actor_is_preferred_over_the_runner_account(no_ci: pytest.MonkeyPatch, variable: str) -> None:
    no_ci.setenv("USER", "runner")
    no_ci.setenv(variable, "alice-dev")
    assert current_actor() == "alice-dev"


def test_generic_ci_uses_user_variable(no_ci: pytest.MonkeyPatch) -> None:
    no_ci.setenv("CI", "true")
    no_ci.setenv("USER", "pipeline-bob")
    assert current_actor() == "pipeline-bob"


def test_outside_ci_the_os_user_acts(no_ci: pytest.MonkeyPatch) -> None:
    import getpass

    assert current_actor() == getpass.getuser()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_of_a_work_tree(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    assert git_commit_of(tmp_path) is None  # no commit yet
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "user.yaml").write_text("kind: User\n")
    git("add", ".")
    git("commit", "-q", "-m", "first")
    assert git_commit_of(tmp_path / "configs") == git("rev-parse", "HEAD")


def test_git_commit_outside_a_work_tree_is_none(tmp_path: Path) -> None:
    assert git_commit_of(tmp_path) is None


def test_git_commit_without_git_installed_is_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert git_commit_of(Path.cwd()) is None


def test_new_audit_entry_is_stamped_now_by_the_current_actor(no_ci: pytest.MonkeyPatch, tmp_path: Path) -> None:
    no_ci.setenv("GITHUB_ACTOR", "carol")
    entry = new_audit_entry("apply", summary={"changes": 2}, plan_id="p-1", repo_path=tmp_path)
    assert (entry.actor, entry.plan_id, entry.operation, entry.summary, entry.git_commit) == (
        "carol",
        "p-1",
        "apply",
        {"changes": 2},
        None,
    )
    assert entry.time.utcoffset() is not None

"""Who is acting, and on which commit: the facts every audit entry and lock carries.

In CI the OS user is a meaningless runner account, so the person (or bot) the CI system names
comes first.
"""

from __future__ import annotations

import getpass
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .records import AuditEntry, utc_now

# CI systems and the variable naming the person who triggered the run, most specific first.
CI_ACTOR_VARIABLES = (
    "GITHUB_ACTOR",  # GitHub Actions
    "GITLAB_USER_LOGIN",  # GitLab CI
    "BUILD_REQUESTEDFOR",  # Azure Pipelines
    "BUILD_USER_ID",  # Jenkins (build-user-vars plugin)
    "BITBUCKET_STEP_TRIGGERER_UUID",  # Bitbucket Pipelines
)
GIT_TIMEOUT_SECONDS = 10


def current_actor() -> str:
    """The CI-reported actor if any, else ``$USER`` under a generic CI, else the OS user."""
    for variable in CI_ACTOR_VARIABLES:
        if value := os.environ.get(variable, "").strip():
            return value
    if os.environ.get("CI") and (user := os.environ.get("USER", "").strip()):
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry or login variables
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _host_name() -> str:
    """This host's name, or a placeholder where the platform reports none: a lock holder is never blank."""
    return platform.node() or "unknown-host"


def this_host() -> str:
    """Where this process's pid means something, as the state lock records it: the host name and,
    on Linux, the pid namespace. Two containers may share a host name (a fixed ``--hostname``, a
    shared state volume) while their pids live in different namespaces; without the namespace one
    would take a live lock of the other as dead."""
    node = _host_name()
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return node
    return f"{node} (pid namespace {namespace})"


def lock_holder() -> str:
    """A holder string for the state lock that tells an operator where the run lives."""
    return f"{current_actor()}@{_host_name()} (pid {os.getpid()})"


def git_commit_of(path: Path) -> str | None:
    """The commit checked out in the git work tree containing ``path``, else None.

    None (never an error) when git is not installed, ``path`` is not inside a work tree, or the
    repository has no commit yet: an audit entry is still worth writing without it.
    """
    git = shutil.which("git")
    if git is None:
        return None
    try:
        result = subprocess.run(
            [git, "-C", str(path), "rev-parse", "--is-inside-work-tree", "HEAD"],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = result.stdout.split()
    if result.returncode != 0 or len(lines) != 2 or lines[0] != "true":
        return None
    return lines[1]


def new_audit_entry(
    operation: str, *, summary: dict[str, Any], plan_id: str | None = None, repo_path: Path | None = None
) -> AuditEntry:
    """An audit entry stamped now, by the current actor, at the commit of ``repo_path`` (if any)."""
    return AuditEntry(
        time=utc_now(),
        actor=current_actor(),
        git_commit=git_commit_of(repo_path) if repo_path is not None else None,
        plan_id=plan_id,
        operation=operation,
        summary=summary,
    )

"""The layer contracts in pyproject.toml hold, and the checker really catches a broken one.

Layers: config <- sync <- plan <- {state, connectors} <- engine <- cli; the pure core imports no
network or database code; the sandbox imports nothing from the rest. A violation is a design
decision to discuss, not something to slip past CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
PACKAGES = ("config", "sync", "plan", "state", "connectors", "engine", "sandbox")


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run([LINT_IMPORTS, "--no-cache", "--no-logo"], cwd=project, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_the_project_keeps_its_layer_contracts():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_lower_layer_importing_a_higher_one_is_caught(tmp_path: Path):
    """The same contracts over a miniature tree in which plan imports engine."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    package = tmp_path / "reconciler"
    for name in PACKAGES:
        (package / name).mkdir(parents=True)
        (package / name / "__init__.py").write_text("", encoding="utf-8")
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "cli.py").write_text("import reconciler.engine\n", encoding="utf-8")
    (package / "engine" / "__init__.py").write_text("import reconciler.plan\nimport sqlalchemy\n", encoding="utf-8")
    (package / "plan" / "__init__.py").write_text("import reconciler.engine\nimport requests\n", encoding="utf-8")

    result = lint_imports(tmp_path)

    assert result.returncode != 0
    assert "Layers: lower never imports higher BROKEN" in result.stdout
    assert "reconciler.plan -> reconciler.engine" in result.stdout
    assert "The pure core imports no network or database code BROKEN" in result.stdout

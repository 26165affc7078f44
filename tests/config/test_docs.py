"""docs/configuration.md carries the field reference generated from the schemas, up to date."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config.docs import BEGIN_MARKER, END_MARKER, field_reference, main, replace_generated
from reconciler.config.schema import SCHEMA_FILES

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_configuration_reference_is_up_to_date() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert replace_generated(text, field_reference()) == text, (
        "docs/configuration.md is stale: run python -m reconciler.config.docs --update docs/configuration.md"
    )


def test_reference_lists_every_kind_and_their_defaults() -> None:
    reference = field_reference()
    for _, kind in SCHEMA_FILES:
        assert f"### {kind}\n" in reference
    assert "| `spec.priority` | integer |  | `100` |" in reference
    assert "| `spec.salesforce.auth.privateKey` | secret reference | with type jwt_bearer |" in reference


def test_update_rewrites_only_the_generated_part(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "doc.md"
    target.write_text(f"intro\n{BEGIN_MARKER}\nold\n{END_MARKER}\noutro\n")
    assert main(["--update", str(target)]) == 0
    text = target.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "\nold\n" not in text
    assert main([]) == 0
    assert capsys.readouterr().out == field_reference()

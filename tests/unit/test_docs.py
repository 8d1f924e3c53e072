"""The README documents exactly the inputs and outputs action.yml declares."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from pypi_release._inputs import load_input_specs

ROOT = Path(__file__).resolve().parents[2]


def readme_table(marker: str) -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- {marker}:start -->(.*?)<!-- {marker}:end -->", text, re.S)
    assert match, f"README.md has no <!-- {marker}:start/end --> table"
    rows = [line for line in match.group(1).strip().splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def unquote(cell: str) -> str:
    return cell.strip("`") if cell not in ("", "*(empty)*") else ""


def test_readme_inputs_table_matches_action_yml() -> None:
    specs = load_input_specs(ROOT / "action.yml")
    declared = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]
    rows = readme_table("inputs")

    assert [unquote(row[0]) for row in rows] == list(specs)
    for name, default, description in rows:
        raw_default = declared[unquote(name)].get("default", "")
        assert unquote(default) == str(raw_default), f"default of {name}"
        assert description, f"{name} has no description in the README"


def test_readme_outputs_table_matches_action_yml() -> None:
    declared = yaml.safe_load((ROOT / "action.yml").read_text())["outputs"]

    assert [unquote(row[0]) for row in readme_table("outputs")] == list(declared)


def test_every_input_and_output_has_a_description_in_action_yml() -> None:
    document = yaml.safe_load((ROOT / "action.yml").read_text())
    for section in ("inputs", "outputs"):
        for name, fields in document[section].items():
            assert fields.get("description", "").strip(), f"{section}.{name}"

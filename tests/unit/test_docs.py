"""The README documents exactly the inputs and outputs action.yml declares."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from pypi_release._inputs import MODES, boolean_inputs, load_input_specs
from pypi_release.cli import build_parser

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


# -- the three descriptions of each input: action.yml, the README's table, --help ---------------


def _declared() -> dict[str, str]:
    inputs = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]
    return {
        name: " ".join(str(spec.get("description", "")).split()) for name, spec in inputs.items()
    }


def _readme_rows() -> dict[str, str]:
    return {unquote(row[0]): row[2] for row in readme_table("inputs")}


def _values_in_action_yml(description: str) -> set[str]:
    """The values a description names: action.yml quotes them ("auto", "0", "__token__")."""
    return set(re.findall(r'"([^"\s]+)"', description))


def _option_help() -> dict[str, str]:
    """Each option's help as --help prints it, by input name."""
    parser = build_parser(load_input_specs(ROOT / "action.yml"))
    found: dict[str, str] = {}
    for action in parser._actions:
        for option in action.option_strings:
            name = option.removeprefix("--")
            if option.startswith("--") and name in _declared():
                choices = " ".join(action.choices or ())
                found[name] = f"{action.help} {choices}"
    return found


def test_each_mode_names_the_same_words_in_action_yml_the_readme_and_help() -> None:
    declared, rows, helps = _declared(), _readme_rows(), _option_help()

    for name, words in MODES.items():
        assert _values_in_action_yml(declared[name]) == set(words), f"action.yml: {name}"
        for word in words:
            assert f"`{word}`" in rows[name], f"README: {name} does not name `{word}`"
            assert re.search(rf"\b{word}\b", helps[name]), f"--help: {name} does not name {word}"


def test_every_value_action_yml_names_the_readme_and_help_name_too() -> None:
    declared, rows, helps = _declared(), _readme_rows(), _option_help()
    booleans = boolean_inputs()

    for name, description in declared.items():
        for value in _values_in_action_yml(description):
            assert f"`{value}`" in rows[name], f"README: {name} does not name `{value}`"
            if name not in helps or (name in booleans and value in ("true", "false")):
                continue  # not an option; or a flag, which says true and false itself
            assert value in helps[name], f"--help: {name} does not name {value}"


def test_every_input_a_readme_row_refers_to_action_yml_refers_to_as_well() -> None:
    declared, rows = _declared(), _readme_rows()

    for name, row in rows.items():
        named = {n for n in re.findall(r"`([\w-]+)`", row) if n in declared and n != name}
        for other in named:
            assert re.search(rf"(?<![\w-]){re.escape(other)}(?![\w-])", declared[name]), (
                f"README's {name} row refers to {other}; action.yml's description does not"
            )

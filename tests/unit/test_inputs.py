from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pypi_release._errors import InputError
from pypi_release._index import PYPI_UPLOAD_URL
from pypi_release._inputs import (
    ALIASES,
    SPELLINGS,
    env_names,
    input_fields,
    is_other_name,
    known_inputs,
    load_input_specs,
    parse_attempts,
    parse_bool,
    parse_concurrency,
    parse_repository_url,
    parse_size,
    raw_inputs,
    read_inputs,
)
from pypi_release._secrets import Secret


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '1'\n")
    return tmp_path


def test_every_declared_input_is_a_field_and_every_field_a_declaration_in_order() -> None:
    declared = [name for name in load_input_specs() if not is_other_name(name)]
    assert declared == list(input_fields())
    assert set(declared) == known_inputs()
    # The other names come last, each standing for a declared input.
    others = [name for name in load_input_specs() if is_other_name(name)]
    assert list(load_input_specs())[-len(others) :] == others
    assert {ALIASES.get(n, SPELLINGS.get(n)) for n in others} <= set(load_input_specs())


def test_defaults_come_from_action_yml(project: Path) -> None:
    inputs = read_inputs({}, project)

    assert inputs.paths == (project.resolve(),)
    assert inputs.dist_dir == project.resolve() / "dist"
    assert inputs.build is True
    assert inputs.repository_url == PYPI_UPLOAD_URL
    assert inputs.user == "__token__"
    assert not inputs.password
    assert (inputs.verify_metadata, inputs.skip_existing, inputs.dry_run, inputs.verbose) == (
        "true", False, False, False,
    )  # fmt: skip
    assert inputs.index_rules == "auto"
    assert inputs.index.rules == "pypi"  # auto, for PyPI


def test_index_rules_auto_means_pypis_rules_only_for_pypi_and_testpypi(project: Path) -> None:
    def rules(**env: str) -> str:
        return read_inputs({f"INPUT_{k.upper()}": v for k, v in env.items()}, project).index.rules

    assert rules(**{"REPOSITORY-URL": "https://test.pypi.org/legacy/"}) == "pypi"
    assert rules(**{"REPOSITORY-URL": "https://pypi.example.org/legacy/"}) == "basic"
    assert (
        rules(**{"REPOSITORY-URL": "https://pypi.example.org/legacy/", "INDEX-RULES": "PyPI"})
        == "pypi"
    )
    assert rules(**{"INDEX-RULES": "none"}) == "none"
    with pytest.raises(InputError, match="'index-rules': is not an index-rules mode"):
        rules(**{"INDEX-RULES": "warehouse"})
    with pytest.raises(InputError, match="'verify-metadata': is not a verify-metadata mode"):
        rules(**{"VERIFY-METADATA": "yes"})


def test_runner_spelling_keeps_hyphens_and_underscore_spelling_is_accepted(project: Path) -> None:
    assert env_names("repository-url") == ("INPUT_REPOSITORY-URL", "INPUT_REPOSITORY_URL")

    hyphen = read_inputs({"INPUT_SKIP-EXISTING": "true"}, project)
    underscore = read_inputs(
        {"INPUT_SKIP-EXISTING": "false", "INPUT_SKIP_EXISTING": "true"}, project
    )

    assert hyphen.skip_existing
    assert underscore.skip_existing


def test_empty_value_means_the_default_as_the_runner_passes_unset_inputs(project: Path) -> None:
    inputs = read_inputs({"INPUT_DIST-DIR": "", "INPUT_BUILD": "  "}, project)

    assert inputs.dist_dir.name == "dist"
    assert inputs.build is True


def test_a_runner_expression_default_counts_as_unset(tmp_path: Path) -> None:
    action = tmp_path / "action.yml"
    action.write_text(
        "inputs:\n  github-token:\n    default: ${{ github.token }}\n"
        "  flag:\n    default: true\n  needed:\n    required: true\n"
    )
    specs = load_input_specs(action)

    assert specs["github-token"].default is None
    assert specs["flag"].default == "true"
    assert raw_inputs({"INPUT_NEEDED": "x"}, specs)["github-token"] == ""
    with pytest.raises(InputError, match="'needed': is required"):
        raw_inputs({}, specs)


def test_overrides_win_over_the_environment(project: Path) -> None:
    inputs = read_inputs({"INPUT_DRY-RUN": "false"}, project, overrides={"dry-run": "true"})

    assert inputs.dry_run is True


@given(st.sampled_from(["true", "false"]), st.data())
def test_booleans_accept_true_and_false_in_any_case(word: str, data: st.DataObject) -> None:
    flips = data.draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    spelled = "".join(c.upper() if f else c for c, f in zip(word, flips, strict=True))

    assert parse_bool("build", f" {spelled} ") is (word == "true")


@given(st.text(max_size=20).filter(lambda t: t.strip().lower() not in ("true", "false")))
def test_anything_else_is_refused_naming_the_input_and_the_accepted_values(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_bool("skip-existing", text)

    assert "'skip-existing'" in str(caught.value)
    assert "true or false" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://upload.pypi.org/legacy/",
        "https://test.pypi.org/legacy/",
        "http://127.0.0.1:8080/",
        "http://localhost:8080",
        "https://artifactory.example.com/artifactory/api/pypi/pypi-local",
        "https://devpi.example.com/team/prod/",
    ],
)
def test_upload_urls_that_work(url: str) -> None:
    assert parse_repository_url("repository-url", url) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("upload.pypi.org/legacy/", r"not an http\(s\) URL"),
        ("ftp://example.org/", r"not an http\(s\) URL"),
        ("https://", r"not an http\(s\) URL"),
        ("https://pypi.org/simple/", "read-only"),
        ("https://pypi.org/legacy/", "read-only"),
        ("https://devpi.example.com/root/pypi/+simple/", "read-only"),
        ("https://upload.pypi.org/legacy", "trailing slash"),
        ("https://upload.pypi.org/", "not this index's upload endpoint"),
        ("https://test.pypi.org/legacy", "trailing slash"),
    ],
)
def test_upload_urls_that_cannot_work(url: str, why: str) -> None:
    with pytest.raises(InputError, match=why) as caught:
        parse_repository_url("repository-url", url)

    assert caught.value.name == "repository-url"


def test_paths_one_per_line_resolved_against_the_workspace(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "setup.py").write_text("")

    inputs = read_inputs({"INPUT_PATH": "a\n\n  b  \n"}, tmp_path)

    assert inputs.paths == (tmp_path / "a", tmp_path / "b")


def test_path_is_not_checked_when_nothing_is_built(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()

    inputs = read_inputs({"INPUT_BUILD": "false", "INPUT_PATH": "nowhere"}, tmp_path)

    assert inputs.paths == ()


def test_secret_never_shows_its_value() -> None:
    secret = Secret("pypi-AgEIcHlwaS5vcmc")

    assert "pypi-" not in repr(secret)
    assert "pypi-" not in f"{secret} {[secret]}"
    assert secret.reveal() == "pypi-AgEIcHlwaS5vcmc"
    assert bool(Secret("")) is False


@given(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(
        [("", 1), ("B", 1), ("KB", 1000), ("mb", 10**6), ("GiB", 2**30), ("KiB", 1024)]
    ),
    st.sampled_from(["", " "]),
)
def test_sizes_with_any_unit(number: int, unit: tuple[str, int], space: str) -> None:
    assert parse_size("max-file-size", f"{number}{space}{unit[0]}") == number * unit[1]


@pytest.mark.parametrize("text", ["¹", "²0", "٣"])
def test_digits_that_are_not_ascii_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="'upload-concurrency'"):
        parse_concurrency("upload-concurrency", text)


def _whole_number_in_range(text: str) -> bool:
    digits = text.strip()
    return digits.isascii() and digits.isdigit() and 1 <= int(digits) <= 20


@given(st.text(max_size=12).filter(lambda t: not _whole_number_in_range(t)))
def test_attempts_outside_one_to_twenty_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="'retry-attempts'"):
        parse_attempts("retry-attempts", text)

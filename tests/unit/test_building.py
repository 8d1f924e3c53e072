from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from base64 import urlsafe_b64encode
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pypi_release._build_worker import _BackendRunner, _Events, _extract_safely, make_environment
from pypi_release._building import (
    BUILD_UID,
    PendingBuild,
    _closed_to_others,
    _private_folders,
    _without_credentials,
    build_environment,
    source_date_epoch,
)
from pypi_release._console import Console
from pypi_release._errors import BuildError
from tests.support.action import COMMIT_EPOCH, SAMPLES, make_workspace, marking_sample
from tests.support.checkout import Checkout, runner_layout
from tests.support.index import IndexServer


def test_last_commit_time_in_a_git_checkout(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    assert source_date_epoch(workspace, {}) == (str(COMMIT_EPOCH), "time of the last commit")


def test_an_explicit_value_wins(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, "hatch")

    assert source_date_epoch(workspace, {"SOURCE_DATE_EPOCH": " 42 "})[0] == "42"


def test_no_value_outside_a_checkout_or_before_the_first_commit(tmp_path: Path) -> None:
    unpacked = make_workspace(tmp_path / "a", "hatch", git=False)
    fresh = make_workspace(tmp_path / "b", "hatch", git=False)
    subprocess.run(["git", "init", "-q"], cwd=fresh, check=True)

    assert source_date_epoch(unpacked, {})[0] is None
    assert source_date_epoch(fresh, {}) == (None, "not a git checkout with commits")


def _tar(tmp_path: Path, *members: tarfile.TarInfo) -> Path:
    path = tmp_path / "x.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member in members:
            archive.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, 1 if kind == tarfile.REGTYPE else 0
    return info


@pytest.mark.parametrize("with_filter", [True, False], ids=["data-filter", "checked-by-hand"])
@pytest.mark.parametrize(
    "bad",
    [_member("../evil"), _member("/abs/evil"), _member("p/link", tarfile.SYMTYPE, "../../etc/passwd"),
     _member("p/hard", tarfile.LNKTYPE, "../outside")],
    ids=["dotdot", "absolute", "symlink-out", "hardlink-out"],
)  # fmt: skip
def test_an_sdist_cannot_write_outside_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_filter: bool, bad: tarfile.TarInfo
) -> None:
    if not with_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    into = tmp_path / "out"
    into.mkdir()
    refused = False
    with tarfile.open(_tar(tmp_path, _member("p/ok.txt"), bad)) as archive:
        try:
            _extract_safely(archive, into)
        except (BuildError, tarfile.FilterError):
            refused = True
    # The data filter may instead rewrite an absolute name to a relative one; by hand we refuse.
    assert refused or (with_filter and bad.name.startswith("/"))
    assert not (tmp_path / "evil").exists()
    assert not Path("/abs/evil").exists()


@pytest.mark.parametrize("with_filter", [True, False], ids=["data-filter", "checked-by-hand"])
def test_an_ordinary_sdist_unpacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_filter: bool
) -> None:
    if not with_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    into = tmp_path / "out"
    into.mkdir()
    members = (_member("p/a.txt"), _member("p/sub/b.txt"))
    with tarfile.open(_tar(tmp_path, *members)) as archive:
        _extract_safely(archive, into)
    assert (into / "p" / "sub" / "b.txt").read_bytes() == b"x"


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_without_the_data_filter_a_link_member_is_refused_outright(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: bytes
) -> None:
    """A link that stays inside is harmless alone, but a later member written through it is
    not; without Python's data filter we cannot follow those rules, so no link at all."""
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    members = (_member("p/a.txt"), _member("p/l", kind, "p/a.txt"))
    with tarfile.open(_tar(tmp_path, *members)) as archive, pytest.raises(BuildError, match="link"):
        _extract_safely(archive, tmp_path / "out")


# -- what the unprivileged build can read (root only: the folders go to the runner's uid) ----

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the build switches users as root")


def _readable_by_nobody(path: Path) -> bool:
    """Whether uid 65534 can read `path` (cat: any user can run it, unlike a private Python)."""
    done = subprocess.run(
        ["cat", str(path)], user=BUILD_UID, group=BUILD_UID, extra_groups=[],
        capture_output=True, check=False, env={"PATH": os.defpath},
    )  # fmt: skip
    return done.returncode == 0


@needs_root
@pytest.mark.parametrize("checkout", ["v4", "v6"])
def test_the_runners_folders_are_closed_to_the_build_and_restored(checkout: Checkout) -> None:
    with runner_layout("hatch", checkout=checkout) as layout:
        environ = layout.host_env()
        secrets = [
            layout.workspace / ".git" / "config",
            *layout.temp.glob("*.sh"),  # an earlier step's script
            layout.workflow / "event.json",
            layout.output,
            *([layout.credentials] if layout.credentials else []),
        ]
        assert all(_readable_by_nobody(p) for p in secrets)  # as the runner leaves them
        before = layout.modes()

        with _closed_to_others(_private_folders(environ, [layout.workspace])) as closed:
            for path in secrets:
                assert not _readable_by_nobody(path), path
            assert layout.workspace in closed.folders
            assert layout.temp in closed.folders

        assert layout.modes() == before
        assert all(_readable_by_nobody(p) for p in secrets)


@needs_root
def test_the_modes_come_back_when_the_build_fails_or_is_cancelled() -> None:
    with runner_layout("hatch") as layout:
        before = layout.modes()
        folders = _private_folders(layout.host_env(), [layout.workspace])
        with pytest.raises(SystemExit), _closed_to_others(folders):  # noqa: PT012
            os.kill(os.getpid(), signal.SIGTERM)  # the runner cancelling the job
            time.sleep(5)
        assert layout.modes() == before
        with pytest.raises(BuildError), _closed_to_others(folders):
            raise BuildError("the backend failed")
        assert layout.modes() == before


def test_a_folder_holding_the_builds_python_stays_open_and_says_why(tmp_path: Path) -> None:
    environ = {"HOME": sys.prefix, "RUNNER_TEMP": str(tmp_path)}
    with _closed_to_others(_private_folders(environ, [])) as closed:
        assert [f for f, _ in closed.left_open] == [Path(sys.prefix).resolve()]
        assert "Python" in closed.left_open[0][1]


def test_the_private_copy_keeps_no_persisted_credential(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        "[core]\n\tbare = false\n"
        '[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic eA==\n'
        '[includeIf "gitdir:/github/workspace/.git"]\n'
        "\tpath = /github/runner_temp/git-credentials-1.config\n"
        "[include]\n\tpath = /elsewhere.config\n"
        '[remote "origin"]\n\turl = https://github.com/octo-org/sample\n'
    )

    _without_credentials(config)

    assert config.read_text() == (
        "[core]\n\tbare = false\n"
        '[http "https://github.com/"]\n'
        '[remote "origin"]\n\turl = https://github.com/octo-org/sample\n'
    )


def test_a_monorepo_members_private_copy_holds_its_repository_and_its_tags(
    tmp_path: Path,
) -> None:
    from pypi_release._building import private_copy

    workspace = make_workspace(tmp_path, "hatch", "flit")  # two members, one repository
    subprocess.run(["git", "tag", "v2.3.4"], cwd=workspace, check=True)
    (workspace / "notes.txt").write_text("untracked, outside the member\n")
    (workspace / "hatch" / "generated.py").write_text("# untracked, inside the member\n")
    (workspace / "hatch" / "dist").mkdir()
    (workspace / "hatch" / "dist" / "old.whl").write_text("")
    config = workspace / ".git" / "config"
    config.write_text(
        config.read_text() + '[http "https://github.com/"]\n\textraheader = AUTHORIZATION: x\n'
    )

    member = private_copy(workspace / "hatch", tmp_path / "copy", workspace / "hatch" / "dist")

    assert member == tmp_path / "copy" / "workspace" / "hatch"
    described = subprocess.run(
        ["git", "describe", "--tags"], cwd=member, capture_output=True, text=True, check=True
    )
    assert described.stdout.strip() == "v2.3.4"  # the root's tag, seen from the member
    assert (member.parent / "flit" / "pyproject.toml").is_file()  # tracked, outside: copied
    assert not (member.parent / "notes.txt").exists()  # untracked, outside: left out
    assert (member / "generated.py").is_file()  # the member's folder whole
    assert not (member / "dist").exists()
    assert "extraheader" not in (member.parent / ".git" / "config").read_text()


def test_the_build_environment_is_the_allow_list_minus_anything_named_like_a_credential(
    tmp_path: Path,
) -> None:
    environ = {
        "PATH": "/usr/bin", "LANG": "C.UTF-8", "UV_INDEX_URL": "https://mirror.example/simple",
        # allowed prefixes, but named like credentials: never passed on
        "UV_INDEX_PASSWORD": "s1", "PIP_TOKEN": "s2", "UV_PUBLISH_TOKEN": "s3",
        "PIP_CLIENT_CERT_SECRET": "s4", "UV_CREDENTIALS_FILE": "s5", "PIP_AUTH": "s6",
        "uv_index_password": "s7",
        # not on the allow-list at all
        "TWINE_PASSWORD": "s8", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "s9", "GITHUB_TOKEN": "s10",
        "RANDOM_SETTING": "x", "SOURCE_DATE_EPOCH": "5",
    }  # fmt: skip

    env = build_environment(environ, tmp_path / "home", epoch="7")

    assert env["PATH"] == "/usr/bin"
    assert env["LANG"] == "C.UTF-8"
    assert env["UV_INDEX_URL"] == "https://mirror.example/simple"
    assert env["SOURCE_DATE_EPOCH"] == "7"
    assert env["HOME"] == str(tmp_path / "home")
    assert not [value for value in env.values() if value.startswith("s") and value[1:].isdigit()]
    assert "RANDOM_SETTING" not in env


# -- the build started before the gate --------------------------------------------------------


def _installed(sandboxes: Path, name: str) -> bool:
    """Whether `name` is in a build environment under `sandboxes` (the parent's TMPDIR)."""
    pattern = f"pypi-release-build-*/home/build-env/lib/python*/site-packages/{name}"
    return any(sandboxes.glob(pattern))


def _wait_for(condition: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _running_in_group(group: int) -> list[int]:
    """The processes of process group `group` that are not zombies (from /proc)."""
    running = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state != "Z":
            running.append(int(stat_file.parent.name))
    return running


def _command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []  # gone meanwhile


@pytest.fixture
def sandboxes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The parent's TMPDIR, where each build's sandbox is made: this test's own."""
    folder = tmp_path / "parent-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _start_marking_build(tmp_path: Path, *, linger: float = 0) -> tuple[Path, Path, PendingBuild]:
    """A build of the marking sample, started: (the mark its backend writes when imported,
    the workspace, the pending build)."""
    marker = tmp_path / "backend-ran"
    workspace = make_workspace(tmp_path, marking_sample(tmp_path, marker, linger=linger))
    return marker, workspace, PendingBuild([workspace], workspace / "dist", os.environ, wheels=True)


@pytest.mark.timeout(180)
def test_a_started_build_installs_its_requirements_and_runs_nothing_of_the_project_until_go(
    tmp_path: Path, sandboxes: Path
) -> None:
    marker, workspace, pending = _start_marking_build(tmp_path)
    # The declared requirement lands in the build environment before `finish`...
    _wait_for(lambda: _installed(sandboxes, "hatchling"))
    time.sleep(1.0)  # the worker is at its "go" by now; nothing may run meanwhile
    # ... and the project's backend has not been imported: it runs only after "go".
    assert not marker.exists()
    assert not (workspace / "dist").exists()
    # One interpreter of the build environment runs: the first hook's, started without site
    # (-S), so it has read none of the build requirements' .pth files (a test below plants
    # one); no other (one started with site would have).
    [worker] = pending._workers
    started = [_command_line(pid) for pid in _running_in_group(worker.process.pid)]
    early = [argv for argv in started if "build-env" in argv[0]]
    assert [argv[1:3] for argv in early] == [["-S", "-c"]], started

    console = Console(in_actions=False)
    built = pending.finish(console)

    assert marker.read_text() == "the project's backend ran\n"
    [project] = built
    assert project.sdist.name == "prt_hatch_sample-1.0.0.tar.gz"
    assert project.wheel is not None
    assert project.wheel.is_file()
    assert list(sandboxes.iterdir()) == []  # every sandbox removed


@pytest.mark.timeout(180)
def test_a_cancelled_build_stops_its_worker_and_everything_it_started_and_leaves_nothing(
    tmp_path: Path, sandboxes: Path
) -> None:
    marker, workspace, pending = _start_marking_build(tmp_path)
    # Cancelled in the middle: the environment exists, the install may still be running.
    _wait_for(lambda: any(sandboxes.glob("pypi-release-build-*/home/build-env/bin")))
    [worker] = pending._workers
    pending.cancel()

    assert worker.process.returncode is not None
    # Nothing of its process group (uv, the hooks) still runs; the dead may wait a moment for
    # whoever reaps orphans.
    _wait_for(lambda: not _running_in_group(worker.process.pid), seconds=10)
    assert list(sandboxes.iterdir()) == []
    time.sleep(0.5)
    assert not marker.exists()
    assert not (workspace / "dist").exists()


def test_a_build_that_cannot_start_fails_in_the_builds_place_not_before_the_gate(
    tmp_path: Path, sandboxes: Path
) -> None:
    missing = tmp_path / "no-such-project"  # the inputs refuse this; here it cannot start
    pending = PendingBuild([missing], tmp_path / "dist", os.environ, wheels=True)
    assert list(sandboxes.iterdir()) == []  # what it made is gone already

    with pytest.raises(FileNotFoundError) as failure:
        pending.finish(Console(in_actions=False))
    assert str(missing) in str(failure.value)


@pytest.mark.timeout(120)
def test_build_requirements_that_cannot_be_installed_fail_the_build_in_uvs_words(
    tmp_path: Path, sandboxes: Path, index: IndexServer
) -> None:
    workspace = make_workspace(tmp_path, "hatch")
    pyproject = workspace / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('"hatchling"', '"pypi-release-no-such-backend==0.0.1"')
    )
    # The early install (the parent's uv) asks an index that has no such project.
    environ = {**os.environ, "UV_INDEX_URL": index.simple_url}
    pending = PendingBuild([workspace], workspace / "dist", environ, wheels=True)

    with pytest.raises(BuildError) as failure:
        pending.finish(Console(in_actions=False))
    message = failure.value.message
    assert message.startswith(
        f"Building the sdist of {workspace} failed: the build environment could not be made."
    )
    assert "pypi-release-no-such-backend" in message
    assert "What went wrong" in message  # uv's own sentence, picked out as the cause
    assert str(sandboxes) not in message  # the sandbox is the project's folder to the reader
    assert list(sandboxes.iterdir()) == []


@pytest.mark.timeout(180)
def test_a_build_stopped_while_a_hook_runs_leaves_no_hook_running(
    tmp_path: Path, sandboxes: Path
) -> None:
    """SIGTERM in the middle of a hook (the action's handler turns it into SystemExit in the
    main thread, as `_handle_sigterm` does): the hook goes with the worker, because the
    worker's whole process group is killed, not the worker alone."""
    marker, _, pending = _start_marking_build(tmp_path, linger=120)
    [worker] = pending._workers

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    def terminate_once_the_hook_runs() -> None:
        _wait_for(marker.exists)  # a hook is running the backend, which now sleeps
        os.kill(os.getpid(), signal.SIGUSR1)

    previous = signal.signal(signal.SIGUSR1, stop)
    try:
        threading.Thread(target=terminate_once_the_hook_runs, daemon=True).start()
        with pytest.raises(SystemExit):
            pending.finish(Console(in_actions=False))
    finally:
        signal.signal(signal.SIGUSR1, previous)

    _wait_for(lambda: not _running_in_group(worker.process.pid), seconds=10)
    assert list(sandboxes.iterdir()) == []


# -- hooks in waiting interpreters ---------------------------------------------------------

_PROBE = '''"""A hook script that says how it was run."""
MAIN = sorted(globals())
import json, os, sys
main = sys.modules["__main__"]
report = {
    "main": MAIN, "argv": sys.argv, "orig_argv": sys.orig_argv[1:], "path": sys.path,
    "cwd": os.getcwd(), "name": __name__, "file": __file__, "doc": __doc__,
    "loader": [type(__loader__).__name__, __loader__.name, __loader__.path],
    "builtins": type(__builtins__).__name__, "is_main": main.__dict__ is globals(),
    "spec": repr(__spec__), "stdin": sys.stdin.read(), "flags": list(sys.flags),
    "stdin_is_devnull": os.path.samestat(os.fstat(0), os.stat(os.devnull)),
    "executable": sys.executable, "environ": dict(os.environ),
    "warm": "csv" in sys.modules,  # preloaded, never imported by this script
}
with open(sys.argv[2], "w") as out:
    json.dump(report, out)
print("the probe ran")
raise SystemExit(int(sys.argv[3]))
'''


@pytest.fixture
def hook_env(tmp_path: Path) -> tuple[str, Path]:
    """A build environment's interpreter and the probe hook script."""
    make_environment(tmp_path / "env")
    script = tmp_path / "hooks" / "probe.py"
    script.parent.mkdir()
    script.write_text(_PROBE)
    return str(tmp_path / "env" / "bin" / "python"), script


def _probe(
    runner: _BackendRunner, python: str, script: Path, tmp_path: Path, name: str, **options: str
) -> dict[str, Any]:
    """Run the probe as hook `name` in a folder of that name; what it reported."""
    (tmp_path / name).mkdir()
    report = tmp_path / f"{name}.json"
    environ = {"HOOK_SETTING": options.get("setting", "1")}
    if "hook_variable" in options:  # as pyproject_hooks names the backend for its script
        environ["_PYPROJECT_HOOKS_BUILD_BACKEND"] = options["hook_variable"]
    runner([python, str(script), name, str(report), options.get("code", "0")],
           cwd=str(tmp_path / name), extra_environ=environ)  # fmt: skip
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def test_a_hook_in_a_waiting_interpreter_runs_as_it_would_in_a_fresh_one(
    tmp_path: Path, hook_env: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    python, script = hook_env
    runner = _BackendRunner(_Events(), final_hook="build_wheel")
    fresh = _probe(runner, python, script, tmp_path, "first")
    warm = _probe(runner, python, script, tmp_path, "second")

    assert (fresh["warm"], warm["warm"]) == (False, True)  # the second hook ran in the waiting one
    assert warm["argv"] == [str(script), "second", str(tmp_path / "second.json"), "0"]
    assert warm["orig_argv"] == warm["argv"]
    assert warm["cwd"] == str(tmp_path / "second")
    assert warm["stdin"] == ""
    assert warm["stdin_is_devnull"]  # as for a fresh hook
    assert warm["environ"]["HOOK_SETTING"] == "1"
    different = {"warm", "argv", "orig_argv", "cwd"}
    assert {k: v for k, v in warm.items() if k not in different} == {
        k: v for k, v in fresh.items() if k not in different
    }
    assert capsys.readouterr().out.count('"text": "the probe ran"') == 2  # its output relayed
    runner.discard_waiting()


def test_a_waiting_interpreter_is_not_used_for_another_environment_and_none_follows_the_last_hook(
    tmp_path: Path, hook_env: tuple[str, Path]
) -> None:
    python, script = hook_env
    runner = _BackendRunner(_Events(), final_hook="last")
    _probe(runner, python, script, tmp_path, "first")
    waiting = runner._waiting
    assert waiting is not None
    other = _probe(runner, python, script, tmp_path, "second", setting="2")
    assert not other["warm"]
    assert other["environ"]["HOOK_SETTING"] == "2"
    assert waiting.process.returncode is not None  # the unused one was stopped

    _probe(runner, python, script, tmp_path, "last")
    assert runner._waiting is None  # nothing waits after the build's last hook


def test_a_hook_that_fails_in_a_waiting_interpreter_fails_the_same_way(
    tmp_path: Path, hook_env: tuple[str, Path]
) -> None:
    python, script = hook_env
    runner = _BackendRunner(_Events(), final_hook="build_wheel")
    _probe(runner, python, script, tmp_path, "first")
    with pytest.raises(subprocess.CalledProcessError) as failed:
        _probe(runner, python, script, tmp_path, "second", code="3")
    assert failed.value.returncode == 3
    assert json.loads((tmp_path / "second.json").read_text())["warm"]
    assert list(runner.tail)[-1] == "the probe ran"
    runner.discard_waiting()


def test_an_install_between_hooks_is_seen_by_the_next_hook(
    tmp_path: Path, hook_env: tuple[str, Path]
) -> None:
    """What an install adds to the environment (here a .pth file, read when an interpreter
    starts) is seen by the next hook: the interpreter that waited from before is dropped."""
    python, script = hook_env
    runner = _BackendRunner(_Events(), final_hook="build_wheel")
    _probe(runner, python, script, tmp_path, "first")
    waiting = runner._waiting
    assert waiting is not None
    [site_packages] = (tmp_path / "env" / "lib").glob("python*/site-packages")
    (site_packages / "probe.pth").write_text("import os; os.environ['PTH_READ'] = 'yes'\n")
    runner.before_install()
    assert waiting.process.returncode is not None

    after = _probe(runner, python, script, tmp_path, "second")
    assert after["environ"].get("PTH_READ") == "yes"
    runner.discard_waiting()


def test_the_first_hook_runs_in_an_interpreter_started_without_site_as_in_a_fresh_one(
    tmp_path: Path, hook_env: tuple[str, Path]
) -> None:
    """started before "go" and before the install, it reads the environment (here a .pth
    file installed after it started) when its hook comes; the hook's own variables are set
    by then. Only sys.flags.no_site tells it apart from a fresh interpreter."""
    python, script = hook_env
    fresh = _probe(_BackendRunner(_Events(), final_hook="first"), python, script, tmp_path,
                   "fresh", hook_variable="probe")  # fmt: skip
    runner = _BackendRunner(_Events(), final_hook="first")
    runner.start_first(python, {"HOOK_SETTING": "1"})
    [site_packages] = (tmp_path / "env" / "lib").glob("python*/site-packages")
    pth = "import os; os.environ['PTH_READ'] = os.environ.get('_PYPROJECT_HOOKS_BUILD_BACKEND')"
    (site_packages / "probe.pth").write_text(pth + "\n")
    runner.before_install()  # an install: this one has read nothing yet, so it stays
    first = _probe(runner, python, script, tmp_path, "first", hook_variable="probe")

    assert (fresh["warm"], first["warm"]) == (False, True)
    assert first["environ"]["PTH_READ"] == "probe"  # read after the hook's variables were set
    no_site = list(sys.flags.__match_args__).index("no_site")
    assert first["flags"][no_site] == 1
    assert fresh["flags"][no_site] == 0
    first["flags"][no_site] = 0
    different = {"warm", "argv", "orig_argv", "cwd"}
    assert {k: v for k, v in first.items() if k not in different} == {
        k: v for k, v in fresh.items() if k not in different
    } | {"environ": {**fresh["environ"], "PTH_READ": "probe"}}
    assert runner._waiting is None  # the last hook: nothing waits after it


def test_the_first_hooks_interpreter_is_not_used_when_more_than_the_hooks_variables_differ(
    tmp_path: Path, hook_env: tuple[str, Path]
) -> None:
    python, script = hook_env
    runner = _BackendRunner(_Events(), final_hook="first")
    runner.start_first(python, {"HOOK_SETTING": "1"})
    waiting = runner._waiting
    assert waiting is not None
    other = _probe(runner, python, script, tmp_path, "first", setting="2", hook_variable="x")
    assert not other["warm"]
    assert waiting.process.returncode is not None  # the unused one was stopped


def test_a_waiting_interpreter_loads_nothing_from_the_workers_folder(
    tmp_path: Path, hook_env: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker runs in the project's folder; an interpreter started there with -c has it
    first on sys.path, where a project's csv.py would be loaded for the standard library's
    (and, before "go", run the project's code before the gate)."""
    python, script = hook_env
    project = tmp_path / "project"
    project.mkdir()
    (project / "csv.py").write_text(f"open({str(tmp_path / 'loaded')!r}, 'w').close()\n")
    monkeypatch.chdir(project)
    runner = _BackendRunner(_Events(), final_hook="third")
    runner.start_first(python, {"HOOK_SETTING": "1"})
    first = _probe(runner, python, script, tmp_path, "first")
    second = _probe(runner, python, script, tmp_path, "second")
    _probe(runner, python, script, tmp_path, "third")

    assert first["warm"]
    assert second["warm"]
    assert not (tmp_path / "loaded").exists()


def _pth_wheel(folder: Path, also: str = "") -> None:
    """A wheel `pth-probe` whose .pth file sets PTH_PROBE in every interpreter that starts
    after it is installed (and runs `also`, a statement)."""
    folder.mkdir()
    files = {
        "pth_probe.pth": f"import os; os.environ['PTH_PROBE'] = 'read'; {also}\n".encode(),
        "pth_probe-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: pth-probe\nVersion: 1.0\n",
        "pth_probe-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(
        f"{name},sha256={urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
        f"{len(data)}\n"
        for name, data in files.items()
    )
    with zipfile.ZipFile(folder / "pth_probe-1.0-py3-none-any.whl", "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
        wheel.writestr(
            "pth_probe-1.0.dist-info/RECORD", record + "pth_probe-1.0.dist-info/RECORD,,\n"
        )


@pytest.mark.timeout(180)
def test_a_requirement_the_backend_asks_for_is_there_for_its_next_hook(
    tmp_path: Path, sandboxes: Path
) -> None:
    """The sdist's extra requirement is installed between two hooks: the build hook sees it
    (an interpreter started before the install would not)."""
    project = tmp_path / "asking-sample"
    shutil.copytree(SAMPLES / "hatch", project)
    (project / "_backend").mkdir()
    (project / "_backend" / "asking_backend.py").write_text(
        "import os\n"
        "from hatchling.build import *  # noqa: F403\n"
        "from hatchling.build import build_sdist as _build_sdist\n"
        "def get_requires_for_build_sdist(config_settings=None):\n"
        "    return ['pth-probe']\n"
        "def build_sdist(sdist_directory, config_settings=None):\n"
        "    if os.environ.get('PTH_PROBE') != 'read':\n"
        "        raise RuntimeError('the hook does not see what was installed for it')\n"
        "    return _build_sdist(sdist_directory, config_settings)\n"
    )
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'build-backend = "hatchling.build"',
            'build-backend = "asking_backend"\nbackend-path = ["_backend"]',
        )
    )
    _pth_wheel(tmp_path / "wheels")
    workspace = make_workspace(tmp_path, project)
    environ = {**os.environ, "UV_FIND_LINKS": str(tmp_path / "wheels")}
    pending = PendingBuild([workspace], workspace / "dist", environ, wheels=True)

    [built] = pending.finish(Console(in_actions=False))

    assert built.sdist.name == "prt_hatch_sample-1.0.0.tar.gz"
    assert built.wheel is not None


@pytest.mark.timeout(180)
def test_the_first_hooks_interpreter_reads_the_environment_only_when_its_hook_comes(
    tmp_path: Path, sandboxes: Path
) -> None:
    """A build requirement's .pth file runs in no interpreter before "go"; every hook, the
    first included (its interpreter started before "go", without site), runs with it read,
    with the hook's own variables already set, as in a fresh interpreter."""
    marker = tmp_path / "backend-ran"
    project = marking_sample(tmp_path, marker)
    with (project / "_backend" / "marking_backend.py").open("a") as backend:
        backend.write(
            "import os\n"
            "if os.environ.get('PTH_PROBE') != 'read':\n"
            "    raise RuntimeError('the hook interpreter did not read the .pth file')\n"
        )
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"hatchling', '"pth-probe", "hatchling', 1))
    site_ran = tmp_path / "site-ran"
    _pth_wheel(
        tmp_path / "wheels",
        also=f"import sys; open({str(site_ran)!r}, 'a').write(' '.join(sys.argv[1:2] + "
        "[os.environ.get('_PYPROJECT_HOOKS_BUILD_BACKEND', '-')]) + '\\n')",
    )
    workspace = make_workspace(tmp_path, project)
    environ = {**os.environ, "UV_FIND_LINKS": str(tmp_path / "wheels")}
    pending = PendingBuild([workspace], workspace / "dist", environ, wheels=True)
    _wait_for(lambda: _installed(sandboxes, "pth_probe.pth"))
    [worker] = pending._workers
    _wait_for(
        lambda: any(
            "build-env" in argv[0]
            for argv in map(_command_line, _running_in_group(worker.process.pid))
        )
    )
    time.sleep(0.5)  # the first hook's interpreter has loaded what it loads ahead

    assert not site_ran.exists()  # no interpreter has read the .pth file yet
    [built] = pending.finish(Console(in_actions=False))

    assert built.wheel is not None  # every hook saw PTH_PROBE (the backend checks)
    # The first hook's interpreter read it with the hook's arguments and variables set, as a
    # fresh interpreter does when it starts (Python 3.11 runs a venv's .pth files twice).
    first = {line for line in site_ran.read_text().splitlines() if "for_build_sdist" in line}
    assert first == {"get_requires_for_build_sdist marking_backend"}


def _members(path: Path) -> dict[str, bytes]:
    """Every file in a wheel or sdist, by name, with its bytes."""
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            return {name: wheel.read(name) for name in wheel.namelist()}
    with tarfile.open(path) as sdist:
        return {
            m.name: sdist.extractfile(m).read()  # type: ignore[union-attr]
            for m in sdist.getmembers()
            if m.isfile()
        }


@pytest.mark.timeout(300)
@pytest.mark.parametrize("sample", ["flit", "hatch", "setuptools", "pdm", "poetry"])
def test_the_build_makes_what_python_m_build_makes(
    tmp_path: Path, sandboxes: Path, sample: str
) -> None:
    """Same files, same bytes in each, as `python -m build` with the same SOURCE_DATE_EPOCH:
    the hooks run as build runs them (warm interpreters, one environment for both)."""
    workspace = make_workspace(tmp_path, sample)
    pending = PendingBuild([workspace], tmp_path / "ours", os.environ, wheels=True)
    [ours] = pending.finish(Console(in_actions=False))
    environ = {**os.environ, "SOURCE_DATE_EPOCH": str(COMMIT_EPOCH)}
    subprocess.run(
        [sys.executable, "-m", "build", "--installer", "uv", "--outdir", tmp_path / "theirs",
         workspace], env=environ, check=True, capture_output=True,
    )  # fmt: skip

    assert ours.wheel is not None
    for mine in (ours.sdist, ours.wheel):
        theirs = tmp_path / "theirs" / mine.name
        assert _members(mine) == _members(theirs), mine.name


def test_a_waiting_interpreter_that_died_is_replaced_by_a_fresh_one(
    tmp_path: Path, hook_env: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    python, script = hook_env
    runner = _BackendRunner(_Events(), final_hook="build_wheel")
    _probe(runner, python, script, tmp_path, "first")
    assert runner._waiting is not None
    runner._waiting.process.kill()
    runner._waiting.process.wait()
    assert not _probe(runner, python, script, tmp_path, "second")["warm"]  # seen dead

    assert runner._waiting is not None
    dying = runner._waiting.process
    dying.kill()
    dying.wait()
    monkeypatch.setattr(dying, "poll", lambda: None)  # dies between the check and the hook
    assert not _probe(runner, python, script, tmp_path, "third")["warm"]
    runner.discard_waiting()

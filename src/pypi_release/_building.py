"""Build: the sdist, then the wheel from that sdist, like `python -m build`, in a process
that cannot reach the release's credentials.

The build runs the project's backend and whatever it installs: code from the index, in the
job that holds the credentials. So it runs in a worker process (`_build_worker.py`) with an
allow-listed environment (no credential variable, no file-command path, a HOME and TMPDIR of
its own). When the action runs as root (the container), the worker runs as an unprivileged
user in a private copy of the project, so it can read neither the action's process
(`/proc/<pid>/environ`, `/proc/<pid>/mem`) nor the file-command files, and the parent copies
the built files out. Everything the worker prints is outside data: quoted in the log, never
interpreted by the runner. The builds run in an isolated environment that uv installs: one
for the sdist, reused for the wheel when the unpacked sdist asks for the same requirements.
It is made, and the requirements pyproject.toml declares start installing, as soon as the
inputs are read (`PendingBuild`); the worker runs no hook before the gate has passed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._console import Console
from ._errors import BuildError
from ._ownership import replace_file

# The user the build runs as when the action is root: `nobody` exists in every image and owns
# nothing (GitHub's runner user, 1001, owns the workspace and the file-command files).
BUILD_UID = 65534
# What a build may see of the action's environment. Never: ACTIONS_*, INPUT_*, TWINE_*,
# GITHUB_TOKEN, the file-command paths, or anything named like a credential.
_ALLOWED = frozenset({
    "PATH", "LANG", "LANGUAGE", "TZ", "TERM", "CI", "SOURCE_DATE_EPOCH",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
    "no_proxy", "all_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "CC", "CXX", "CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "PKG_CONFIG_PATH",
    "MACOSX_DEPLOYMENT_TARGET",
})  # fmt: skip
_ALLOWED_PREFIXES = ("LC_", "PIP_", "UV_", "SETUPTOOLS_SCM_", "PDM_BUILD_SCM_", "HATCH_BUILD_")
_NEVER = re.compile(r"TOKEN|PASSWORD|SECRET|CREDENTIAL|AUTH", re.IGNORECASE)
_TAIL_LINES = 25


@dataclass(frozen=True)
class BuiltProject:
    path: Path
    sdist: Path
    wheel: Path | None  # None: build: sdist (the wheels come from elsewhere)


def source_date_epoch(path: Path, environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The timestamp archives should carry, and where it came from.

    An explicit SOURCE_DATE_EPOCH wins; otherwise the last commit's time, so rebuilding the
    same commit gives the same archives. Outside a git checkout (an unpacked sdist) there is
    none and the backend uses the current time.
    """
    if environ.get("SOURCE_DATE_EPOCH", "").strip():
        return environ["SOURCE_DATE_EPOCH"].strip(), "set in the environment"
    try:
        # The workspace belongs to the runner's user, not the container's: tell git it is safe.
        done = subprocess.run(
            ["git", "-c", "safe.directory=*", "-C", str(path), "log", "-1", "--format=%ct"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, "git is not available"
    stamp = done.stdout.strip()
    if done.returncode != 0 or not stamp.isdigit():
        return None, "not a git checkout with commits"
    return stamp, "time of the last commit"


def build_environment(
    environ: Mapping[str, str], home: Path, *, epoch: str | None, shared_cache: bool = False
) -> dict[str, str]:
    """The worker's whole environment: the allow-list, a HOME and TMPDIR of its own.
    `shared_cache` (the build runs as this same user): uv keeps using this user's cache, so
    build requirements are not downloaded again for every build."""
    env = {
        name: value
        for name, value in environ.items()
        if (name in _ALLOWED or name.startswith(_ALLOWED_PREFIXES)) and not _NEVER.search(name)
    }
    env.pop("SOURCE_DATE_EPOCH", None)
    if epoch:
        env["SOURCE_DATE_EPOCH"] = epoch
    env.setdefault("PATH", os.defpath)
    if shared_cache and "UV_CACHE_DIR" not in env and environ.get("HOME"):
        cache_root = environ.get("XDG_CACHE_HOME") or str(Path(environ["HOME"]) / ".cache")
        env["UV_CACHE_DIR"] = str(Path(cache_root) / "uv")
    env.update({"HOME": str(home), "TMPDIR": str(home / "tmp"), "USER": "pypi-release-build",
                "PYTHONDONTWRITEBYTECODE": "1"})  # fmt: skip
    return env


@dataclass(frozen=True)
class _Sandbox:
    """Where one build runs: its HOME, the source it reads, the folder it writes."""

    home: Path
    source: Path
    out: Path
    uid: int | None  # the unprivileged user it runs as; None: the action's own user


def _can_drop_privileges() -> bool:
    """Root, and the unprivileged user can run this Python and import the worker."""
    if os.geteuid() != 0:
        return False
    try:
        done = subprocess.run(
            [sys.executable, "-c", "import pypi_release._build_worker"],
            user=BUILD_UID, group=BUILD_UID, extra_groups=[], env={"PATH": os.defpath},
            cwd="/", capture_output=True, timeout=60, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _without_credentials(git_config: Path) -> None:
    """Drop what actions/checkout persisted from a copied .git/config: v4/v5's `extraheader`
    line (the token itself) and v6's `include`/`includeIf` sections (they name a credentials
    file in RUNNER_TEMP, which the build may not read: git would stop on it)."""
    if not git_config.is_file():
        return
    kept, skipping = [], False
    for line in git_config.read_text(errors="replace").splitlines(keepends=True):
        header = line.strip().lower()
        if header.startswith("["):
            skipping = header.startswith(("[include]", "[includeif", "[include "))
        if not skipping and "extraheader" not in line.lower():
            kept.append(line)
    git_config.write_text("".join(kept))


def _chown_tree(root: Path, uid: int) -> None:
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            os.lchown(Path(folder) / name, uid, uid)
    os.lchown(root, uid, uid)


# Where the runner keeps what the build must not read, named by the variables that locate
# them (so a self-hosted runner's paths count as much as the container's /github/...): the
# workspace (.git/config with checkout's token), RUNNER_TEMP (checkout v6's credentials file,
# earlier steps' scripts), HOME, and the folders of the event file and the file commands.
_FOLDER_VARIABLES = ("GITHUB_WORKSPACE", "RUNNER_TEMP", "HOME")
_FILE_VARIABLES = (
    "GITHUB_EVENT_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH",
    "GITHUB_STATE",
)  # fmt: skip


@dataclass(frozen=True)
class Closed:
    """The folders closed to the build while it runs, and those left open with the reason."""

    folders: tuple[Path, ...]
    left_open: tuple[tuple[Path, str], ...]


def _private_folders(environ: Mapping[str, str], projects: Sequence[Path]) -> list[Path]:
    found = [environ.get(name, "") for name in _FOLDER_VARIABLES]
    found += [str(Path(environ[name]).parent) for name in _FILE_VARIABLES if environ.get(name)]
    found += [str(p) for p in projects]
    found += [str(c.parent.parent) for p in projects if (c := _git_config(p)) is not None]
    folders: list[Path] = []
    for text in found:
        if text and Path(text).is_absolute() and Path(text).is_dir():
            folder = Path(text).resolve()
            if folder not in folders and folder != Path("/"):
                folders.append(folder)
    return folders


def _needed_by_the_build() -> list[Path]:
    """What the unprivileged build must still reach: this Python, its packages, the temp dir."""
    import uv

    return [Path(p).resolve() for p in (
        sys.executable, sys.prefix, sys.base_prefix, Path(__file__).parent, uv.find_uv_bin(),
        tempfile.gettempdir(),
    )]  # fmt: skip


@contextmanager
def _closed_to_others(folders: Sequence[Path]) -> Iterator[Closed]:
    """Take group and other permissions off `folders` while the build runs; the exact modes
    come back afterwards, whatever happens (a failed build, SIGTERM from a cancelled job).
    Root keeps its access; the owner (the runner's user) keeps its own."""
    needed = _needed_by_the_build()
    closed: list[tuple[Path, int]] = []
    left_open: list[tuple[Path, str]] = []
    previous = _handle_sigterm()
    try:
        for folder in folders:
            if any(n == folder or n.is_relative_to(folder) for n in needed):
                left_open.append((folder, "it holds the Python or temporary folder the build uses"))
                continue
            mode = stat.S_IMODE(folder.stat().st_mode)
            if mode & 0o077:
                folder.chmod(mode & 0o700)
                closed.append((folder, mode))
        yield Closed(tuple(f for f, _ in closed), tuple(left_open))
    finally:
        for folder, mode in reversed(closed):
            folder.chmod(mode)
        _restore_sigterm(previous)


def _handle_sigterm() -> object:
    """As pid 1 in a container, SIGTERM does nothing unless handled: turn it into an exit,
    so the modes are restored before the runner's SIGKILL."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, stop)


def _restore_sigterm(previous: object) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)  # type: ignore[arg-type]


@contextmanager
def _sandbox(project: Path, dist_dir: Path, *, drop: bool) -> Iterator[_Sandbox]:
    with tempfile.TemporaryDirectory(prefix="pypi-release-build-") as scratch:
        root = Path(scratch)
        home, out = root / "home", root / "out"
        (home / "tmp").mkdir(parents=True)
        out.mkdir()
        source = project
        if drop:
            # The project, copied: the backend writes into its tree (egg-info, build/), and
            # the workspace belongs to another user. The dist folder stays out of the copy.
            source = private_copy(project, root / "src", dist_dir)
            _chown_tree(root, BUILD_UID)
            root.chmod(0o755)
        yield _Sandbox(home, source, out, BUILD_UID if drop else None)


def private_copy(project: Path, into: Path, dist_dir: Path) -> Path:
    """Copy the git work tree `project` lives in (so a member of a monorepo versioned from the
    repository's tags builds as on a developer's machine), its .git with the credentials
    actions/checkout persisted dropped; returns where the project is in the copy. Outside the
    project's folder only what git tracks is copied: a big repository stays cheap."""
    config = _git_config(project)
    top = config.parent.parent if config is not None else project
    skip = dist_dir.resolve()

    def ignore(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if (Path(folder) / n).resolve() == skip]

    copy = into / top.name
    if top == project:
        shutil.copytree(project, copy, symlinks=True, ignore=ignore)
    else:
        shutil.copytree(top / ".git", copy / ".git", symlinks=True)
        for tracked in _tracked_files(top):
            if (top / tracked).is_relative_to(project):
                continue
            (copy / tracked).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(top / tracked, copy / tracked, follow_symlinks=False)
        shutil.copytree(
            project, copy / project.relative_to(top), symlinks=True, ignore=ignore,
            dirs_exist_ok=True,
        )  # fmt: skip
    _without_credentials(copy / ".git" / "config")
    return copy / project.relative_to(top)


def _tracked_files(top: Path) -> list[str]:
    names = _git_lines(top, "ls-files", "--cached") or []
    # Only regular files and links that exist (a deleted one is still in the index).
    return [n for n in names if os.path.lexists(top / n) and not (top / n).is_dir()]


def _relay(
    process: subprocess.Popen[str], console: Console, shown: Mapping[str, str]
) -> tuple[list[str], str, str]:
    """Print what the worker says, as outside data; returns the output's tail and its error.
    Private paths read as `shown` says (the private copy as the project's own folder)."""
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    error = hint = ""
    grouped = False
    assert process.stdout is not None

    def readable(text: str) -> str:
        for private, name in shown.items():
            text = text.replace(private, name)
        return text

    for raw in process.stdout:
        try:
            event = json.loads(raw)
            kind, text = str(event["kind"]), str(event.get("text", ""))[:10_000]
            noteworthy = event.get("mark") == "noteworthy"
        except (ValueError, KeyError, TypeError):
            kind, text, noteworthy = "output", raw.rstrip("\n")[:10_000], False
        text = readable(text)
        if kind == "group" and not grouped:
            console.open_group(text)
            grouped = True
        elif kind == "endgroup" and grouped:
            console.close_group()
            grouped = False
        elif kind == "error":
            error, hint = text, readable(str(event.get("hint", ""))[:10_000])
        elif kind == "output":
            tail.append(text)
            console.backend_output(text, noteworthy=noteworthy)
        else:
            console.quoted_line(text)
    if grouped:
        console.close_group()
    return list(tail), error, hint


def _take_outputs(
    out: Path, dist_dir: Path, project: Path, *, wheels: int
) -> tuple[Path, Path | None]:
    """The worker's one sdist and `wheels` (1 or 0) wheel, copied into dist-dir. Only regular
    files named like distributions count: the worker is not trusted to say what it built."""
    from ._distributions import kind_of  # loaded during the build (pipeline's warm-up)

    found: dict[str, list[Path]] = {"sdist": [], "wheel": []}
    for entry in sorted(out.iterdir()):
        kind = kind_of(entry.name)
        if kind is not None and stat.S_ISREG(entry.lstat().st_mode):
            found[kind].append(entry)
    if len(found["sdist"]) != 1 or len(found["wheel"]) != wheels:
        raise BuildError(
            f"Building {project} made {len(found['sdist'])} sdists and {len(found['wheel'])} "
            f"wheels, not one sdist and {wheels} wheel.",
            hint="Run `python -m build` in that folder to see what the backend writes.",
        )
    _make_dist_dir(dist_dir)
    sdist = _place(found["sdist"][0], dist_dir)
    return sdist, (_place(found["wheel"][0], dist_dir) if wheels else None)


def _make_dist_dir(dist_dir: Path) -> None:
    if dist_dir.is_symlink() or (dist_dir.exists() and not dist_dir.is_dir()):
        raise BuildError(
            f"The dist folder {dist_dir} is a symbolic link or not a folder: the built files "
            "would be written wherever it points.",
            hint="Remove it from the repository (or choose another dist-dir).",
        )
    dist_dir.mkdir(parents=True, exist_ok=True)


def _place(built: Path, dist_dir: Path) -> Path:
    """Copy `built` into dist_dir under its name, replacing whatever entry is there (a
    committed symlink included) without writing through it."""
    with built.open("rb") as source:
        return replace_file(dist_dir / built.name, lambda sink: shutil.copyfileobj(source, sink))


@dataclass
class _Worker:
    """One project's build, started: uv installing the declared build requirements into the
    environment made for it, and the worker, which waits for "go" on its stdin before it runs
    any hook."""

    path: Path
    epoch: str | None
    origin: str
    box: _Sandbox
    install: subprocess.Popen[bytes] | None  # None: nothing declared to install early
    process: subprocess.Popen[str]


def declared_requires(source: Path) -> list[str] | None:
    """build-system.requires as pyproject.toml lists it; None when it lists none (then the
    worker's reading, build's defaults included, decides and installs)."""
    try:
        import tomllib

        with (source / "pyproject.toml").open("rb") as file:
            table = tomllib.loads(file.read(1 << 20).decode())  # a project file, but bounded
        requires = table["build-system"]["requires"]
    except Exception:  # absent, unreadable, not TOML, no such table: the worker decides
        return None
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        return None
    return requires


def _start_worker(
    path: Path, dist_dir: Path, environ: Mapping[str, str], stack: ExitStack, *, drop: bool,
    wheels: bool,
) -> _Worker:  # fmt: skip
    import uv

    from ._build_worker import Prepared, make_environment

    epoch, origin = source_date_epoch(path, environ)
    box = stack.enter_context(_sandbox(path, dist_dir, drop=drop))
    env = build_environment(environ, box.home, epoch=epoch, shared_cache=box.uid is None)
    who: dict[str, Any] = {"user": box.uid, "group": box.uid,
                           "extra_groups": [] if box.uid is not None else None}  # fmt: skip
    # The environment, made here, and its declared requirements installing by uv (a download,
    # mostly) from now on, while the worker starts and the gate is checked: as the build's
    # user, with the build's environment, from the project's folder, as the worker would.
    root = box.home / "build-env"
    make_environment(root)
    if box.uid is not None:
        _chown_tree(root, box.uid)
    install = None
    if requires := declared_requires(box.source):
        with (box.home / "install.log").open("wb") as log:
            install = subprocess.Popen(
                [uv.find_uv_bin(), "pip", "install", *requires,
                 "--python", str(root / "bin" / "python")],
                cwd=box.source, env={**env, "VIRTUAL_ENV": str(root)},
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                process_group=0, **who,
            )  # fmt: skip
        stack.callback(_stop, install)
    prepared = Prepared(root, tuple(requires) if requires else None)
    process = subprocess.Popen(
        [sys.executable, "-m", "pypi_release._build_worker", str(box.source), str(box.out),
         *(() if wheels else ("--sdist-only",)), *prepared.arguments()],
        cwd=box.source, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, errors="replace",
        process_group=0,  # so that stopping it stops the hooks it started too
        **who,
    )  # fmt: skip
    stack.callback(_stop, process)  # before the sandbox is removed (last in, first out)
    return _Worker(path, epoch, origin, box, install, process)


def _stop(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """A worker still running when the build ends (a refusal, a failure, SIGTERM): it and
    everything it started are killed, before its sandbox is removed."""
    for stream in (process.stdin, process.stdout):
        with suppress(OSError):
            if stream is not None:
                stream.close()
    if process.poll() is None:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _finish_worker(
    worker: _Worker, dist_dir: Path, console: Console, *, wheels: bool
) -> BuiltProject:
    path, box, process = worker.path, worker.box, worker.process
    console.info(
        f"SOURCE_DATE_EPOCH={worker.epoch} ({worker.origin})"
        if worker.epoch
        else f"No SOURCE_DATE_EPOCH ({worker.origin}): archives carry the build time."
    )
    _wait_for_install(worker)
    assert process.stdin is not None
    with suppress(BrokenPipeError):  # a worker that failed early says why on stdout
        process.stdin.write("go\n")
        process.stdin.close()
    tail, error, hint = _relay(process, console, _shown(worker))
    code = process.wait()
    if code or error:
        raise _failure(path, error or f"the build process exited with {code}", hint, tail)
    sdist, wheel = _take_outputs(box.out, dist_dir, path, wheels=int(wheels))
    compare_sdist_with_git(path, sdist, console)
    return BuiltProject(path=path, sdist=sdist, wheel=wheel)


# What backends write into an sdist themselves (never in git): the metadata, setuptools'
# egg-info and the setup.cfg it adds.
_GENERATED = re.compile(r"PKG-INFO|setup\.cfg|(?:.*/)?[^/]+\.egg-info/.*")


def _git_lines(path: Path, *args: str) -> list[str] | None:
    try:
        done = subprocess.run(
            ["git", "-c", "safe.directory=*", "-C", str(path), args[0], "-z", *args[1:]],
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode:
        return None
    # surrogateescape: a name that is not UTF-8 still names its file (private_copy copies it)
    return [n for n in done.stdout.decode(errors="surrogateescape").split("\0") if n]


def compare_sdist_with_git(project: Path, sdist: Path, console: Console) -> None:
    """After the build: files in the sdist that git does not track at HEAD, or that differ
    from HEAD, in one warning (an earlier step may have left them; a generated version file
    is legitimate, so it is never a refusal). A version marked as built from a changed work
    tree names the changed files."""
    # loaded during the build (pipeline's warm-up)
    from ._distributions import built_from_changed_tree, sdist_files

    tracked = _git_lines(project, "ls-files", "--cached")
    changed = _git_lines(project, "diff", "--name-only", "--relative", "HEAD")
    if tracked is None or changed is None:
        return  # not a git checkout with a commit: nothing to compare with
    files, in_git, differ = sdist_files(sdist), set(tracked), set(changed)
    untracked = [f for f in files if f not in in_git and not _GENERATED.fullmatch(f)]
    modified = [f for f in files if f in differ]
    version = sdist.name.removesuffix(".tar.gz").rpartition("-")[2]
    if built_from_changed_tree(version):
        everywhere = _git_lines(project, "diff", "--name-only", "HEAD", ":/") or changed
        console.warning(
            f"The version {version} says the work tree differed from the commit when it was "
            f"built (the .dYYYYMMDD mark): changed since HEAD: {_some(everywhere)}. Build from "
            "the commit as it is (an earlier step changed these files), or commit them.",
            title="Built from a changed work tree",
        )
    if untracked or modified:
        said = []
        if untracked:
            said.append(f"not tracked by git: {_some(untracked)}")
        if modified:
            said.append(f"changed since HEAD: {_some(modified)}")
        console.warning(
            f"{sdist.name} holds files that are not the commit's: {'; '.join(said)}. Files an "
            "earlier step generated on purpose (a version file) are fine; anything else was "
            "left in the workspace and would be published.",
            title="The sdist differs from git",
        )


def _some(names: Sequence[str], count: int = 10) -> str:
    shown = ", ".join(" ".join(n.split())[:200] for n in names[:count])
    return shown + (f" and {len(names) - count} more" if len(names) > count else "")


def _failure(path: Path, error: str, hint: str, tail: Sequence[str]) -> BuildError:
    # The worker's own message carries the backend's last lines; a crash of the worker keeps
    # its traceback in the log, not in the annotation.
    text = (
        error
        if "Last lines" in error or not tail
        else error + "\nLast lines of the output:\n" + "\n".join(tail)
    )
    return BuildError(
        text if text.startswith("Building") else f"Building {path} failed: {text}",
        hint=hint
        if hint and not hint.startswith("Traceback")
        else "Run `python -m build` in that folder to reproduce; the full log is above.",
    )


# actions/checkout v6: `[includeIf "gitdir:..."] path = $RUNNER_TEMP/git-credentials-<uuid>.config`
_CHECKOUT_V6_INCLUDE = re.compile(r"^\s*path\s*=\s*(\S*git-credentials-[^\s/]*\.config)", re.M)


def _warn_about_persisted_credentials(paths: Sequence[Path], console: Console) -> None:
    for config in dict.fromkeys(c for p in paths if (c := _git_config(p)) is not None):
        text = config.read_text(errors="replace")
        if "extraheader" in text.lower():
            where = f"{config} holds the token actions/checkout persisted (http.*.extraheader)"
        elif files := _CHECKOUT_V6_INCLUDE.findall(text):
            where = (
                f"{config} includes {files[-1]}, where actions/checkout v6 persisted the "
                "job's token (in RUNNER_TEMP)"
            )
        else:
            continue
        console.warning(
            f"{where}: code the build runs could read it wherever it runs as this user. Give "
            "actions/checkout `persist-credentials: false` (this action does not need it).",
            title="Checkout credentials persisted",
        )


def _git_config(path: Path) -> Path | None:
    for folder in (path, *path.parents):
        if (folder / ".git" / "config").is_file():
            return folder / ".git" / "config"
    return None


def _shown(worker: _Worker) -> dict[str, str]:
    """How the build's private paths read in the log: the private copy is the project's
    folder; the build's own HOME (its TMPDIR and environment inside) is gone after the run,
    so it is named, not shown."""
    return {str(worker.box.source): str(worker.path), str(worker.box.home): "$HOME"}


def _wait_for_install(worker: _Worker) -> None:
    """The early install of the declared build requirements, finished; its failure is the
    build's, worded as the worker words it (uv's output says why)."""
    if worker.install is None or worker.install.wait() == 0:
        return
    from ._build_worker import build_failure

    with (worker.box.home / "install.log").open("rb") as log:
        log.seek(0, os.SEEK_END)
        log.seek(max(0, log.tell() - 64 * 1024))  # its end says why; bounded
        output = log.read().decode(errors="replace")
    for private, shown in _shown(worker).items():
        output = output.replace(private, shown)
    raise build_failure(worker.path, "sdist", "the build environment could not be made", output)


class PendingBuild:
    """The builds, started as soon as the inputs are read: each project's worker makes its
    environment and installs the declared build requirements (a download, mostly) while the
    release goes through its credentials and the deployment gate, then waits. `finish` (once
    the gate has passed) lets the workers run the backends, one project after another, and
    prints what they say; `cancel` stops them and removes everything they made. Nothing of
    the project runs before `finish`: only uv, installing what pyproject.toml asks for."""

    def __init__(
        self, paths: Sequence[Path], dist_dir: Path, environ: Mapping[str, str], *, wheels: bool
    ) -> None:
        self._paths, self._dist_dir, self._wheels = tuple(paths), dist_dir, wheels
        self._stack = ExitStack()
        self._workers: list[_Worker] = []
        self._closed: Closed | None = None
        self._failure: Exception | None = None
        try:
            drop = _can_drop_privileges()
            if drop:
                folders = _private_folders(environ, paths)
                self._closed = self._stack.enter_context(_closed_to_others(folders))
            for path in paths:
                self._workers.append(
                    _start_worker(path, dist_dir, environ, self._stack, drop=drop, wheels=wheels)
                )
        except Exception as failure:  # reported by `finish`, in the build's place in the log
            self._failure = failure
            self._stack.close()

    def finish(self, console: Console) -> list[BuiltProject]:
        """Each project's sdist, and its wheel built from that sdist, in dist-dir."""
        with self._stack:
            if self._failure is not None:
                raise self._failure
            self._describe(console)
            built: list[BuiltProject] = []
            for worker in self._workers:
                project = _finish_worker(worker, self._dist_dir, console, wheels=self._wheels)
                for earlier in built:
                    if earlier.sdist.name == project.sdist.name:
                        raise BuildError(
                            f"The paths {earlier.path} and {worker.path} build the same "
                            f"project ({project.sdist.name}).",
                            hint="List each project once in 'path'.",
                        )
                built.append(project)
            return built

    def cancel(self) -> None:
        """Stop what is still running and remove it (nothing after `finish`)."""
        self._stack.close()

    def _describe(self, console: Console) -> None:
        _warn_about_persisted_credentials(self._paths, console)
        if self._closed is None:
            console.info(
                "The build runs in a process of its own with no credential in its "
                "environment, as this user: it can read what this user can (the workspace's "
                ".git/config, RUNNER_TEMP, HOME). Run as root (the container) for a build that "
                "cannot; see docs/security.md."
            )
            return
        console.info(
            f"The build runs as uid {BUILD_UID} in a private copy of the project, with no "
            "credential in its environment; closed to it while it runs: "
            + (", ".join(str(f) for f in self._closed.folders) or "nothing else needed closing")
            + "."
        )
        for folder, why in self._closed.left_open:
            console.warning(
                f"{folder} stays readable by the build: {why}.",
                title="A private folder stays open to the build",
            )

"""The build, run in a process of its own: the only code that runs the project's build
backend and the tools it installs (code from the index, at build time).

The parent (`_building.py`) starts this module with an allow-listed environment (no
credential of any kind), a HOME and TMPDIR of its own, and, when the action runs as root, as
an unprivileged user in a private copy of the project. It reports back in JSON lines on
stdout; the parent trusts none of it: it takes the built files from the output folder
itself, and prints every line as outside data.

    python -m pypi_release._build_worker SOURCE OUTDIR [--sdist-only]
        [--env ENV --installed JSON]   (an environment the parent made, and what it installed)

It reads the project and adopts (or makes) its environment at once, then waits for a line
"go" on stdin before it runs any hook: the parent sends it once the deployment gate has
passed. End of input instead of "go" ends the worker quietly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import traceback
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ._errors import BuildError

if TYPE_CHECKING:
    # Imported where first needed: the environment is made and its requirements start
    # installing while these load (a tenth of a second).
    from build import ProjectBuilder

Distribution = Literal["sdist", "wheel"]
_TAIL_LINES = 25


class _Events:
    """What the worker tells the parent: one JSON object a line."""

    def __init__(self) -> None:
        self._out = sys.stdout

    def _send(self, **event: str) -> None:
        self._out.write(json.dumps(event) + "\n")
        self._out.flush()

    def info(self, text: str) -> None:
        self._send(kind="info", text=text)

    def output(self, text: str, *, noteworthy: bool = False) -> None:
        self._send(kind="output", text=text, **({"mark": "noteworthy"} if noteworthy else {}))

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        self._send(kind="group", text=title)
        try:
            yield
        finally:
            self._send(kind="endgroup", text="")

    def error(self, message: str, hint: str) -> None:
        self._send(kind="error", text=message, hint=hint)


# Lines that say what went wrong, in the words backends, compilers and installers use: a
# Python exception, "error:" (gcc's "file.c:3: fatal error: ...", setuptools' "error: ..."),
# uv's and pip's resolution failures. The failure's excerpt shows them beside the last lines,
# which often are only the traceback's frames or "subprocess exited with error".
_CAUSE = re.compile(
    r"^\s*(?:[\w.]*(?:Error|Exception)\b\s*:"
    r"|.*\b(?:fatal )?error\b\s*[:(]"
    r"|.*\bNo (?:matching distribution|solution found|module named)\b"
    r"|.*\bBecause\b.*\b(?:we can conclude|unsatisfiable)\b"
    r"|[\u00d7\u2570])",  # the two signs uv marks its failure and its cause with
    re.IGNORECASE,
)
_CAUSE_LINES = 8
# A warning in the words backends use ("warning: no files found", "SetuptoolsWarning: ...").
_WARNING = re.compile(r"^\s*[\w.]*warning\s*:", re.IGNORECASE)
# A build that needs a compiler the image does not have (on purpose: wheels with compiled
# code for PyPI are built per platform by cibuildwheel): setuptools, meson, CMake, Rust.
_COMPILERS = r"(?:[\w.-]*-)?(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+|gfortran)"
_NO_COMPILER = re.compile(
    rf"command '{_COMPILERS}' failed: No such file"
    rf"|No such file or directory: '{_COMPILERS}'"
    rf"|unable to execute '{_COMPILERS}'"
    r"|Unknown compiler\(s\)|No CMAKE_C(?:XX)?_COMPILER could be found"
    r"|linker `cc` not found|can't find Rust compiler",
    re.IGNORECASE,
)
NO_COMPILER_HINT = (
    "This action's image has no compiler, on purpose: wheels with compiled code are built for "
    "each platform (manylinux, musllinux, macOS, Windows) by cibuildwheel. Build them in a "
    "cibuildwheel matrix and set build: sdist here (this job builds the sdist and publishes it "
    "with those wheels), or build everything in other jobs and set build: false."
)


def cause_lines(lines: Iterable[str]) -> list[str]:
    """The last few distinct lines of `lines` that state a cause."""
    found: dict[str, None] = {}
    for line in lines:
        if _CAUSE.match(line) and line.strip():
            found.pop(line, None)
            found[line] = None
    return list(found)[-_CAUSE_LINES:]


# compileall behind the hooks on the CPU (nice 10): it only saves the later hooks time.
_COMPILE = (
    "import compileall, os, sys; os.nice(10); "
    "sys.exit(not compileall.compile_dir(sys.argv[1], quiet=1, workers=1))"
)


def make_environment(root: Path) -> None:
    """An empty venv of this interpreter at `root`, for uv to fill (here, or by the parent
    before this process starts). The stdlib's venv, in process: a few milliseconds, where
    `uv venv` would start a process and ask the interpreter about itself first."""
    import venv

    venv.EnvBuilder(symlinks=True, with_pip=False).create(root)


class _UvEnvironment:
    """The isolated build environment (build's `IsolatedEnv`): a venv of this interpreter
    filled by `uv pip install`, as build's own uv installer makes it. Usually the parent made
    it and installed the declared requirements before this process had even started
    (`installed`); otherwise `create` makes one here."""

    def __init__(self, root: Path, installed: Collection[str] | None = None) -> None:
        import uv

        self._uv = uv.find_uv_bin()
        self.root = root
        self.bin = root / "bin"
        self._installed = frozenset(installed) if installed is not None else None
        self._compiling: subprocess.Popen[bytes] | None = None
        if not Path(self.python_executable).exists():
            raise RuntimeError(f"the build environment has no interpreter at {root}")

    @classmethod
    def create(cls, root: Path) -> _UvEnvironment:
        make_environment(root)
        return cls(root)

    @property
    def python_executable(self) -> str:
        return str(self.bin / "python")

    def make_extra_environ(self) -> dict[str, str]:
        # As build's: the environment's scripts first on PATH, no PYTHONPATH from outside.
        path = os.environ.get("PATH")
        return {
            "PATH": os.pathsep.join([str(self.bin), path]) if path else str(self.bin),
            "PYTHONPATH": "",
        }

    def install(self, requirements: Collection[str]) -> None:
        if requirements:
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            env["VIRTUAL_ENV"] = str(self.root)
            command = [
                self._uv,
                "pip",
                "install",
                *requirements,
                "--python",
                self.python_executable,
            ]
            done = subprocess.run(
                command, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False
            )
            if done.returncode:
                raise subprocess.CalledProcessError(
                    done.returncode, command, done.stdout, done.stderr
                )
        self._compile_in_background()

    def install_build_system(self, requirements: Collection[str]) -> None:
        """The build-system requirements: installed already when they are what the parent
        installed (read from pyproject.toml the same way), else installed now."""
        if self._installed is not None and frozenset(requirements) == self._installed:
            self._compile_in_background()
            return
        self.install(requirements)

    def _compile_in_background(self) -> None:
        """Compile what was installed while the first hook runs. Every hook is a new process
        that imports the backend, and the hooks do not write bytecode (PYTHONDONTWRITEBYTECODE:
        not into the project's tree), so without this each one compiles the backend again
        (setuptools: a fifth of a second each). Written atomically: a hook that starts
        meanwhile reads either no bytecode or whole bytecode."""
        self.stop_compiling()
        self._compiling = subprocess.Popen(
            [self.python_executable, "-c", _COMPILE, str(self.root / "lib")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop_compiling(self) -> None:
        """No more hooks in this environment: the compile is of no use any more (it writes
        each file atomically, so stopping it leaves nothing half-written)."""
        if self._compiling is not None:
            self._compiling.kill()
            self._compiling.wait()
            self._compiling = None


@contextmanager
def _environment(prepared: Prepared | None = None) -> Iterator[_UvEnvironment]:
    """The environment the parent `prepared` (the parent removes it, with the whole sandbox),
    or a fresh one, removed afterwards."""
    if prepared is not None:
        env = _UvEnvironment(prepared.root, prepared.installed)
    else:
        env = _UvEnvironment.create(Path(tempfile.mkdtemp(prefix="build-env-")))
    try:
        yield env
    finally:
        env.stop_compiling()
        if prepared is None:
            shutil.rmtree(env.root, ignore_errors=True)


@dataclass(frozen=True)
class Prepared:
    """An environment the parent made: where, and what it installed into it (None: nothing
    was declared, or it could not tell)."""

    root: Path
    installed: tuple[str, ...] | None

    def arguments(self) -> list[str]:
        return ["--env", str(self.root), "--installed", json.dumps(self.installed)]

    @classmethod
    def from_arguments(cls, argv: Sequence[str]) -> Prepared | None:
        if "--env" not in argv:
            return None
        root = Path(argv[argv.index("--env") + 1])
        installed = json.loads(argv[argv.index("--installed") + 1])
        return cls(root, tuple(installed) if installed is not None else None)


# Standard-library modules that pyproject_hooks' hook script and the common backends'
# hooks (setuptools, hatchling, flit-core, pdm-backend, poetry-core) import: more than half
# of a hook's start-up (flit-core: 35 of 60 ms). A waiting interpreter loads them while the
# hook before it runs. Only the standard library: nothing the project chose, and nothing
# whose import reads the hook's folder (the waiting interpreter has the hook's environment,
# not yet its folder).
_PRELOAD = (
    "json", "re", "shutil", "traceback", "glob", "importlib.machinery", "importlib.util",
    "warnings", "zipfile", "ast", "base64", "bisect", "calendar", "contextlib", "copy", "csv",
    "dataclasses", "datetime", "email.headerregistry", "email.message", "email.parser",
    "email.utils", "fnmatch", "gzip", "hashlib", "inspect", "ipaddress", "locale", "logging",
    "lzma", "bz2", "pathlib", "platform", "random", "string", "subprocess", "tarfile",
    "tempfile", "textwrap", "tokenize", "typing", "urllib.parse",
)  # fmt: skip

# pyproject_hooks' variables for its hook script (which backend, its path): set by the hook's
# caller, read by the script, not by Python as it starts.
_HOOK_VARIABLES = "_PYPROJECT_HOOKS_"

# The waiting interpreter: loads the modules named on its command line, then reads one JSON
# line {"argv": [SCRIPT, ARGS...], "cwd": FOLDER} and becomes `python SCRIPT ARGS...` run in
# FOLDER: the script as __main__, its folder first on sys.path, stdin /dev/null. End of input
# instead (no hook came) ends it. `-c` put its folder ('': the worker's, the project's) first
# on sys.path: out before anything is loaded, or a project's csv.py would be loaded for the
# standard library's. Started with -S (before "go"), it has not read the build environment's
# site-packages yet: the line then also carries "site" and the hook's own variables ("env",
# set first, as they would be when the interpreter starts), and site runs where a fresh
# interpreter runs it, before the script's folder is on sys.path.
_WAITING = """\
import sys
del sys.path[0]
import os
for name in sys.argv[1:]:
    try:
        __import__(name)
    except Exception:  # not loaded here: the hook imports it itself, as a fresh one would
        pass
import importlib.machinery, json, types
line = b""
while not line.endswith(b"\\n"):
    chunk = os.read(0, 65536)
    if not chunk:
        os._exit(0)
    line += chunk
command = json.loads(line)
null = os.open(os.devnull, os.O_RDONLY)
os.dup2(null, 0)
os.close(null)
os.chdir(command["cwd"])
sys.argv = list(command["argv"])
sys.orig_argv = [sys.orig_argv[0], *sys.argv]
if command.get("site"):
    os.environ.update(command["env"])
    import site
    site.main()
sys.path.insert(0, os.path.dirname(os.path.realpath(sys.argv[0])))
main = types.ModuleType("__main__")
main.__file__, main.__cached__, main.__builtins__ = sys.argv[0], None, __builtins__
main.__annotations__ = {}
main.__loader__ = importlib.machinery.SourceFileLoader("__main__", sys.argv[0])
sys.modules["__main__"] = main
with open(sys.argv[0], "rb") as script:
    code = compile(script.read(), sys.argv[0], "exec")
exec(code, main.__dict__)
"""


@dataclass
class _Waiting:
    """An interpreter started ahead of a hook, for that interpreter and environment; with
    `site_later`, started without site (-S): it has read nothing of the build environment."""

    process: subprocess.Popen[str]
    python: str
    env: dict[str, str]
    site_later: bool = False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with suppress(OSError):  # a line it never read: the pipe is broken
                    stream.close()


class _BackendRunner:
    """Runs backend hooks with their output streamed into the log; keeps its tail and the
    lines that state a cause.

    Each hook is a new interpreter, as `python -m build` runs it. While one hook runs, the
    next one's interpreter starts and loads `_PRELOAD` (`_WAITING`), so the next hook starts
    warm; it is used only for the same interpreter and the very same environment, and
    discarded (`before_install`) whenever the build environment changes: an interpreter
    reads the environment's .pth files when it starts. The first hook's interpreter starts
    before "go" (`start_first`), without site: it reads the environment when its hook comes,
    as a fresh one would when starting."""

    def __init__(self, console: _Events, final_hook: str) -> None:
        self._console = console
        self._final_hook = final_hook
        self._waiting: _Waiting | None = None
        self.tail: deque[str] = deque(maxlen=_TAIL_LINES)
        self.causes: deque[str] = deque(maxlen=_CAUSE_LINES * 4)
        # Private folders as the reader knows them: the unpacked sdist is the project's
        # folder (its files are the project's); nobody can look inside our temporary folder.
        self.shown: dict[str, str] = {}

    def readable(self, text: str) -> str:
        for private, shown in self.shown.items():
            text = text.replace(private, shown)
        return text

    def __call__(
        self,
        cmd: Sequence[str],
        cwd: str | None = None,
        extra_environ: Mapping[str, str] | None = None,
    ) -> None:
        env = {**os.environ, **(extra_environ or {})}  # the worker's environment: allow-listed
        process = self._take_waiting(cmd, cwd, env)
        if process is None:
            process = self._start(list(cmd), cwd, env, stdin=subprocess.DEVNULL)
        if len(cmd) < 3 or cmd[2] != self._final_hook:  # another hook follows this one
            ahead = self._start(
                [cmd[0], "-c", _WAITING, *_PRELOAD], None, env, stdin=subprocess.PIPE
            )
            self._waiting = _Waiting(ahead, cmd[0], env)
        with process:
            assert process.stdout is not None
            for raw in process.stdout:
                line = self.readable(raw.rstrip())
                self.tail.append(line)
                cause = bool(_CAUSE.match(line))
                if cause:
                    self.causes.append(line)
                self._console.output(line, noteworthy=cause or bool(_WARNING.match(line)))
            code = process.wait()
        if code:
            raise subprocess.CalledProcessError(code, list(cmd))

    @staticmethod
    def _start(
        cmd: list[str], cwd: str | None, env: dict[str, str], *, stdin: int
    ) -> subprocess.Popen[str]:
        # stdin: never the worker's own (the parent's "go"); a waiting interpreter reads its
        # hook from a pipe, then has /dev/null
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=stdin,
            text=True,
            errors="replace",
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def start_first(self, python: str, extra_environ: Mapping[str, str]) -> None:
        """The first hook's interpreter, started while the build waits for "go": with -S, so
        that it loads only the standard library and reads nothing of the build environment
        (no .pth file, no sitecustomize) before its hook comes; `extra_environ` as the hooks
        get it (the hook's own variables come with the hook)."""
        self.discard_waiting()
        env = {**os.environ, **extra_environ}
        process = self._start(
            [python, "-S", "-c", _WAITING, *_PRELOAD], None, env, stdin=subprocess.PIPE
        )
        self._waiting = _Waiting(process, python, env, site_later=True)

    def _take_waiting(
        self, cmd: Sequence[str], cwd: str | None, env: dict[str, str]
    ) -> subprocess.Popen[str] | None:
        """The waiting interpreter, told to run `cmd`, if it was started for this one."""
        waiting, self._waiting = self._waiting, None
        if waiting is None:
            return None
        if waiting.python != cmd[0] or waiting.process.poll() is not None:
            waiting.stop()
            return None
        command: dict[str, object] = {"argv": list(cmd[1:]), "cwd": cwd or str(Path.cwd())}
        if waiting.site_later:
            # It started with the environment minus the hook's own variables, which it sets
            # before site runs; none of them is one that Python reads when it starts.
            added = {k: v for k, v in env.items() if waiting.env.get(k) != v}
            hooks_own = all(name.startswith(_HOOK_VARIABLES) for name in added)
            if waiting.env.keys() - env.keys() or not hooks_own:
                waiting.stop()
                return None
            command |= {"site": True, "env": added}
        elif waiting.env != env:
            waiting.stop()
            return None
        assert waiting.process.stdin is not None
        try:
            waiting.process.stdin.write(json.dumps(command) + "\n")
            waiting.process.stdin.close()
        except OSError:  # it died meanwhile: a fresh interpreter instead
            waiting.stop()
            return None
        return waiting.process

    def before_install(self) -> None:
        """The build environment is about to change: an interpreter that has read it already
        would not see what is installed now (one started without site has not)."""
        if self._waiting is not None and not self._waiting.site_later:
            self.discard_waiting()

    def discard_waiting(self) -> None:
        """No hook will come for the waiting interpreter: stop it."""
        if self._waiting is not None:
            self._waiting.stop()
            self._waiting = None


@contextmanager
def _reporting(source: Path, distribution: str, runner: _BackendRunner) -> Iterator[None]:
    """Turn what `build`, uv and the backend raise into one BuildError with the output's tail."""
    try:
        yield
    except subprocess.CalledProcessError as exc:
        # uv failing to install a build requirement: its own output says why.
        output = b"".join(o for o in (exc.stdout, exc.stderr) if isinstance(o, bytes))
        text = output.decode(errors="replace") if output else "\n".join(runner.tail)
        raise build_failure(
            source, distribution, "the build environment could not be made", text
        ) from exc
    except tarfile.TarError as exc:  # an sdist whose entries would land outside its folder
        raise build_failure(
            source, distribution, f"the sdist cannot be unpacked safely: {exc}", ""
        ) from exc
    except Exception as exc:
        # build is imported once the environment is on its way, not for this `with`
        from build import BuildBackendException, BuildException

        if isinstance(exc, BuildBackendException):
            raise build_failure(
                source, distribution, str(exc), "\n".join(runner.tail), runner.causes
            ) from exc
        if isinstance(exc, BuildException | RuntimeError):
            raise build_failure(source, distribution, str(exc), "") from exc
        raise


def _build_in(
    env: _UvEnvironment,
    builder: ProjectBuilder,
    distribution: Distribution,
    outdir: Path,
    runner: _BackendRunner,
    console: _Events,
    *,
    install_system_requires: bool,
) -> Path:
    source = Path(builder.source_dir)
    with _reporting(source, distribution, runner):
        if install_system_requires:
            requires = sorted(builder.build_system_requires)
            console.info(f"Installing build requirements: {', '.join(requires) or '(none)'}")
            runner.before_install()
            env.install_build_system(requires)
        extra = sorted(builder.get_requires_for_build(distribution))
        if extra:
            console.info(f"Installing {distribution} requirements: {', '.join(extra)}")
            runner.before_install()
            env.install(extra)
        built = Path(builder.build(distribution, outdir))
    if not built.is_file():
        raise build_failure(
            source,
            distribution,
            f"the backend named {built.name} but wrote no such file",
            "\n".join(runner.tail),
        )
    return built


def build_failure(
    source: Path, distribution: str, why: str, output: str, seen: Iterable[str] = ()
) -> BuildError:
    """The error, with the lines of the output that state its cause (`seen` while it
    streamed, and in `output`), then the output's last lines."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    causes = cause_lines([*seen, *lines])
    tail = "\n".join(lines[-_TAIL_LINES:])
    return BuildError(
        f"Building the {distribution} of {source} failed: {why}."
        + (("\nWhat went wrong, as the output says it:\n" + "\n".join(causes)) if causes else "")
        + (f"\nLast lines of the output:\n{tail}" if tail else ""),
        hint="Run `python -m build` in that folder to reproduce; "
        "the full log is in the group above.",
    )


def _extract_safely(archive: tarfile.TarFile, into: Path) -> None:
    """Unpack only inside `into`: the "data" filter where Python has it (3.11.4+), else the
    same rules checked by hand (Debian 12's Python is 3.11.2)."""
    if hasattr(tarfile, "data_filter"):
        archive.extractall(into, filter="data")
        return
    # By hand, links are refused outright: a symlink member followed by a member written
    # "through" it is the classic escape, and no backend needs a link in an sdist.
    root = into.resolve()
    for member in archive.getmembers():
        target = (root / member.name).resolve()
        if member.issym() or member.islnk() or member.isdev() or not target.is_relative_to(root):
            raise BuildError(
                f"The sdist has an entry that is a link or would land outside its folder: "
                f"{member.name!r}.",
                hint="An sdist must only contain files under NAME-VERSION/; check the backend.",
            )
    archive.extractall(into)  # noqa: S202 (every member was checked above)


def _unpack_sdist(sdist: Path, into: Path) -> Path:
    try:
        with tarfile.open(sdist, "r:gz") as archive:
            _extract_safely(archive, into)
    except (tarfile.TarError, OSError) as exc:
        raise BuildError(
            f"The sdist {sdist.name} cannot be unpacked safely: {exc}.",
            hint="An sdist must only contain files under NAME-VERSION/; check the backend.",
        ) from exc
    roots = [entry for entry in into.iterdir() if entry.is_dir()]
    if len(roots) != 1:
        raise BuildError(
            f"The sdist {sdist.name} does not unpack into one top-level folder.",
            hint="An sdist must contain a single NAME-VERSION/ folder; check the build backend.",
        )
    return roots[0]


def _wait_for_go() -> None:
    """The parent says "go" once the release may run the project's code (the deployment gate
    passed); anything else (it closed the pipe: the release stopped) ends the worker here,
    before any hook. os._exit: the requirements' install may still be running in its thread,
    and the parent removes everything this worker made."""
    if sys.stdin.readline().strip() != "go":
        os._exit(0)


def build_project(
    path: Path,
    dist_dir: Path,
    console: _Events,
    *,
    wheel: bool = True,
    prepared: Prepared | None = None,
) -> tuple[Path, Path | None]:
    """The sdist, then (`wheel`) the wheel from it, into `dist_dir`. An error names the
    project's folder, never the temporary one its sdist was unpacked into."""
    runner = _BackendRunner(console, final_hook="build_wheel" if wheel else "build_sdist")
    try:
        return _build_project(path, dist_dir, console, runner, wheel=wheel, prepared=prepared)
    except BuildError as error:
        raise _readable(error, runner) from error
    finally:
        runner.discard_waiting()


def _readable(error: BuildError, runner: _BackendRunner) -> BuildError:
    message = runner.readable(error.message)
    if _NO_COMPILER.search(message):
        said = " failed: it compiles code, and there is no compiler here: "
        return BuildError(message.replace(" failed: ", said, 1), hint=NO_COMPILER_HINT)
    return BuildError(message, hint=runner.readable(error.hint))


def _build_project(
    path: Path,
    dist_dir: Path,
    console: _Events,
    runner: _BackendRunner,
    *,
    wheel: bool,
    prepared: Prepared | None,
) -> tuple[Path, Path | None]:
    dist_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        unpacked = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pypi-release-")))
        with _reporting(path, "sdist", runner):
            env = stack.enter_context(_environment(prepared))
            from build import ProjectBuilder

            builder = ProjectBuilder.from_isolated_env(env, path, runner=runner)
            runner.start_first(env.python_executable, env.make_extra_environ())
        _wait_for_go()
        with console.group(f"Build sdist of {path}"):
            sdist = _build_in(
                env, builder, "sdist", dist_dir, runner, console, install_system_requires=True
            )
        console.info(f"Built {sdist.name}")
        if not wheel:
            return sdist, None
        # The wheel comes from the sdist, so a file missing from the sdist breaks the build now,
        # not a user's install later. It reuses the sdist's environment when the unpacked sdist
        # asks for the same build-system requirements (it nearly always does): one environment
        # to make and fill instead of two.
        source = _unpack_sdist(sdist, unpacked)
        runner.shown[str(source)] = str(path)
        with _reporting(source, "wheel", runner):
            wheel_builder = ProjectBuilder.from_isolated_env(env, source, runner=runner)
        fresh = wheel_builder.build_system_requires != builder.build_system_requires
        if fresh:
            console.info("The sdist asks for other build requirements: a fresh environment.")
            with _reporting(source, "wheel", runner):
                env = stack.enter_context(_environment())
                wheel_builder = ProjectBuilder.from_isolated_env(env, source, runner=runner)
        with console.group(f"Build wheel from {sdist.name}"):
            built = _build_in(
                env,
                wheel_builder,
                "wheel",
                dist_dir,
                runner,
                console,
                install_system_requires=fresh,
            )
    console.info(f"Built {built.name}")
    return sdist, built


def main(argv: Sequence[str]) -> int:
    events = _Events()
    source, outdir = Path(argv[0]), Path(argv[1])
    try:
        build_project(
            source,
            outdir,
            events,
            wheel="--sdist-only" not in argv[2:],
            prepared=Prepared.from_arguments(argv[2:]),
        )
    except BuildError as error:
        events.error(error.message, error.hint)
        return 1
    except Exception as crash:  # reported to the parent, which words the error
        events.error(f"the build crashed: {type(crash).__name__}: {crash}", traceback.format_exc())
        return 1
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    # Everything this process made is closed or removed; the parent waits for its exit to
    # take the files: skip the interpreter's teardown (freeing build's modules).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

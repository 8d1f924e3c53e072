"""scripts/mutate: mutation testing of the modules that hold the project's promises.

cosmic-ray changes one thing at a time in a module (an operator, a constant, a condition,
an exception caught), runs the tests that guard that module, and records whether they failed
(the mutant is killed) or passed (it survived: a promise no test holds). It edits the source
in place and restores it, so nothing else may run from this checkout meanwhile.
"""

from __future__ import annotations

import ast
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutation"  # sessions, one sqlite file per module (git-ignored)

# Each module and the tests that guard it: the fast ones that name it, the e2e ones where the
# promise only shows end to end.
GUARDS = {
    "_gate": ["tests/unit/test_gate.py"],
    "_uploading": ["tests/unit/test_uploading.py"],
    "_verifying": ["tests/unit/test_verifying.py"],
    "_listing": ["tests/unit/test_listing.py"],
    "_preflight": ["tests/unit/test_preflight.py", "tests/unit/test_listing.py"],
    "_pypi_rules": ["tests/unit/test_preflight.py", "tests/unit/test_listing.py"],
    "_distributions": [
        "tests/unit/test_distributions.py",
        "tests/unit/test_preflight.py",
        "tests/unit/test_listing.py",
    ],
    "_building": ["tests/unit/test_building.py"],
    "_build_worker": ["tests/unit/test_building.py", "tests/e2e/test_build_isolation.py"],
    "_attesting": ["tests/unit/test_attesting.py"],
    "_credentials": ["tests/unit/test_credentials.py"],
    "_oidc": [
        "tests/unit/test_oidc.py",
        "tests/unit/test_credentials.py",
        "tests/unit/test_gate.py",
    ],
    "_http": ["tests/unit/test_http.py"],
    "_console": ["tests/unit/test_console.py"],
    "_secrets": ["tests/unit/test_secrets.py", "tests/unit/test_console.py"],
}


def config(module: str) -> str:
    tests = " ".join(GUARDS[module])
    python = ROOT / ".venv" / "bin" / "python"
    return (
        "[cosmic-ray]\n"
        f'module-path = "src/pypi_release/{module}.py"\n'
        "timeout = 120.0\n"
        "excluded-modules = []\n"
        f'test-command = "{python} -m pytest -x -q -p no:cacheprovider --timeout 60 {tests}"\n'
        '[cosmic-ray.distributor]\nname = "local"\n'
    )


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the module's annotations are: (line, column) start and end of each."""
    nodes: list[ast.expr] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            nodes += [a.annotation for a in every if a.annotation is not None]
            nodes += [node.returns] if node.returns is not None else []
        elif isinstance(node, ast.AnnAssign):
            nodes.append(node.annotation)
    return [
        ((n.lineno, n.col_offset), (n.end_lineno or n.lineno, n.end_col_offset or 0)) for n in nodes
    ]


def skip_annotations(module: str, session: Path) -> int:
    """Mark the mutants inside annotations as skipped: equivalent by construction, since every
    module has `from __future__ import annotations` and never evaluates them (mypy does)."""
    source = (ROOT / "src" / "pypi_release" / f"{module}.py").read_text()
    assert "from __future__ import annotations" in source, module
    spans = annotation_spans(source)
    db = sqlite3.connect(session)
    try:
        rows = db.execute("SELECT job_id, start_pos_row, start_pos_col FROM mutation_specs")
        skipped = [job for job, row, col in rows if any(a <= (row, col) < b for a, b in spans)]
        with db:
            db.executemany(
                "INSERT OR REPLACE INTO work_results (job_id, worker_outcome, output, "
                "test_outcome, diff) VALUES (?, 'SKIPPED', 'annotation', NULL, NULL)",
                [(job,) for job in skipped],
            )
    finally:
        db.close()
    return len(skipped)


def run(module: str) -> tuple[dict[str, int], list[str]]:
    """The module's counts (total, killed, survived, incompetent, annotation, pending) and the
    survivors."""
    WORK.mkdir(exist_ok=True)
    cfg, session = WORK / f"{module}.toml", WORK / f"{module}.sqlite"
    cfg.write_text(config(module))
    bin_dir = ROOT / ".venv" / "bin"
    if not session.exists():  # a session interrupted earlier goes on where it stopped
        subprocess.run([bin_dir / "cosmic-ray", "init", cfg, session], cwd=ROOT, check=True)
        skip_annotations(module, session)
    subprocess.run([bin_dir / "cosmic-ray", "exec", cfg, session], cwd=ROOT, check=True)
    dump = subprocess.run(
        [bin_dir / "cosmic-ray", "dump", session], cwd=ROOT, check=True,
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    counts = dict.fromkeys(
        ("total", "killed", "survived", "incompetent", "annotation", "pending"), 0
    )
    survivors: list[str] = []
    for line in dump.splitlines():
        item, result = json.loads(line)
        counts["total"] += 1
        if result is None:
            counts["pending"] += 1
            continue
        if result.get("worker_outcome") == "skipped":
            counts["annotation"] += 1
            continue
        outcome = result.get("test_outcome") or "incompetent"
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome == "survived":
            mutation = item["mutations"][0]
            where = f"{module}.py:{mutation['start_pos'][0]}"
            diff = (result.get("diff") or "").strip().splitlines()
            changed = [d for d in diff if d[:1] in "+-" and not d.startswith(("+++", "---"))]
            survivors.append(f"{where} {mutation['operator_name']}: {' / '.join(changed)}")
    return counts, survivors


def main(argv: list[str]) -> int:
    modules = [m.removesuffix(".py") for m in argv] or list(GUARDS)
    unknown = [m for m in modules if m not in GUARDS]
    if unknown:
        print(f"scripts/mutate: no such module {unknown[0]}; one of: {', '.join(GUARDS)}")
        return 2
    for module in modules:
        counts, survivors = run(module)
        print(
            f"{module}: {counts['total']} mutants, {counts['killed']} killed, "
            f"{counts['survived']} survived, {counts['incompetent']} incompetent, "
            f"{counts['annotation']} in annotations (equivalent), "
            f"{counts['pending']} not run"
        )
        for line in survivors:
            print(f"  survived: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

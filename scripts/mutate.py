"""scripts/mutate: mutation testing of the modules that hold the project's promises.

cosmic-ray changes one thing at a time in a module (an operator, a constant, a condition,
an exception caught), runs the tests that guard that module, and records whether they failed
(the mutant is killed) or passed (it survived: a promise no test holds). It edits the source
in place and restores it, so nothing else may run from this checkout meanwhile.
"""

from __future__ import annotations

import json
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
    "_pypi_rules": ["tests/unit/test_preflight.py"],
    "_distributions": ["tests/unit/test_preflight.py", "tests/unit/test_listing.py"],
    "_building": ["tests/unit/test_building.py"],
    "_build_worker": ["tests/unit/test_building.py", "tests/e2e/test_build_isolation.py"],
    "_attesting": ["tests/unit/test_attesting.py"],
    "_credentials": ["tests/unit/test_credentials.py"],
    "_oidc": ["tests/unit/test_credentials.py", "tests/unit/test_gate.py"],
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


def run(module: str) -> tuple[dict[str, int], list[str]]:
    """The module's counts (total, killed, survived, incompetent, pending) and survivors."""
    WORK.mkdir(exist_ok=True)
    cfg, session = WORK / f"{module}.toml", WORK / f"{module}.sqlite"
    cfg.write_text(config(module))
    bin_dir = ROOT / ".venv" / "bin"
    if not session.exists():  # a session interrupted earlier goes on where it stopped
        subprocess.run([bin_dir / "cosmic-ray", "init", cfg, session], cwd=ROOT, check=True)
    subprocess.run([bin_dir / "cosmic-ray", "exec", cfg, session], cwd=ROOT, check=True)
    dump = subprocess.run(
        [bin_dir / "cosmic-ray", "dump", session], cwd=ROOT, check=True,
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    counts = {"total": 0, "killed": 0, "survived": 0, "incompetent": 0, "pending": 0}
    survivors: list[str] = []
    for line in dump.splitlines():
        item, result = json.loads(line)
        counts["total"] += 1
        if result is None:
            counts["pending"] += 1
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
            f"{counts['pending']} not run"
        )
        for line in survivors:
            print(f"  survived: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Check each module's line coverage against its floor in pyproject.toml.

`make coverage` runs it after combining the data files: `[tool.sputnik.coverage-floors]`
maps a module path to the percentage of its lines the suite must run. Prints one line per
module; exits 1 if any is below its floor (2 if a module has no data at all).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import coverage

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """0 when every module keeps its floor."""
    floors = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["sputnik"][
        "coverage-floors"
    ]
    data = coverage.Coverage(config_file=str(ROOT / "pyproject.toml"))
    data.load()
    measured = {Path(name).resolve() for name in data.get_data().measured_files()}
    status = 0
    for module, floor in floors.items():
        path = (ROOT / module).resolve()
        if path not in measured:
            print(f"no data  {module} (floor {floor} %)")
            status = max(status, 2)
            continue
        _, statements, _, missing, _ = data.analysis2(str(path))
        percent = 100.0 * (len(statements) - len(missing)) / max(len(statements), 1)
        verdict = "ok" if percent >= floor else "BELOW"
        print(f"{verdict:<8} {module}: {percent:.1f} % (floor {floor} %)")
        if percent < floor:
            status = max(status, 1)
    return status


if __name__ == "__main__":
    sys.exit(main())

"""Print the README's layout table: every module of minerplan/, solvers/ and ui/ with its line count.

``python tools/module_sizes.py`` prints one line per package, modules with ``wc -l`` counts;
tests/test_architecture.py holds the budget (no module over 500 lines, views under 400).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def packages() -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for top in ("minerplan", "solvers", "ui"):
        for path in sorted((ROOT / top).rglob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if path.name == "__init__.py" and lines <= 12:
                continue  # a package docstring
            out.setdefault(path.parent.relative_to(ROOT).as_posix() + "/", []).append((path.stem, lines))
    return out


def main() -> None:
    for package, modules in sorted(packages().items()):
        print(f"{package:<30} " + ", ".join(f"{name} {n}" for name, n in modules))


if __name__ == "__main__":
    main()

"""The direction of imports: ui -> solvers -> minerplan; the core never loads Qt or Pyomo."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "minerplan": {"PySide6", "pyqtgraph", "pyomo", "highspy", "shiboken6", "solvers", "ui"},
    "solvers": {"PySide6", "pyqtgraph", "shiboken6", "ui"},
}
# The CLI package may import solvers/ui, but only inside the subcommand that needs them.
LAZY_ALLOWED = {("minerplan", "cli"): {"solvers", "ui"}}


def _imports(tree: ast.AST, top_level_only: bool):
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


def find_violations(root: Path = ROOT) -> list[str]:
    bad = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            lazy = LAZY_ALLOWED.get((package, path.parent.name), set())
            for name, line in _imports(tree, top_level_only=False):
                if name in forbidden:
                    if name in lazy and all(n != name for n, _ in _imports(tree, top_level_only=True)):
                        continue
                    bad.append(f"{path.relative_to(root)}:{line} imports {name}")
    return bad


def test_no_forbidden_imports_in_source():
    assert find_violations() == []


def test_checker_catches_a_violation(tmp_path):
    (tmp_path / "minerplan").mkdir()
    (tmp_path / "solvers").mkdir()
    (tmp_path / "minerplan" / "engine.py").write_text("import numpy\ndef f():\n    from PySide6 import QtCore\n")
    (tmp_path / "solvers" / "m.py").write_text("import pyomo\nfrom pyqtgraph import PlotWidget\n")
    assert find_violations(tmp_path) == ["minerplan/engine.py:3 imports PySide6",
                                         "solvers/m.py:2 imports pyqtgraph"]


@pytest.mark.parametrize("module", ["minerplan.cli.main", "minerplan.engine.evaluate", "minerplan.analysis.report", "minerplan.scenario.files"])
def test_importing_core_loads_no_qt_or_pyomo(module):
    code = (f"import sys, {module}; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'pyqtgraph', 'pyomo', 'highspy', 'shiboken6')]; print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_evaluate_command_loads_no_qt_or_pyomo():
    code = ("import sys, io, contextlib\nfrom minerplan.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()): rc = main(['evaluate', 'default', '--json'])\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'pyomo', 'highspy')]\n"
            "print(bad); sys.exit(rc or (1 if bad else 0))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_import_linter_contracts_hold():
    """import-linter reads the contracts in pyproject.toml (layers and forbidden externals)."""
    pytest.importorskip("importlinter")
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("lint-imports is not installed next to this interpreter")
    out = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_view_is_in_the_independence_contract():
    """A new view must join the contract that keeps views from importing one another."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    listed = next(c["modules"] for c in contracts if c["type"] == "independence")
    views = ROOT / "ui" / "views"
    present = sorted(f"ui.views.{p.stem if p.is_file() else p.name}" for p in views.iterdir()
                     if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists())
    assert sorted(listed) == present


def test_module_size_budget():
    """One concept per module: none over 500 lines, views (layout and wiring) under 400."""
    too_big = []
    for top in ("minerplan", "solvers", "ui"):
        for path in (ROOT / top).rglob("*.py"):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            limit = 399 if "views" in path.relative_to(ROOT).parts else 500
            if lines > limit:
                too_big.append(f"{path.relative_to(ROOT)}: {lines} lines (budget {limit})")
    assert too_big == []

"""``minerplan export``: the command, its errors, cancel, and what it leaves on disk."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from openpyxl import load_workbook

from minerplan.cli.main import main
from minerplan.engine.evaluate import Cancelled
from minerplan.scenario.files import load_scenario, resolve_scenario_path
from minerplan.sheets.export.workbook import export_workbook

SHEETS = ["Summary", "Annual", "Inputs", "Network", "Retargets", "Fleet", "Cohorts", "Sites", "Hourly prices",
          "Dispatch", "Mining", "AI-HPC", "Terminal", "Cash Flow", "Scenarios", "Checks"]


def test_export_writes_the_workbook(tmp_path, capsys):
    out = tmp_path / "plan.xlsx"
    assert main(["export", "default", "--xlsx", str(out), "--paths", "20"]) == 0
    said = capsys.readouterr().out
    from minerplan.engine.evaluate import run_engine

    npv = float(run_engine(load_scenario("default")).npv_usd[0])
    assert "wrote" in said and "16 sheets" in said and f"NPV {npv:,.0f} USD" in said
    wb = load_workbook(out)
    assert wb.sheetnames == SHEETS
    assert wb.calculation.fullCalcOnLoad
    assert "btc_price_usd" in wb.defined_names and "npv_usd" in wb.defined_names
    assert wb["Cash Flow"].freeze_panes == "E8"
    (sheet, cell), = list(wb.defined_names["btc_price_usd"].destinations)
    assert wb[sheet][cell.replace("$", "")].value == 91500
    assert wb[sheet][cell.replace("$", "")].font.color.rgb == "000000FF"   # blue: an input
    assert oct(out.stat().st_mode & 0o777) != oct(0o600), "the workbook should not be private to its writer"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.xlsx"]


def test_export_with_optimize_adds_the_plan_sheet(tmp_path, capsys):
    out = tmp_path / "opt.xlsx"
    assert main(["export", "default", "--xlsx", str(out), "--optimize", "--optimizer-paths", "10",
                 "--paths", "0"]) == 0
    assert "plan decisions" in capsys.readouterr().out
    wb = load_workbook(out)
    assert "Plan" in wb.sheetnames
    assert wb["Plan"]["A5"].value in ("Convert to AI/HPC", "Retire ASICs", "Buy ASICs")


@pytest.mark.parametrize("args, words", [
    (["--xlsx", "plan.txt"], "ending in .xlsx"),
    (["--xlsx", "/nonexistent-dir/plan.xlsx"], "cannot write"),
    (["--xlsx", "x.xlsx", "--paths", "-1"], "between 0 and 100,000"),
])
def test_export_errors_exit_2_without_traceback(args, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        rc = main(["export", "default", *args])
    except SystemExit as e:   # argparse's usage errors
        rc = e.code
    assert rc == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_a_bad_scenario_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1, "name": "x"}')
    assert main(["export", str(bad), "--xlsx", str(tmp_path / "x.xlsx")]) == 2
    assert "start_month" in capsys.readouterr().err
    assert not (tmp_path / "x.xlsx").exists()


def test_cancel_leaves_nothing_behind(tmp_path):
    sc = load_scenario(resolve_scenario_path("default"))
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 4

    seen = []
    with pytest.raises(Cancelled):
        export_workbook(sc, tmp_path / "plan.xlsx", n_paths=20, cancel=cancel,
                        progress=lambda f, what: seen.append((f, what)))
    assert list(tmp_path.iterdir()) == []
    assert seen and all(0.0 <= f <= 1.0 for f, _ in seen)
    assert [f for f, _ in seen] == sorted(f for f, _ in seen), "progress must not go backwards"


def test_an_existing_file_survives_a_failed_export(tmp_path, monkeypatch):
    out = tmp_path / "plan.xlsx"
    out.write_bytes(b"previous version")
    sc = load_scenario(resolve_scenario_path("default"))

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("minerplan.sheets.export.book._splice_sheet_data", boom)
    with pytest.raises(OSError):
        export_workbook(sc, out, n_paths=0)
    assert out.read_bytes() == b"previous version"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.xlsx"]


def test_export_never_loads_pyomo_or_qt(tmp_path):
    code = ("import sys; from minerplan.cli.main import main; "
            f"rc = main(['export', 'default', '--xlsx', {str(tmp_path / 'p.xlsx')!r}, '--paths', '0']); "
            "bad = [m for m in ('pyomo', 'highspy', 'PySide6', 'solvers', 'ui') if m in sys.modules]; "
            "print(rc, bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.getcwd(), timeout=120)
    assert out.stdout.strip().endswith("0 []"), out.stdout + out.stderr

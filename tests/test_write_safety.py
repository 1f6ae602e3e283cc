"""No temp file outlives a crash or Ctrl-C, and the optimizer's time limit covers the whole run (issue 11).

Reproductions: kill -9 during a save left hidden ``.S.json.*.tmp`` files (~6 MB each); ``export``
left ``.x.xlsx.*.tmp.splice`` files, also after Ctrl-C; ``optimize --time-limit 2`` ran 4.9 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import types
import zipfile

import pytest

from minerplan.scenario.file_io import clean_stale_temps
from minerplan.scenario.files import DEFAULT_SCENARIO_PATH, load_scenario, save_scenario


def _line_within(child, seconds: float) -> str:
    """The child's first output line, or '' if none comes within ``seconds`` (never blocks for good)."""
    import select

    ready, _, _ = select.select([child.stdout], [], [], seconds)
    return child.stdout.readline().strip() if ready else ""


def _hidden(tmp_path):
    return sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))


def test_kill_9_during_a_save_leaves_a_temp_that_the_next_save_removes(tmp_path):
    target = tmp_path / "S.json"
    save_scenario(load_scenario(DEFAULT_SCENARIO_PATH), target)
    before = target.read_bytes()
    # A child process starts an atomic write, says so, and blocks inside it until killed.
    code = textwrap.dedent(f"""
        import sys, time
        from minerplan.scenario.file_io import atomic_write
        def write(tmp):
            open(tmp, "w").write("half a file")
            print("inside", flush=True)
            time.sleep(600)
        atomic_write({str(target)!r}, write)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert _line_within(child, 120) == "inside"
        left = _hidden(tmp_path)
        assert len(left) == 1 and left[0].startswith(f".S.json.{child.pid}.")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    assert target.read_bytes() == before          # the old file is whole
    assert len(_hidden(tmp_path)) == 1            # kill -9 ran no cleanup ...
    save_scenario(load_scenario(target), target)  # ... the next load and save of the file do
    assert _hidden(tmp_path) == []


def test_kill_9_during_a_one_off_export_is_cleaned_by_the_next_start(tmp_path, monkeypatch):
    # Reviewer's reproduction: `export --xlsx k2.xlsx` killed with -9 left `.k2.xlsx.<pid>.*.tmp`
    # for good (only another write of k2.xlsx removed it). Every write is noted in a register in
    # the cache folder, so the next start of any command removes what a dead process left.
    from minerplan.cli.main import main

    monkeypatch.setenv("MINERPLAN_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "exports"
    out.mkdir()
    code = textwrap.dedent(f"""
        import time
        from minerplan.scenario.file_io import atomic_write
        def write(tmp):
            open(tmp, "w").write("half a workbook")
            open(tmp + ".splice", "w").write("half a splice")
            print("inside", flush=True)
            time.sleep(600)
        atomic_write({str(out / "k2.xlsx")!r}, write)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "MINERPLAN_CACHE_DIR": str(tmp_path / "cache")})
    try:
        assert _line_within(child, 120) == "inside"
        assert main(["validate", "default"]) == 0          # a start while the writer lives: nothing removed
        assert len(_hidden(out)) == 2
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    assert len(_hidden(out)) == 2 and len(list((tmp_path / "cache" / "pending-writes").iterdir())) == 1
    assert main(["validate", "default"]) == 0              # the next start
    assert _hidden(out) == [] and list((tmp_path / "cache" / "pending-writes").iterdir()) == []


def test_a_register_entry_never_deletes_anything_but_a_temp_file(tmp_path, monkeypatch):
    from minerplan.scenario.file_io import clean_pending_writes

    monkeypatch.setenv("MINERPLAN_CACHE_DIR", str(tmp_path / "cache"))
    reg = tmp_path / "cache" / "pending-writes"
    reg.mkdir(parents=True)
    precious = tmp_path / "budget.xlsx"
    precious.write_text("the CFO's workbook")
    (reg / "999999.forged.txt").write_text(str(precious))               # a damaged or forged entry
    assert clean_pending_writes() == [] and precious.exists()
    assert list(reg.iterdir()) == []                                    # the entry itself is dropped


def test_a_live_writers_temp_is_left_alone(tmp_path):
    target = tmp_path / "S.json"
    mine = tmp_path / f".S.json.{os.getpid()}.abc_1.tmp"
    mine.write_text("in progress")
    other_file = tmp_path / ".T.json.1.abc.tmp"
    other_file.write_text("another file's temp")
    assert clean_stale_temps(target) == []
    assert mine.exists() and other_file.exists()


def test_ctrl_c_while_writing_leaves_nothing(tmp_path):
    target = tmp_path / "S.json"

    def interrupted(tmp):
        open(tmp, "w").write("x")
        open(tmp + ".splice", "w").write("y")
        raise KeyboardInterrupt

    from minerplan.scenario.file_io import atomic_write

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, interrupted)
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_the_export_splice_leaves_no_splice_file(tmp_path, monkeypatch):
    from minerplan.sheets.export.workbook import export_workbook

    sc = load_scenario(DEFAULT_SCENARIO_PATH)
    real = zipfile.ZipFile.writestr
    calls = {"n": 0}

    def writestr(self, *a, **kw):
        if str(self.filename).endswith(".splice"):     # the second pass, which splices sheet rows in
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt
        return real(self, *a, **kw)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)
    with pytest.raises(KeyboardInterrupt):
        export_workbook(sc, tmp_path / "x.xlsx", n_paths=0)
    assert calls["n"] >= 3
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- the optimizer's deadline

class _Clock:
    """A perf_counter that moves ``step`` seconds at every read: any run is 'slow' on it."""

    def __init__(self, step: float):
        self.t, self.step = 0.0, step

    def perf_counter(self) -> float:
        self.t += self.step
        return self.t


def test_building_past_the_time_limit_returns_no_plan_in_business_words(monkeypatch):
    import solvers.optimize as opt
    from solvers.report import recommendation
    from solvers.settings import OptimizerSettings

    monkeypatch.setattr(opt, "time", types.SimpleNamespace(perf_counter=_Clock(10.0).perf_counter))
    res = opt.optimize(load_scenario(DEFAULT_SCENARIO_PATH), OptimizerSettings(n_paths=5, time_limit_s=15))
    assert res.status == "time_limit" and not res.ok and res.plan_scenario is None
    lines = recommendation(res)
    assert "within the time limit of 15 s" in lines[0]
    assert "took the whole time limit of 15 s" in lines[1] and "fewer price paths" in lines[1]


def test_no_highs_run_starts_after_the_deadline():
    import numpy as np

    from solvers.highs_backend import HighsModel
    from solvers.highs_form import MatrixForm

    # max x, x <= 1: a one-column LP
    form = MatrixForm(col_vars=[None], col_lower=np.array([0.0]), col_upper=np.array([1.0]),
                      integer=np.array([True]), cost=np.array([1.0]), offset=0.0, row_lower=np.array([-np.inf]),
                      row_upper=np.array([1.0]), a_start=np.array([0, 1], dtype=np.int32),
                      a_index=np.array([0], dtype=np.int32), a_value=np.array([1.0]), row_block=[("cap", 0)])
    hm = HighsModel(form, time_limit_s=60)
    assert hm.solve(duals=False).status == "optimal"
    import time

    hm.deadline = time.perf_counter() - 1.0      # the whole limit is spent
    assert hm.duals_with_integers_fixed(np.array([1.0])) is None
    assert hm.elastic_slacks({"cap"}) == {}


class _BlockingHighs:
    """Stands in for highspy.Highs: ``run()`` holds (releasing the GIL) until the test lets it go,
    like HiGHS's MIP presolve, which checks neither the time limit nor our interrupt callback."""

    def __init__(self, on_start=None):
        self.started, self.release = threading.Event(), threading.Event()
        self.on_start = on_start

    def setOptionValue(self, *args):  # noqa: N802 - highspy's name
        pass

    def run(self):
        if self.on_start is not None:
            self.on_start()
        self.started.set()
        self.release.wait(30)


def _tiny_model():
    import numpy as np

    from solvers.highs_backend import HighsModel
    from solvers.highs_form import MatrixForm

    form = MatrixForm(col_vars=[None], col_lower=np.array([0.0]), col_upper=np.array([1.0]),
                      integer=np.array([True]), cost=np.array([1.0]), offset=0.0, row_lower=np.array([-np.inf]),
                      row_upper=np.array([1.0]), a_start=np.array([0, 1], dtype=np.int32),
                      a_index=np.array([0], dtype=np.int32), a_value=np.array([1.0]), row_block=[("cap", 0)])
    return HighsModel(form, time_limit_s=60)


def test_cancel_returns_while_highs_is_busy_and_highs_stops_later():
    from solvers.highs_backend import solver_threads_running

    hm = _tiny_model()
    fake = hm.h = _BlockingHighs()
    out = hm.solve(cancel=fake.started.is_set, duals=False)   # Cancel pressed once HiGHS is inside run()
    assert out.status == "cancelled" and out.x is None
    assert not fake.release.is_set() and solver_threads_running()   # returned while HiGHS still held
    fake.release.set()
    hm._runner.join(30)
    assert not solver_threads_running()


def test_the_deadline_returns_the_best_plan_found_so_far():
    import time

    import numpy as np

    hm = _tiny_model()

    def found_a_plan():   # what the improving-solution callback records
        hm._incumbent, hm._incumbent_obj, hm._bound = np.array([1.0]), 1.0, 1.25

    fake = hm.h = _BlockingHighs(on_start=found_a_plan)
    hm.deadline = time.perf_counter() - 1.0
    out = hm.solve(duals=True)
    assert out.status == "time_limit" and out.x.tolist() == [1.0] and out.objective == 1.0
    assert out.mip_gap == pytest.approx(0.25) and out.row_dual is None   # no time left for the duals
    fake.release.set()
    hm._runner.join(30)


def test_cancel_is_looked_at_while_the_model_is_built():
    # Issue 12: Cancel acts within a second at any stage, build included (2,000 paths build in ~1 s).
    from minerplan.engine.evaluate import Cancelled
    from solvers.decisions.build import build_decision_space
    from solvers.model.build import build_model
    from solvers.settings import OptimizerSettings

    space = build_decision_space(load_scenario(DEFAULT_SCENARIO_PATH), OptimizerSettings(n_paths=3))
    asked = []

    def cancel():
        asked.append(True)
        return len(asked) >= 2          # pressed after the first block

    with pytest.raises(Cancelled, match="building the tax rows"):
        build_model(space, 0.0, 0.95, cancel=cancel)

"""The PDF board pack (issue 14, item 4): ``minerplan report`` and File > Export board pack.

What a board sees is checked in the PDF itself with poppler's tools: ``pdftotext`` finds the
recommendation, the key figures (the same numbers ``minerplan evaluate`` prints) and the sources;
``pdfimages -list`` finds no raster image (the charts are vectors); every page says "Page n of N";
one font family. The content's statistics are checked against hand calculations, the writes for
atomicity, the app's export for running in the background with Cancel (held on a gate, not timed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from minerplan.analysis import board_pack as bp
from minerplan.analysis.board_pack_text import read_sources
from minerplan.analysis.incremental import status_quo
from minerplan.cli.main import main
from minerplan.engine.evaluate import Cancelled, run_engine
from minerplan.formats import usd_m
from minerplan.scenario.files import DEFAULT_SCENARIO_PATH, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
PATHS = 100          # the CLI pack's Monte Carlo paths (500 by default; fewer keep the test quick)
SMALL = 20           # paths of the packs built in-process
POPPLER = all(shutil.which(t) for t in ("pdftotext", "pdfimages", "pdffonts", "pdfinfo"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdfimages) not installed")
HEDGES = [{"kind": "hashprice_forward", "fixed_usd_per_ph_day": 45, "notional_ph": 5000, "start_month": "2026-01",
           "tenor_months": 12},
          {"kind": "btc_put", "strike_usd": 80000, "btc_amount": 100, "expiry_month": "2026-06",
           "implied_vol_pct": 55, "risk_free_pct": 4.0}]


def pdf_text(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", *pages, str(path), "-"], capture_output=True, text=True, check=True).stdout


def flat(text: str) -> str:
    """Text with every run of white space as one space (pdftotext breaks lines where the page wraps them)."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def cli_pack(tmp_path_factory):
    """``minerplan report default --pdf pack.pdf`` in a fresh process with no display and no Qt platform set."""
    out = tmp_path_factory.mktemp("pack") / "pack.pdf"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    run = subprocess.run([sys.executable, "-m", "minerplan.cli.main", "report", "default", "--pdf", str(out),
                          "--paths", str(PATHS)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    return out, run


# ----------------------------------------------------------------------------- the command line's PDF
@needs_poppler
def test_report_default_finds_the_recommendation_the_kpis_and_the_sources(cli_pack, capsys):
    out, run = cli_pack
    assert run.returncode == 0, run.stderr
    assert out.read_bytes().startswith(b"%PDF")
    text = flat(pdf_text(out))
    # the recommendation, its value against the status quo and its confidence
    assert "Executive summary" in text and "Proceed with the plan" in text
    assert "Convert 40.0 MW (gross) at North Dakota from 2026-01" in text
    assert "beats the status quo on" in text and "Confidence" in text
    # the key figures, in the app's words, equal to what `minerplan evaluate` prints on the same paths
    assert main(["evaluate", "default", "--json", "--paths", str(PATHS), "--seed", "0"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for words in ("Key figures", "On the entered price path", f"Expected (mean of {PATHS} paths)",
                  f"Median (of {PATHS} paths)", "P5", "P95", "Cost per BTC, all-in", "BTC mined"):
        assert words in text, words
    assert usd_m(doc["expected_npv_usd"]) in text and usd_m(doc["npv_usd"]) in text
    assert usd_m(doc["percentiles"]["npv_usd"]["p95"]) in text
    assert usd_m(doc["incremental"]["npv_usd"], plus=True) in text       # the plan adds, median
    assert f"${doc['cost_per_btc_all_in_usd']:,.0f}" in text               # median all-in cost per BTC
    # the sources: docs/sources.md's tables and the scenario's own notes
    for words in ("Assumptions and their sources", "docs/sources.md", "CoinDesk", "Luxor", "Coin Metrics",
                  "Braiins Insights", "TeraWulf"):
        assert words in text, words
    for words in ("Stress scenarios", "capitulation", "gamma-flip", "Method", "NPV sensitivity (tornado)",
                  "BTC price, first 12 months, with the late-2025 levels", "$92k break", "$72-74k downside band",
                  "Capacity by use", "Capex by month", "Hashprice against each cohort's breakeven"):
        assert words in text, words
    assert "Wrote" in run.stdout and "Proceed with the plan" in run.stdout


@needs_poppler
def test_every_page_is_numbered(cli_pack):
    out, _ = cli_pack
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    n = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert n >= 8
    for page in range(1, n + 1):
        assert f"Page {page} of {n}" in pdf_text(out, page)


@needs_poppler
def test_the_charts_are_vectors_and_the_fonts_one_family(cli_pack):
    out, _ = cli_pack
    listing = subprocess.run(["pdfimages", "-list", str(out)], capture_output=True, text=True, check=True).stdout
    assert listing.strip().splitlines()[2:] == []            # the header only: no raster image at all
    assert "USD per PH/s per day" in pdf_text(out)           # a chart's axis title is text in the PDF
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    names = [line.split()[0] for line in fonts.strip().splitlines()[2:]]
    assert names and all("DejaVuSans" in name for name in names), names


@pytest.mark.parametrize("args, words", [
    (["--pdf", "pack.txt"], "ending in .pdf"),
    ([], "--pdf"),
    (["--pdf", "pack.pdf", "--paths", "1"], "between 2 and 100,000"),
    (["--pdf", "pack.pdf", "--seed", "-3"], "must be >= 0"),
])
def test_bad_arguments_are_refused_with_exit_2(args, words, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(["report", "default", *args])
    assert e.value.code == 2
    assert words in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("scenario, target, words", [
    ("missing.json", "pack.pdf", "file not found"),
    ("default", "no-such-folder/pack.pdf", "does not exist"),
    ("default", "folder.pdf", "is a folder"),
])
def test_bad_inputs_are_refused_with_exit_2_before_any_work(scenario, target, words, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.pdf").mkdir()
    monkeypatch.setattr(bp, "build_board_pack", lambda *a, **k: pytest.fail("computed before refusing"))
    assert main(["report", scenario, "--pdf", target]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.pdf"]


# ----------------------------------------------------------------------------- the content, by hand
def test_kpi_statistics_by_hand():
    many = {key: np.arange(1.0, 101.0) for key, _, _ in bp.KPI_ROWS}      # 1..100
    one = {key: np.array([42.0]) for key, _, _ in bp.KPI_ROWS}
    rows = {r.label: r for r in bp.kpi_rows(one, many, increment_median_usd=7.0, starting_cash_usd=None)}
    npv = rows["NPV"]
    # mean and median of 1..100: 50.5; linear percentiles: 1 + 0.05 x 99 = 5.95 and 1 + 0.95 x 99 = 95.05
    assert (npv.entered, npv.mean, npv.median) == (42.0, 50.5, 50.5)
    assert npv.p5 == pytest.approx(5.95) and npv.p95 == pytest.approx(95.05)
    inc = rows["NPV the plan adds over the status quo"]
    assert inc.median == 7.0 and inc.mean == 50.5          # median: difference of medians, as the CLI reports it
    assert "Deepest cumulative net cash (no starting cash stated)" in rows
    assert npv.cells()[2:5] == ["$0.0M", "$0.0M", "$0.0M"] and rows["BTC mined"].cells()[3] == "50"


def test_per_path_measures_by_hand():
    sc = load_scenario("default")
    res = run_engine(sc)
    m = bp.per_path(res, 250e6)
    cf = res.net_cash_flow_usd[0]
    assert m["net_cash"][0] == pytest.approx(cf.sum())
    assert m["low_cash"][0] == pytest.approx(250e6 + min(np.cumsum(cf).min(), 0.0))
    first_year = (res.ebitda_usd[0, :12].sum() - res.g_and_a_usd[:12].sum())
    assert m["ebitda12"][0] == pytest.approx(first_year)
    assert m["hashprice12"][0] == pytest.approx(res.hashprice_usd_per_th_day[0, 12] * 1000.0)


def test_mw_by_use_by_hand():
    sc = load_scenario("default")
    mw = bp.mw_by_use(run_engine(sc))
    pue = {s.name: s.pue for s in sc.sites}
    cap = {s.name: s.capacity_mw for s in sc.sites}
    # month 0 (2025-12): no conversion yet; each site mines its installed machines x PUE, up to its capacity
    by_site: dict[str, float] = {}
    for c in sc.fleet:
        if c.purchase_month is None:
            by_site[c.site] = by_site.get(c.site, 0.0) + c.count * c.power_w * pue[c.site] / 1e6
    mining0 = sum(min(v, cap[s]) for s, v in by_site.items())
    assert mw["Mining"][0] == pytest.approx(mining0)
    assert mw["AI/HPC"][0] == 0.0 and mw["AI/HPC"][1] == pytest.approx(40.0)   # the 40 MW phase from 2026-01
    total = sum(cap.values())
    assert (mw["Mining"] + mw["AI/HPC"] + mw["Idle"]) == pytest.approx(np.full(len(mw["Idle"]), total))


def test_sorted_curve_and_frontier_labels_by_hand():
    x, y = bp.sorted_curve(np.array([3.0, -1.0, 2.0, 0.0]))
    assert list(y) == [-1.0, 0.0, 2.0, 3.0] and list(x) == [12.5, 37.5, 62.5, 87.5]
    # (risk weight, expected NPV, CVaR) USD: w=1 and w=2 within 3% of the spans of each other share one label
    pts = bp.frontier_points(((0.0, 216e6, -119e6), (1.0, 203.7e6, -185e6), (2.0, 203.69e6, -184.9e6),
                              (0.5, 204.1e6, -150e6)))
    assert [p[2] for p in pts] == ["w=1, 2", "", "w=0.5", "w=0"]
    assert pts[0][:2] == (-185.0, 203.7)


def test_read_sources_takes_the_three_column_tables(tmp_path):
    md = tmp_path / "sources.md"
    md.write_text("# Sources\n\n## Bitcoin protocol\n\n| fact | value | source |\n|---|---|---|\n"
                  "| block subsidy | 3.125 BTC | Bitcoin Core `GetBlockSubsidy` |\n\n## ASIC catalog\n\n"
                  "| model | TH/s | W | J/TH | source |\n|---|---|---|---|---|\n| S21 | 200 | 3500 | 17.5 | x |\n\n"
                  "## Valuation\n\n| parameter | default | source |\n|---|---|---|\n| rate | 12% | assumption |\n")
    assert read_sources(md) == [("Bitcoin protocol", (("block subsidy", "3.125 BTC", "Bitcoin Core GetBlockSubsidy"),)),
                                ("Valuation", (("rate", "12%", "assumption"),))]
    assert read_sources(tmp_path / "missing.md") == []
    assert any(h.startswith("Network and market") for h, _ in read_sources())     # the repository's own file


def test_late_2025_levels_are_the_ones_the_app_shows():
    from ui.views import overview

    assert [tuple(level) for level in bp.LATE_2025_LEVELS] == [tuple(level) for level in overview.REFERENCE_LEVELS]
    assert tuple(bp.LATE_2025_BAND) == tuple(overview.DOWNSIDE_BAND)


@pytest.fixture(scope="module")
def default_pack():
    return bp.build_board_pack(load_scenario("default"), paths=SMALL, seed=0)


def test_the_plan_is_valued_against_its_status_quo_on_the_same_paths(default_pack):
    sc = load_scenario("default")
    base = status_quo(sc)
    rows = {r.label: r for r in default_pack.kpis}
    inc = rows["NPV the plan adds over the status quo"]
    assert inc.entered == pytest.approx(run_engine(sc).npv_usd[0] - run_engine(base).npv_usd[0])
    plan = run_engine(sc, n_paths=SMALL, seed=0)
    same = run_engine(base, prices=plan.btc_price_usd, fees_btc_per_block=plan.random_fees_btc_per_block,
                      gpu_rate_factor=plan.gpu_rate_factor)
    assert inc.mean == pytest.approx(float(np.mean(plan.npv_usd - same.npv_usd)))
    assert inc.median == pytest.approx(float(np.median(plan.npv_usd) - np.median(same.npv_usd)))
    value = dict(default_pack.recommendation.value)
    assert value[f"expected NPV (mean of {SMALL} paths)"] == pytest.approx(inc.mean)
    assert default_pack.recommendation.headline.startswith("Proceed with the plan")
    assert [c.name for c in default_pack.stress] == ["Entered price path", "base", "gamma-flip", "capitulation",
                                                     "recovery"]
    assert default_pack.stress[0].values["npv"] == pytest.approx(run_engine(sc).npv_usd[0])
    assert {c.key for c in default_pack.charts} == {"hashprice", "btc_near", "btc_fan", "mw_by_use", "capex",
                                                    "tornado"}


def test_an_optimized_plan_is_compared_with_the_scenario_as_entered(default_pack):
    """The optimizer's plan (plain data here) against the scenario as entered: the entered scenario is the
    default's status quo and the plan the default, so the increment is the default pack's own."""
    sc = load_scenario("default")
    opt = bp.OptimizedPlan(sc, "optimal", ("Convert 40 MW at North Dakota.",), ("Worth $1.0M more.",),
                           frontier=((0.0, 216e6, -119e6), (1.0, 203.7e6, -185e6)), paths=SMALL)
    pack = bp.build_board_pack(status_quo(sc), paths=SMALL, seed=0, optimized=opt)
    mine = {r.label: r for r in pack.kpis}["NPV the plan adds over the status quo"]
    theirs = {r.label: r for r in default_pack.kpis}["NPV the plan adds over the status quo"]
    assert (mine.entered, mine.mean, mine.median) == pytest.approx((theirs.entered, theirs.mean, theirs.median))
    rec = pack.recommendation
    assert rec.headline.startswith("Adopt the optimizer's plan") and "the scenario as entered" in rec.baseline
    assert rec.actions == ("Convert 40 MW at North Dakota.",) and "Worth $1.0M more." in rec.confidence
    assert "frontier" in {c.key for c in pack.charts} and any(h == "Optimizer" for h, _ in pack.method)


def test_without_decisions_the_pack_values_the_business_and_draws_no_empty_chart():
    from tests.builders import base_dict

    sc = scenario_from_dict(base_dict(horizon_months=13), "small")      # no conversion, purchase or capex
    pack = bp.build_board_pack(sc, paths=10, seed=0)
    rec = pack.recommendation
    assert rec.headline.startswith("No decision to take") and not rec.increment
    many = run_engine(sc, n_paths=10, seed=0)
    assert dict(rec.value) == pytest.approx({"NPV on the entered price path": run_engine(sc).npv_usd[0],
                                             "expected NPV (mean of 10 paths)": np.mean(many.npv_usd),
                                             "median NPV (of 10 paths)": np.median(many.npv_usd)})
    assert "capex" not in {c.key for c in pack.charts}
    assert not any("beats the status quo" in line for line in rec.confidence)


def test_the_optimizers_plan_is_valued_on_the_packs_paths():
    """``--optimize``: the optimizer plans (here on all 10 paths), the pack values its plan on the same paths
    and seed, so the plan's expected NPV in the pack is the optimizer's own (checked by the engine)."""
    from tests.builders import base_dict
    from ui.board_pack.work import optimized_plan

    sc = scenario_from_dict(base_dict(horizon_months=24), "small")
    opt = optimized_plan(sc, paths=10, seed=0)
    assert opt.plan_scenario is not None and opt.paths == 10 and len(opt.frontier) >= 2
    assert any("fresh price paths the optimizer never saw" in line for line in opt.confidence)
    pack = bp.build_board_pack(sc, paths=10, seed=0, optimized=opt)
    npv = {r.label: r for r in pack.kpis}["NPV"]
    assert npv.mean == pytest.approx(opt.expected_npv_usd, rel=1e-6)
    inc = {r.label: r for r in pack.kpis}["NPV the plan adds over the status quo"]
    assert inc.mean == pytest.approx(opt.expected_npv_usd - opt.baseline_expected_npv_usd, rel=1e-6)
    assert pack.recommendation.actions == opt.actions and "frontier" in {c.key for c in pack.charts}


@needs_poppler
def test_report_optimize_writes_the_optimizers_recommendation(tmp_path, monkeypatch, capsys):
    from tests.builders import base_dict

    monkeypatch.chdir(tmp_path)
    Path("small.json").write_text(json.dumps(base_dict(horizon_months=24)), encoding="utf-8")
    assert main(["report", "small.json", "--pdf", "small.pdf", "--optimize", "--paths", "10"]) == 0
    assert "Adopt the optimizer's plan" in capsys.readouterr().out
    text = flat(pdf_text(tmp_path / "small.pdf"))
    for words in ("Adopt the optimizer's plan", "the scenario as entered", "Efficient frontier", "w=0",
                  "fresh price paths the optimizer never saw", "Optimizer"):
        assert words in text, words


# ----------------------------------------------------------------------------- the PDF writer
@pytest.fixture
def hedged_pack():
    data = json.loads(DEFAULT_SCENARIO_PATH.read_text(encoding="utf-8"))
    data["hedges"] = HEDGES
    return bp.build_board_pack(scenario_from_dict(data, "hedged"), paths=SMALL, seed=0)


@needs_poppler
def test_writes_are_atomic_and_a_hedge_book_gets_its_distribution(qapp, tmp_path, monkeypatch, hedged_pack):
    from ui import board_pack
    from ui.board_pack import pages

    target = tmp_path / "pack.pdf"
    target.write_bytes(b"the board's last pack")

    def broken(flow, pack):
        raise RuntimeError("failed half way through the pages")
    with monkeypatch.context() as m:
        m.setattr(pages, "method", broken)
        with pytest.raises(RuntimeError):
            board_pack.write_pdf(hedged_pack, target)
    assert target.read_bytes() == b"the board's last pack"          # the old file, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack.pdf"]  # and no temp file left
    with pytest.raises(Cancelled):
        board_pack.write_pdf(hedged_pack, tmp_path / "cancelled.pdf", cancel=lambda: True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack.pdf"]
    board_pack.write_pdf(hedged_pack, target)
    text = flat(pdf_text(target))
    assert target.read_bytes().startswith(b"%PDF")
    assert "NPV distribution with and without the hedges" in text and "CVaR 95%" in text
    assert "The hedge book moves the P5 NPV" in text
    listing = subprocess.run(["pdfimages", "-list", str(target)], capture_output=True, text=True).stdout
    assert listing.strip().splitlines()[2:] == []


# ----------------------------------------------------------------------------- the app
@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from ui import autosave, main_window as mw
    from ui.kit.settings import MC_PATHS

    monkeypatch.setattr(autosave, "autosave_dir", lambda: tmp_path / "autosave")
    (tmp_path / "autosave").mkdir()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue(MC_PATHS.key, 1)
    w = mw.MainWindow("default", settings=settings, check_recovery=False)
    qtbot.addWidget(w, before_close_func=lambda w: w.doc.undo_stack.setClean())
    yield w
    from ui.kit.jobs import shutdown_jobs

    shutdown_jobs(w)
    w.evaluation.wait_idle()


@pytest.fixture
def held(monkeypatch):
    """The export's computation waits on a gate after its first progress report, on its worker thread."""
    from tests.gate import Gate
    from ui.board_pack import actions

    gate = Gate()
    original = actions.compute_pack

    def compute(*args, progress=None, cancel=None, **kwargs):
        return original(*args, progress=gate.progress(progress, cancel), cancel=cancel, **kwargs)
    monkeypatch.setattr(actions, "compute_pack", compute)
    return gate


def test_file_menu_exports_a_board_pack(window):
    file_menu = window.menuBar().actions()[0].menu()
    assert "Export &board pack (PDF)…" in [a.text() for a in file_menu.actions()]
    assert window.act_board_pack.isEnabled()


def test_export_runs_in_the_background_with_progress_and_writes_the_pdf(qtbot, window, tmp_path, held):
    out = tmp_path / "pack.pdf"
    from ui.board_pack import actions

    job = actions.export_board_pack(window, str(out), paths=SMALL, optimize=False)
    qtbot.waitUntil(held.reached.is_set, timeout=60_000)
    assert held.thread is not threading.main_thread()
    assert held.holding and job.state == "running" and not out.exists()   # the GUI thread is free meanwhile
    assert job.dialog is not None
    held.open()
    qtbot.waitUntil(lambda: job.state != "running", timeout=120_000)
    assert job.state == "written" and not held.timed_out
    assert out.read_bytes().startswith(b"%PDF")
    assert "Wrote the board pack" in window.statusBar().currentMessage()
    assert job.pack.recommendation.headline.startswith("Proceed with the plan")


def test_cancel_writes_nothing(qtbot, window, tmp_path, held, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from ui.board_pack import actions

    shown = []
    monkeypatch.setattr(QMessageBox, "open", lambda box: shown.append(box.text()))
    out = tmp_path / "pack.pdf"
    job = actions.export_board_pack(window, str(out), paths=SMALL, optimize=False)
    qtbot.waitUntil(held.reached.is_set, timeout=60_000)
    job.dialog.reject()                       # the dialog's Cancel (and Esc, and its close button)
    qtbot.waitUntil(lambda: job.state != "running", timeout=60_000)
    assert job.state == "cancelled" and not held.timed_out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["autosave", "settings.ini"]
    assert "cancelled" in window.statusBar().currentMessage() and shown == []


def test_the_options_dialog_cancelled_does_nothing(window, monkeypatch):
    from ui.board_pack import actions

    monkeypatch.setattr(actions, "ask_options", lambda parent, paths: None)
    monkeypatch.setattr(actions, "ask_pdf_path", lambda parent, suggested: pytest.fail("asked for a file"))
    assert window.export_board_pack() is None

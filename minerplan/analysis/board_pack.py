"""What the board pack says, without Qt: the recommendation, the KPIs, the charts' data, the stress table.

:func:`build_board_pack` runs the engine on one scenario (the plan) and its status quo, on the entered
price path and on N Monte Carlo paths (the same paths for both), on each late-2025 stress preset, and
through the tornado, and returns a :class:`BoardPack`: plain data a renderer lays out (the PDF in
``ui.board_pack``). Every figure comes from the analysis layer the app and the CLI use
(:mod:`~minerplan.analysis.report`, :mod:`~minerplan.analysis.kpi`, :mod:`~minerplan.analysis.incremental`,
:mod:`~minerplan.analysis.tornado`, :mod:`~minerplan.analysis.hedges`), so the pack agrees with them.

Two cases. Without an optimizer run the plan is the scenario as entered and the status quo is
:func:`~minerplan.analysis.incremental.status_quo` (its conversions, purchases and retirements inside
the horizon left out). With one (:class:`OptimizedPlan`, filled by the caller from ``solvers``, which
this layer may not import) the plan is the optimizer's and the status quo the scenario as entered,
as ``minerplan optimize`` compares them.

Statistics are named in the words the app uses: "on the entered price path", "expected (mean of N
paths)", "median (of N paths)" (:mod:`minerplan.analysis.vocabulary`), and P5/P95 (5th and 95th
percentiles across paths). Money in USD.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from minerplan.analysis import board_pack_text as text
from minerplan.analysis.incremental import baseline_description, horizon_decisions, path_fees, status_quo
from minerplan.analysis.kpi import breakeven_hashprice_usd_per_ph_day
from minerplan.analysis.report import cost_per_btc
from minerplan.analysis.vocabulary import NPV_ON_PATH, ON_PATH, capitalized, expected, expected_npv, median, median_npv
from minerplan.engine.evaluate import EngineResult, progress_span, run_engine
from minerplan.formats import usd_m
from minerplan.markets.prices import PRESETS, deterministic_path, with_preset_market
from minerplan.scenario.model import Scenario

ENTERED = ON_PATH

#: The late-2025 BTC levels the app's Overview draws: (USD, label), and the options' downside band.
LATE_2025_LEVELS = ((92_000, "$92k break (late Nov 2025)"), (88_000, "$88k gamma flip"),
                    (87_000, "$87k break-down trigger"))
LATE_2025_BAND = (72_000, 74_000, "$72-74k downside band")
#: Breakeven lines on the hashprice chart (the Overview draws as many).
MAX_BREAKEVEN_LINES = 8
#: Months of the near-term BTC chart, where the late-2025 levels are read.
NEAR_TERM_MONTHS = 12
#: Frontier points nearer than these shares of the x and y spans share one label (a label's width and height).
LABEL_NEAR = (0.12, 0.08)
#: Points kept of each sorted-NPV curve (enough for a page's width).
CURVE_POINTS = 401


# ----------------------------------------------------------------------------- the pack's data
@dataclass(frozen=True)
class OptimizedPlan:
    """An optimizer run as plain data (the caller fills it from ``solvers``; see the module)."""

    plan_scenario: Scenario | None        # None: the optimizer found no plan (``actions`` say why)
    status: str                           # optimal, time_limit, infeasible, ...
    actions: tuple[str, ...]              # solvers.report.recommendation: sentences for the board
    confidence: tuple[str, ...] = ()      # solvers.confidence.describe
    expected_npv_usd: float | None = None             # the plan's, mean of the optimizer's paths
    baseline_expected_npv_usd: float | None = None    # the scenario as entered, on the same paths
    risk_aversion: float = 0.0
    frontier: tuple[tuple[float, float, float], ...] = ()   # (risk weight, expected NPV, CVaR), USD
    paths: int = 0                                          # price paths the optimizer planned on


@dataclass(frozen=True)
class KpiRow:
    """One KPI across the statistics (USD unless ``unit`` says otherwise); None: no value."""

    label: str
    unit: str
    entered: float | None
    mean: float | None
    median: float | None
    p5: float | None
    p95: float | None

    def cells(self) -> list[str]:
        return [self.label, self.unit] + [text.figure(v, self.unit)
                                          for v in (self.entered, self.mean, self.median, self.p5, self.p95)]


@dataclass(frozen=True)
class Recommendation:
    headline: str
    actions: tuple[str, ...]
    value: tuple[tuple[str, float | None], ...]     # (statistic, USD the plan adds over the status quo)
    confidence: tuple[str, ...]
    baseline: str                                   # what the status quo is, in words
    increment: bool = True                          # value is what the plan adds (else: the NPV, no plan)


@dataclass(frozen=True)
class Line:
    name: str
    y: np.ndarray
    colour: int = 0
    dash: bool = False
    width: float = 2.0
    x: np.ndarray | None = None       # None: the chart's months


@dataclass(frozen=True)
class ChartData:
    """A chart as data; ``months`` set: a month x axis (lines without x use it)."""

    key: str
    title: str
    y_label: str
    caption: str
    x_label: str = ""
    months: tuple[str, ...] = ()
    lines: tuple[Line, ...] = ()
    fans: tuple[tuple[str, np.ndarray, np.ndarray, np.ndarray], ...] = ()   # (name, P5, median, P95)
    stacked: tuple[tuple[str, np.ndarray], ...] = ()                         # areas, bottom first
    bars: tuple[tuple[str, np.ndarray], ...] = ()                            # stacked bars, bottom first
    levels: tuple[tuple[float, str], ...] = ()
    bands: tuple[tuple[float, float, str], ...] = ()
    tornado: tuple[tuple[str, str, str, float, float], ...] = ()  # (input, low case, high case, dNPV low, high)
    points: tuple[tuple[float, float, str], ...] = ()              # labelled points (x, y, label)
    y_range: tuple[float, float] | None = None


@dataclass(frozen=True)
class StressColumn:
    name: str
    description: str
    source: str
    network: str                           # the network model the column ran on, in words
    values: dict[str, float | None]


@dataclass(frozen=True)
class BoardPack:
    title: str
    scenario_name: str
    generated: str                         # YYYY-MM-DD
    start_month: str
    horizon_months: int
    paths: int
    seed: int
    optimized: bool
    recommendation: Recommendation
    kpis: tuple[KpiRow, ...]
    kpi_notes: tuple[str, ...]
    charts: tuple[ChartData, ...]
    stress_rows: tuple[tuple[str, str, str], ...]          # (key, label, unit)
    stress: tuple[StressColumn, ...]
    inputs: tuple[tuple[str, str], ...]                    # the scenario's key inputs (label, value)
    sources: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...]   # docs/sources.md sections
    notes: str
    method: tuple[tuple[str, str], ...]
    hedges: dict | None = None                             # analysis.hedges.compare on the Monte Carlo run
    years: tuple[tuple[str, ...], ...] = ()                # by calendar year, median of the paths (see YEAR_HEADERS)
    business: tuple[str, ...] = ()                         # the business's value and risk, in sentences
    stats: tuple[str, ...] = field(default=())

    def kpi_headers(self) -> list[str]:
        return ["Measure", "Unit", capitalized(ENTERED), capitalized(expected(self.paths)),
                capitalized(median(self.paths)), "P5", "P95"]


YEAR_HEADERS = ("Year", "BTC mined", "Energy per BTC", "Cash cost per BTC", "All-in cost per BTC", "EBITDA",
                "AI/HPC revenue")


def year_rows(res: EngineResult) -> list[tuple[str, ...]]:
    """Calendar years (:func:`~minerplan.analysis.periods.period_table`, median of the paths), as text."""
    from minerplan.analysis.periods import period_table

    out = []
    for r in period_table(res, statistic="median"):
        if r["kind"] != "year":
            continue
        label = r["period"] + ("" if r["months"] == 12 else f" ({r['months']} mo)")
        out.append((label, text.figure(r["btc_mined"], "BTC"), text.figure(r["cost_per_btc_energy_usd"], "USD/BTC"),
                    text.figure(r["cost_per_btc_cash_usd"], "USD/BTC"),
                    text.figure(r["cost_per_btc_all_in_usd"], "USD/BTC"), text.figure(r["ebitda_usd"], "USD"),
                    text.figure(r["ai_revenue_usd"], "USD")))
    return out


# ----------------------------------------------------------------------------- per-path measures
KPI_ROWS = (("npv", "NPV", "USD"), ("increment", "NPV the plan adds over the status quo", "USD"),
            ("terminal_pv", "of which terminal value (present value)", "USD"),
            ("ebitda12", "EBITDA, first 12 months", "USD"), ("net_cash", "Net cash flow over the horizon", "USD"),
            ("low_cash", "Lowest cash balance", "USD"), ("btc", "BTC mined", "BTC"),
            ("cash_cost", "Cost per BTC, cash (horizon average)", "USD/BTC"),
            ("all_in_cost", "Cost per BTC, all-in (horizon average)", "USD/BTC"),
            ("hashprice12", "Hashprice in month 12", "USD/PH/day"))


def per_path(res: EngineResult, starting_cash_usd: float | None) -> dict[str, np.ndarray]:
    """Each KPI per path ``[path]`` (USD, BTC, USD/BTC, USD per PH/s per day)."""
    n = res.n_paths
    cash, all_in = cost_per_btc(res)
    ncf = np.asarray(res.net_cash_flow_usd, float)
    k = min(12, ncf.shape[1])
    tv = res.terminal_value_pv_usd if res.terminal_value_pv_usd is not None else np.full(n, np.nan)
    hp = np.broadcast_to(np.asarray(res.hashprice_usd_per_th_day, float), (n, ncf.shape[1]))
    return {"npv": np.asarray(res.npv_usd, float), "terminal_pv": np.asarray(tv, float),
            "ebitda12": res.ebitda_usd.sum(axis=2)[:, :k].sum(axis=1) - res.g_and_a_usd[:k].sum(),
            "net_cash": ncf.sum(axis=1),
            "low_cash": (starting_cash_usd or 0.0) + np.minimum(np.cumsum(ncf, axis=1).min(axis=1), 0.0),
            "btc": res.btc_mined.sum(axis=(1, 2)), "cash_cost": cash, "all_in_cost": all_in,
            "hashprice12": hp[:, min(12, ncf.shape[1] - 1)] * 1000.0}


def _stat(a: np.ndarray, how: str) -> float | None:
    a = np.asarray(a, float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return None
    return float({"mean": np.mean, "median": np.median}[how](a)) if how in ("mean", "median") \
        else float(np.percentile(a, int(how[1:])))


def kpi_rows(one: dict, many: dict, increment_median_usd: float, starting_cash_usd: float | None) -> list[KpiRow]:
    """The KPI table: ``one`` per-path measures on the entered price path, ``many`` on the Monte Carlo paths.

    The increment's median is the plan's median NPV minus the status quo's (``increment_median_usd``),
    as the app and ``minerplan evaluate`` report it; its P5/P95 are of the per-path differences."""
    rows = []
    for key, label, unit in KPI_ROWS:
        if key == "low_cash" and starting_cash_usd is None:
            label = "Deepest cumulative net cash (no starting cash stated)"
        med = increment_median_usd if key == "increment" else _stat(many[key], "median")
        rows.append(KpiRow(label, unit, _stat(one[key], "mean"), _stat(many[key], "mean"), med,
                           _stat(many[key], "p5"), _stat(many[key], "p95")))
    return rows


# ----------------------------------------------------------------------------- charts
def sorted_curve(npv: np.ndarray, points: int = CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(share of paths in %, NPV USD) of the paths sorted worst to best, thinned to ``points``."""
    ranked = np.sort(np.asarray(npv, float))
    n = ranked.size
    idx = np.arange(n) if n <= points else np.unique(np.round(np.linspace(0, n - 1, points)).astype(np.int64))
    return (idx + 0.5) / n * 100.0, ranked[idx]


def _pct(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    q = np.percentile(np.asarray(a, float), [5, 50, 95], axis=0)
    return q[0], q[1], q[2]


def frontier_points(frontier: tuple[tuple[float, float, float], ...]) -> tuple[tuple[float, float, str], ...]:
    """(CVaR, expected NPV, label) in USD millions, by CVaR; a point closer to the first of a group than
    :data:`LABEL_NEAR` of the axes' spans (x, y) joins its label (``w=0.5, 1, 2``): labels never overlap."""
    pts = sorted(((cvar / 1e6, npv / 1e6, w) for w, npv, cvar in frontier))
    if not pts:
        return ()
    span_x = (max(p[0] for p in pts) - min(p[0] for p in pts)) or 1.0
    span_y = (max(p[1] for p in pts) - min(p[1] for p in pts)) or 1.0
    groups: list[list] = []
    for x, y, w in pts:
        g = groups[-1] if groups else None
        if g and abs(x - g[0][0]) < LABEL_NEAR[0] * span_x and abs(y - g[0][1]) < LABEL_NEAR[1] * span_y:
            g.append((x, y, w))
        else:
            groups.append([(x, y, w)])
    out = []
    for g in groups:
        label = "w=" + ", ".join(f"{w:g}" for _, _, w in sorted(g, key=lambda p: p[2]))
        out += [(x, y, label if k == 0 else "") for k, (x, y, _) in enumerate(g)]
    return tuple(out)


def mw_by_use(res: EngineResult) -> dict[str, np.ndarray]:
    """Gross MW per month, all sites: mining (installed machines x PUE), AI/HPC (converted), idle."""
    sc = res.scenario
    pue = np.array([s.pue for s in sc.sites])
    fl = res.fleet
    per_cohort = fl.running_units * (fl.power_w_per_unit * pue[fl.site] / 1e6)[None, :]     # [month, cohort]
    mining = np.zeros((len(res.months), len(sc.sites)))
    np.add.at(mining.T, fl.site, per_cohort.T)
    ai = np.asarray(res.ai.converted_gross_mw, float)
    cap = np.array([s.capacity_mw for s in sc.sites])[None, :]
    mining = np.minimum(mining, np.maximum(cap - ai, 0.0))
    idle = np.maximum(cap - mining - ai, 0.0)
    return {"Mining": mining.sum(axis=1), "AI/HPC": ai.sum(axis=1), "Idle": idle.sum(axis=1)}


def charts(one: EngineResult, many: EngineResult, tornado_df, hedges: tuple | None,
           frontier: tuple[tuple[float, float, float], ...]) -> list[ChartData]:
    """The pack's charts from the runs (see the module); ``hedges``: (unhedged, hedged) NPV per path."""
    months = tuple(one.months)
    n = many.n_paths
    hp_lo, hp_mid, hp_hi = _pct(many.hashprice_usd_per_th_day * 1000.0)
    be = breakeven_hashprice_usd_per_ph_day(one)[:MAX_BREAKEVEN_LINES]
    hp_top = max([float(hp_hi.max())] + [lvl for _, lvl in be]) * 1.1
    out = [ChartData("hashprice", "Hashprice against each cohort's breakeven", "USD per PH/s per day",
                     f"Hashprice P5-P95 and median of {n:,} paths, and {ENTERED}; dashed: the hashprice at which "
                     "each fleet row's first-month revenue net of pool fee pays its energy.", months=months,
                     fans=((f"Hashprice ({n:,} paths)", hp_lo, hp_mid, hp_hi),),
                     lines=(Line(f"Hashprice {ENTERED}", one.hashprice_usd_per_th_day[0] * 1000.0, 1, width=1.5),)
                     + tuple(Line(f"breakeven {name}", np.full(len(months), lvl), i + 2, dash=True, width=1.2)
                             for i, (name, lvl) in enumerate(be)), y_range=(0.0, hp_top))]
    px_lo, px_mid, px_hi = _pct(many.btc_price_usd)
    fan_name, path_name = f"BTC price ({n:,} paths)", f"BTC price {ENTERED}"
    k = min(NEAR_TERM_MONTHS, len(months))
    out.append(ChartData("btc_near", f"BTC price, first {k} months, with the late-2025 levels", "USD per BTC",
                         f"P5-P95 and median of {n:,} paths, and {ENTERED}; the $92k break, the $88k gamma flip, the "
                         "$87k trigger and the $72-74k options downside band of late November 2025.",
                         months=months[:k], fans=((fan_name, px_lo[:k], px_mid[:k], px_hi[:k]),),
                         lines=(Line(path_name, one.btc_price_usd[0, :k], 1, width=1.5),),
                         levels=LATE_2025_LEVELS, bands=(LATE_2025_BAND,),
                         y_range=(0.0, max(110_000.0, float(px_hi[:k].max()) * 1.06))))
    out.append(ChartData("btc_fan", "BTC price fan over the horizon", "USD per BTC",
                         f"P5-P95 and median of {n:,} paths, and {ENTERED}, over the whole horizon (the P95 in full).",
                         months=months, fans=((fan_name, px_lo, px_mid, px_hi),),
                         lines=(Line(path_name, one.btc_price_usd[0], 1, width=1.5),),
                         y_range=(0.0, float(px_hi.max()) * 1.06)))
    mw = mw_by_use(one)
    out.append(ChartData("mw_by_use", "Capacity by use, all sites", "MW (gross)",
                         "Gross MW each month: mining (installed machines with PUE), AI/HPC (converted), idle.",
                         months=months, stacked=tuple((k, v) for k, v in mw.items())))
    ai_capex = np.asarray(one.ai.capex_usd, float).sum(axis=1)
    asic_capex = np.asarray(one.asic_capex_usd, float).sum(axis=1)
    if ai_capex.any() or asic_capex.any():      # no capex in the horizon: no empty chart
        out.append(ChartData("capex", "Capex by month", "USD million per month",
                             f"AI/HPC conversions (spread over their lead time) and ASIC purchases; "
                             f"total {usd_m(ai_capex.sum() + asic_capex.sum())} over the horizon.", months=months,
                             bars=(("AI/HPC conversions", ai_capex / 1e6), ("ASIC purchases", asic_capex / 1e6))))
    if tornado_df is not None and len(tornado_df):
        rows = tuple((r.name, r.low_label, r.high_label, r.npv_low_usd - r.base_npv_usd,
                      r.npv_high_usd - r.base_npv_usd) for r in tornado_df.itertuples(index=False)
                     if np.isfinite(r.npv_low_usd) and np.isfinite(r.npv_high_usd))
        out.append(ChartData("tornado", "NPV sensitivity (tornado)", "input",
                             f"Change in NPV {ENTERED} (base {usd_m(float(tornado_df.base_npv_usd.iloc[0]))}) when "
                             "each input moves to its low or high case, the others held; widest first.",
                             x_label="change in NPV (USD million)", tornado=rows))
    if frontier:
        pts = frontier_points(frontier)
        out.append(ChartData("frontier", "Efficient frontier: expected NPV against tail risk",
                             "Expected NPV (USD million)",
                             "Each point is the optimizer's plan at one risk weight w: expected NPV (mean of the "
                             "paths it planned on) against CVaR 95% of the NPV loss on them.",
                             x_label="CVaR of NPV loss (USD million)",
                             lines=(Line("Frontier", np.array([p[1] for p in pts]), 0, width=1.5,
                                         x=np.array([p[0] for p in pts])),), points=pts))
    if hedges is not None:
        (xu, yu), (xh, yh) = sorted_curve(hedges[0]), sorted_curve(hedges[1])
        out.append(ChartData("npv_hedges", "NPV distribution with and without the hedges", "NPV (USD million)",
                             f"NPV of each of {n:,} paths, sorted worst to best, without and with the scenario's "
                             "hedge book (after tax, discounted).", x_label="share of paths (%), worst to best",
                             lines=(Line("Unhedged", yu / 1e6, 0, x=xu), Line("Hedged", yh / 1e6, 1, x=xh)),
                             levels=((0.0, "NPV 0"),)))
    return out


# ----------------------------------------------------------------------------- the build
Progress = Callable[[float, str], None]



def _same_paths(res: EngineResult) -> dict:
    fees = res.random_fees_btc_per_block if res.random_fees_btc_per_block is not None else path_fees(res)
    return {"prices": res.btc_price_usd, "fees_btc_per_block": fees, "gpu_rate_factor": res.gpu_rate_factor}


def stress_columns(plan: Scenario, base: Scenario, one_plan: EngineResult, one_base: EngineResult,
                   part: Progress) -> list[StressColumn]:
    """The plan and its status quo on the entered path and on each stress preset's path (one path each)."""
    def values(p: EngineResult, b: EngineResult, path: np.ndarray) -> dict[str, float | None]:
        m = per_path(p, plan.finance.starting_cash_usd)
        return {"btc_start": float(path[0]), "btc_low": float(path.min()),
                "hashprice_low": float(np.min(p.hashprice_usd_per_th_day[0]) * 1000.0),
                "npv": float(p.npv_usd[0]), "base_npv": float(b.npv_usd[0]),
                "increment": float(p.npv_usd[0] - b.npv_usd[0]), "btc": float(m["btc"][0]),
                "all_in_cost": _stat(m["all_in_cost"], "mean"), "low_cash": float(m["low_cash"][0])}

    cols = [StressColumn("Entered price path", "The scenario's own BTC price path.", "the scenario",
                         text.NETWORK_WORDS[plan.market.network_model],
                         values(one_plan, one_base, deterministic_path(plan)))]
    for k, p in enumerate(PRESETS.values()):
        part(k / len(PRESETS), p.name)
        model = with_preset_market(plan, p.name).market.network_model
        switched = model != plan.market.network_model
        cols.append(StressColumn(p.name, p.description, p.source,
                                 text.NETWORK_WORDS[model] + (" (switched on by the preset)" if switched else ""),
                                 values(run_engine(plan, preset=p.name), run_engine(base, preset=p.name),
                                        deterministic_path(plan, preset=p.name))))
    return cols


def build_board_pack(sc: Scenario, *, paths: int = 500, seed: int = 0, optimized: OptimizedPlan | None = None,
                     tornado_swing_pct: float = 20.0, progress: Progress | None = None,
                     cancel: Callable[[], bool] | None = None, today: datetime.date | None = None) -> BoardPack:
    """Everything the pack says about ``sc`` (see the module); ``progress(frac, text)``, ``cancel()`` raises
    :class:`~minerplan.engine.evaluate.Cancelled`."""
    from minerplan.analysis.tornado import tornado

    if paths < 2:
        raise ValueError(f"a board pack needs at least 2 price paths for its percentiles, got {paths}")
    plan = optimized.plan_scenario if optimized is not None and optimized.plan_scenario is not None else sc
    base = sc if plan is not sc else status_quo(sc)
    cash0 = plan.finance.starting_cash_usd
    progress_span(progress, cancel, 0.0, 0.02, "entered price path")(0.0)
    one, one_base = run_engine(plan), run_engine(base)
    many = run_engine(plan, n_paths=paths, seed=seed, progress=progress_span(progress, cancel, 0.02, 0.42, "Monte Carlo"),
                      cancel=cancel)
    many_base = run_engine(base, **_same_paths(many), progress=progress_span(progress, cancel, 0.42, 0.6, "status quo"),
                           cancel=cancel)
    m_one, m_many = per_path(one, cash0), per_path(many, cash0)
    m_one["increment"] = one.npv_usd - one_base.npv_usd
    diff = many.npv_usd - many_base.npv_usd
    m_many["increment"] = diff
    inc_median = float(np.median(many.npv_usd) - np.median(many_base.npv_usd))
    stress = stress_columns(plan, base, one, one_base, progress_span(progress, cancel, 0.6, 0.72, "stress scenarios"))
    torn = tornado(plan, swing_pct=tornado_swing_pct, base_npv_usd=float(one.npv_usd[0]),
                   progress=progress_span(progress, cancel, 0.72, 0.95, "tornado"), cancel=cancel)
    hedges = hedge_doc = None
    if plan.hedges:
        from minerplan.analysis.hedges import compare, hedged_npv

        progress_span(progress, cancel, 0.95, 0.98, "hedges")(0.0)
        hedge_doc = compare(many, plan.hedges)
        hedges = (many.npv_usd, hedged_npv(many, plan.hedges))
    progress_span(progress, cancel, 0.98, 1.0, "charts")(0.0)
    baseline = (text.ENTERED_BASELINE if optimized is not None and plan is not sc else baseline_description(sc))
    rec = text.recommendation(plan, sc, optimized, horizon_decisions(sc), paths,
                              value=((NPV_ON_PATH, float(m_one["increment"][0])),
                                     (expected_npv(paths), float(diff.mean())), (median_npv(paths), inc_median)),
                              diff=diff, stress=stress, tornado_df=torn, hedge_doc=hedge_doc, baseline=baseline,
                              npv=((NPV_ON_PATH, float(one.npv_usd[0])),
                                   (expected_npv(paths), float(many.npv_usd.mean())),
                                   (median_npv(paths), float(np.median(many.npv_usd)))))
    notes = [text.INCREMENT_NOTE, text.LOW_CASH_NOTE.format(cash=usd_m(cash0)) if cash0 is not None else
             text.NO_CASH_NOTE, text.statistics_note(paths, seed, plan)]
    return BoardPack(
        title="Board pack", scenario_name=plan.name if optimized is None else sc.name,
        generated=(today or datetime.date.today()).isoformat(), start_month=plan.start_month,
        horizon_months=plan.horizon_months, paths=paths, seed=seed, optimized=optimized is not None,
        recommendation=rec, kpis=tuple(kpi_rows(m_one, m_many, inc_median, cash0)), kpi_notes=tuple(notes),
        charts=tuple(charts(one, many, torn, hedges, optimized.frontier if optimized else ())),
        stress_rows=text.STRESS_ROWS, stress=tuple(stress), inputs=tuple(text.scenario_inputs(plan)),
        sources=tuple(text.read_sources()), notes=sc.notes,
        method=text.method(plan, paths, seed, tornado_swing_pct, optimized.paths if optimized else None),
        hedges=hedge_doc, stats=(ENTERED, expected(paths), median(paths)), years=tuple(year_rows(many)),
        business=tuple(text.business(m_one["npv"][0], m_many["npv"], stress)))

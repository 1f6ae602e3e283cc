"""The board pack's words: the recommendation's sentences, the scenario's inputs, the sources, the method.

Used by :mod:`minerplan.analysis.board_pack` (the figures); no Qt. Money goes through
:mod:`minerplan.formats`; statistics are named "on the entered price path", "expected (mean of N
paths)" and "median", as everywhere in MinerPlan. :func:`read_sources` reads the tables of
``docs/sources.md`` (the source of every default) so the pack cites what the repository cites.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from minerplan.analysis.vocabulary import NPV_ON_PATH, capitalized, expected_npv, median_npv
from minerplan.formats import dollars, usd_m
from minerplan.markets.prices import PRESETS
from minerplan.scenario.errors import escape_control
from minerplan.scenario.model import Scenario

SOURCES_PATH = Path(__file__).resolve().parents[2] / "docs" / "sources.md"
#: Sections of docs/sources.md the pack reprints (their 3-column tables), by the start of the heading.
SOURCE_SECTIONS = ("Network and market", "Bitcoin protocol", "AI/HPC", "Valuation", "Stochastic models",
                   "Network supply model")

NETWORK_WORDS = {"supply": "supply model (hashrate answers hashprice)",
                 "capitulation": "capitulation model (miners switch off as hashprice falls)",
                 "trend": "trend (hashrate grows whatever hashprice does)"}
ENTERED_BASELINE = ("the scenario as entered (nothing bought, converted or retired beyond it), "
                    "on the plan's price paths")
INCREMENT_NOTE = ("NPV the plan adds: the median column is the plan's median NPV minus the status quo's median NPV, "
                  "as the app and minerplan evaluate report it; P5 and P95 are of the per-path difference.")
LOW_CASH_NOTE = ("Lowest cash balance: the starting cash ({cash}) plus the deepest cumulative net cash flow, "
                 "before any credit line.")
NO_CASH_NOTE = "Deepest cumulative net cash: the scenario states no starting cash, so this is the funding need."
#: Rows of the stress table: (key of StressColumn.values, label, unit).
STRESS_ROWS = (("btc_start", "BTC price, first month", "USD/BTC"), ("btc_low", "BTC price, lowest month", "USD/BTC"),
               ("hashprice_low", "Hashprice, lowest month", "USD/PH/day"), ("npv", "NPV of the plan", "USD"),
               ("base_npv", "NPV of the status quo", "USD"), ("increment", "NPV the plan adds", "USD"),
               ("btc", "BTC mined", "BTC"), ("all_in_cost", "Cost per BTC, all-in", "USD/BTC"),
               ("low_cash", "Lowest cash balance", "USD"))


def figure(v: float | None, unit: str) -> str:
    """A table cell: USD in millions, USD/BTC and BTC in whole units, hashprice with cents."""
    if v is None or not np.isfinite(v):
        return "n/a"
    if unit == "USD":
        return usd_m(v)
    if unit == "USD/BTC":
        return dollars(v, 0)
    if unit == "USD/PH/day":
        return dollars(v, 2)
    if unit == "BTC":
        return f"{v:,.0f}"
    return f"{v:,.2f}"


def _decision_lines(decisions) -> list[str]:
    out = [f"Convert {cv.gross_mw:,.1f} MW (gross) at {cv.site} from {cv.start_month} "
           f"({'colocation lease' if cv.business_model == 'colocation' else 'GPU cloud'})."
           for cv in decisions.conversions]
    out += [f"Buy {c.count:,.0f} {c.model} for {c.site}, delivered {c.purchase_month}." for c in decisions.purchases]
    out += [f"Retire {c.count:,.0f} {c.model} at {c.site} from {c.retire_month}." for c in decisions.retirements]
    return [escape_control(s) for s in out]


def _adds(mean: float, med: float, entered: float, paths: int, against: str) -> str:
    return (f"it adds {usd_m(mean, plus=True)} of {expected_npv(paths)} over {against}; "
            f"{usd_m(med, plus=True)} of {median_npv(paths)} and {usd_m(entered, plus=True)} of {NPV_ON_PATH}.")


def recommendation(plan: Scenario, entered: Scenario, optimized, decisions, paths: int, *, value, diff, stress,
                   tornado_df, hedge_doc, baseline: str, npv=()):
    """The executive summary's recommendation (see :class:`~minerplan.analysis.board_pack.Recommendation`):
    ``value`` what the plan adds per statistic, ``npv`` the plan's own NPV per statistic (shown instead
    when there is no plan to weigh)."""
    from minerplan.analysis.board_pack import ENTERED, Recommendation

    (_, v_entered), (_, v_mean), (_, v_median) = value
    has_plan = not decisions.empty if optimized is None else optimized.plan_scenario is not None
    if optimized is not None and optimized.plan_scenario is None:
        head = f"No recommendation: the optimizer found no plan ({optimized.status.replace('_', ' ')})."
    elif optimized is not None:
        head = "Adopt the optimizer's plan: " + _adds(v_mean, v_median, v_entered, paths, "the scenario as entered")
    elif not has_plan:
        head = ("No decision to take: the scenario has no conversions, purchases or retirements inside the horizon. "
                "This pack values the business as it stands; minerplan report --optimize (or the app's Optimize "
                "tab) recommends a plan.")
    else:
        signs = [v > 0 for v in (v_entered, v_mean, v_median)]
        verdict = ("Proceed with the plan" if all(signs) else "Do not proceed with the plan" if not any(signs)
                   else "The plan is marginal")
        head = f"{verdict}: " + _adds(v_mean, v_median, v_entered, paths, "the status quo")
    if optimized is not None:
        actions = tuple(escape_control(s) for s in optimized.actions)
    else:
        actions = tuple(_decision_lines(decisions)) or ("Keep operating the fleet and the sites as entered.",)
    conf: list[str] = []
    if has_plan:
        n = len(diff)
        wins = int(np.sum(diff > 1.0))
        p5, p95 = np.percentile(diff, [5, 95])
        conf.append(f"The plan beats the status quo on {wins:,} of {n:,} paths ({wins / n:.0%}); the difference runs "
                    f"from {usd_m(p5, plus=True)} (P5) to {usd_m(p95, plus=True)} (P95).")
        won = sum(1 for c in stress if (c.values.get("increment") or 0.0) > 0)
        conf.append(f"It beats the status quo in {won} of {len(stress)} stress cases (the entered price path and "
                    f"the {len(PRESETS)} late-2025 presets; see Stress scenarios).")
    if optimized is not None:
        conf += [escape_control(s) for s in optimized.confidence]
    if tornado_df is not None and len(tornado_df):
        r = tornado_df.iloc[0]
        name = r["input"] if r["input"][1:2].isupper() else r["input"][:1].lower() + r["input"][1:]
        conf.append(f"The NPV is most sensitive to the {name}: {usd_m(r['npv_low_usd'])} at {r['low_label']}, "
                    f"{usd_m(r['npv_high_usd'])} at {r['high_label']} ({ENTERED}).")
    if hedge_doc is not None:
        u, h = hedge_doc["unhedged"], hedge_doc["hedged"]
        conf.append(f"The hedge book moves the P5 NPV from {usd_m(u['p5_usd'])} to {usd_m(h['p5_usd'])} and the "
                    f"{expected_npv(paths)} from {usd_m(u['mean_usd'])} to {usd_m(h['mean_usd'])}.")
    if has_plan or not npv:
        return Recommendation(head, actions, tuple(value), tuple(conf), baseline)
    return Recommendation(head, actions, tuple(npv), tuple(conf), baseline, increment=False)


def business(npv_entered: float, npv: np.ndarray, stress) -> list[str]:
    """The business's value and risk in sentences: the NPV across the statistics, the worst stress case."""
    from minerplan.analysis.vocabulary import p5_npv, p95_npv

    n = len(npv)
    p5, med, p95 = np.percentile(npv, [5, 50, 95])
    worst = min(stress, key=lambda c: c.values.get("npv") or 0.0)
    return [f"{capitalized(NPV_ON_PATH)}: {usd_m(npv_entered)}; {expected_npv(n)}: {usd_m(float(np.mean(npv)))}; "
            f"{median_npv(n)}: {usd_m(med)}.",
            f"{capitalized(p5_npv(n))}: {usd_m(p5)}; {p95_npv(n)}: {usd_m(p95)}; the NPV is below zero on "
            f"{float(np.mean(npv < 0)):.0%} of the paths.",
            f"The worst stress case is {worst.name} ({worst.description.split('.')[0].strip()}): NPV "
            f"{usd_m(worst.values.get('npv'))} on its price path."]


def statistics_note(paths: int, seed: int, sc: Scenario) -> str:
    mc = sc.monte_carlo
    return (f"Monte Carlo: {paths:,} paths, seed {seed}, {mc.model.upper()} model, {mc.volatility_pct_per_year:g}%/yr "
            "volatility; the entered price path is the median path. P5 and P95: 5th and 95th percentiles across paths.")


def _price_path(sc: Scenario) -> str:
    pp = sc.price_path
    if pp.kind == "flat":
        return f"flat at {dollars(sc.market.btc_price_usd, 0)}"
    if pp.kind == "growth":
        return f"growing {pp.growth_pct_per_month:g}% a month"
    return f"{len(pp.points)} points, to {dollars(pp.points[-1].btc_price_usd, 0)} in {pp.points[-1].month}"


def scenario_inputs(sc: Scenario) -> list[tuple[str, str]]:
    """The scenario's key inputs as (label, value with unit) rows."""
    mk, fin, mc = sc.market, sc.finance, sc.monte_carlo
    rows = [("Start and horizon", f"{sc.start_month}, {sc.horizon_months} months"),
            ("BTC price at the start", f"{dollars(mk.btc_price_usd, 0)} per BTC"),
            ("Entered BTC price path", _price_path(sc)),
            ("Monte Carlo price model", f"{mc.model.upper()}, {mc.volatility_pct_per_year:g}%/yr volatility"),
            ("Difficulty; hashrate online", f"{mk.difficulty_value / 1e12:,.2f}T; {mk.online_hashrate_ehs:,.0f} EH/s"),
            ("Fees", f"{mk.fees_btc_per_block:g} BTC per block"),
            ("Network model", NETWORK_WORDS[mk.network_model]),
            ("Discount rate; tax rate; pool fee",
             f"{fin.discount_rate_pct:g}%/yr; {fin.tax_rate_pct:g}%; {fin.pool_fee_pct:g}%"),
            ("G&A", f"{usd_m(fin.g_and_a_usd_per_month, 2)} per month"),
            ("Starting cash; credit line",
             ("not stated" if fin.starting_cash_usd is None else usd_m(fin.starting_cash_usd))
             + f"; {usd_m(fin.credit_line_usd)} at {fin.credit_line_rate_pct:g}%/yr")]
    for s in sc.sites:
        v = f"{s.capacity_mw:,.0f} MW, {dollars(s.power_price_usd_per_mwh)}/MWh, PUE {s.pue:g}"
        if s.ai is not None:
            v += (f"; AI/HPC: {s.ai.convertible_gross_mw:,.0f} MW convertible, "
                  f"{usd_m(s.ai.conversion_capex_usd_per_critical_mw)} per critical MW, "
                  f"{dollars(s.ai.colocation.rate_usd_per_kw_month, 0)}/kW-month lease")
        rows.append((f"Site {escape_control(s.name)}", v))
    units = sum(c.count for c in sc.fleet)
    ehs = sum(c.count * c.hashrate_ths for c in sc.fleet) / 1e6
    rows.append(("Fleet", f"{units:,.0f} machines, {ehs:,.2f} EH/s nameplate, "
                          f"{len({c.model for c in sc.fleet})} models in {len(sc.fleet)} rows"))
    for cv in sc.conversion_plan:
        rows.append(("Conversion", f"{cv.gross_mw:,.1f} MW (gross) at {escape_control(cv.site)} from {cv.start_month}, "
                                   f"{cv.business_model.replace('_', ' ')}"))
    rows.append(("Hedges", f"{len(sc.hedges)} in the scenario's book" if sc.hedges else "none"))
    return rows


def _cells(line: str) -> list[str]:
    return [c.strip().replace("`", "") for c in line.strip().strip("|").split("|")]


def read_sources(path: Path | None = None) -> list[tuple[str, tuple[tuple[str, str, str], ...]]]:
    """(section heading, rows of (fact, value, source)) of the 3-column tables in docs/sources.md
    whose heading starts with one of :data:`SOURCE_SECTIONS`, in the file's order; [] without the file."""
    try:
        lines = (path or SOURCES_PATH).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out, heading, rows = [], None, []

    def flush():
        if heading and rows:
            out.append((heading, tuple(rows)))

    for line in lines:
        if line.startswith("## "):
            flush()
            h = line[3:].strip()
            heading, rows = (re.sub(r"`", "", h) if h.startswith(SOURCE_SECTIONS) else None), []
        elif heading and line.startswith("|"):
            cells = _cells(line)
            if len(cells) == 3 and not set("".join(cells)) <= set("-: ") and cells[0] not in ("fact", "parameter"):
                rows.append(tuple(cells))
    flush()
    return out


def method(sc: Scenario, paths: int, seed: int, swing_pct: float,
           optimizer_paths: int | None = None) -> tuple[tuple[str, str], ...]:
    """The method appendix: (heading, paragraph) pairs; ``optimizer_paths``: the optimizer's, when it ran."""
    fin = sc.finance
    out = [
        ("What is valued",
         "MinerPlan's engine builds the monthly cash flows of every site, fleet row and AI/HPC conversion over the "
         f"{sc.horizon_months}-month horizon from {sc.start_month}: BTC mined from the fleet's hashrate and the "
         "network's (block subsidy by height, halvings, fees), hourly dispatch against each site's power prices with "
         "curtailment and take-or-pay, mining opex, AI/HPC leases or GPU cloud, capex, G&A and tax. The NPV "
         f"discounts the after-tax cash flows at {fin.discount_rate_pct:g}%/yr and adds the value at the horizon's "
         "end (contracted AI/HPC income past it and the resale value of the machines), discounted."),
        ("Statistics",
         f"Every figure names its statistic. On the entered price path: the scenario's own BTC path, one run. "
         f"Expected (mean of {paths:,} paths): the mean over Monte Carlo paths drawn with seed {seed} from the "
         f"{sc.monte_carlo.model.upper()} model; the entered BTC path is the median of their prices, so their mean "
         "price sits above it. "
         "Median (of N paths): the 50th percentile across the same paths. P5 and P95: the 5th and 95th "
         "percentiles. The network "
         "answers each path's hashprice (supply or capitulation model), so difficulty differs between paths."),
        ("The plan against the status quo",
         "The plan's value is its NPV minus the status quo's on the same price paths, fees and GPU rental index, so "
         "the difference is the plan's and not a different draw of the market. Without the optimizer the status "
         "quo is the scenario without its conversions, purchases and retirements inside the horizon (retired "
         "machines keep running); with it, the scenario as entered."),
        ("Stress scenarios",
         "Each late-2025 preset replaces the BTC path with a named story (one path each). "
         + " ".join(f"{p.name.capitalize()}: {p.description}" for p in PRESETS.values())
         + " A scenario on the trend network runs the presets with miner capitulation switched on, and the table "
           "says so, so that a price crash is not flattered by a network that keeps growing."),
        ("Sensitivity",
         f"The tornado moves each major input to a low and a high case, {swing_pct:g}% of its value each side "
         "(rates by fixed points: hashrate growth 1 pt, discount rate 2 pt, pool fee 1 pt), one run on the "
         "entered price path each, the other inputs held."),
        ("Breakevens",
         "A fleet row's breakeven hashprice is the hashprice at which its first-month revenue net of pool fee pays "
         "its energy: 0.024 kWh per W-day x J/TH x PUE x USD/kWh / (1 - pool fee) x 1,000 TH per PH."),
    ]
    if optimizer_paths:
        out.append(("Optimizer",
                    f"The plan comes from MinerPlan's optimizer: a mixed-integer program solved by HiGHS on "
                    f"{optimizer_paths:,} price paths (seed {seed}), choosing conversions (in whole halls), purchases, "
                    "retirements and moves "
                    "to maximise expected NPV less the risk weight times the CVaR of the NPV loss, under site power, "
                    "capex, cash and take-or-pay constraints. The engine values the plan on this pack's "
                    f"{paths:,} paths; its confidence is measured on fresh paths it never saw and by re-solving on "
                    "independent samples."))
    if sc.hedges:
        out.append(("Hedges",
                    "Hashprice forwards and BTC options are valued on every path: option premiums by Black-Scholes "
                    "at the hedge's implied volatility, paid in the first month; payoffs after tax, discounted at "
                    "the scenario's rate."))
    out.append(("Reproduce",
                f"minerplan report SCENARIO.json --pdf OUT.pdf --paths {paths} --seed {seed}"
                f"{' --optimize' if optimizer_paths else ''} writes this pack; "
                f"minerplan evaluate SCENARIO.json --paths {paths} --seed {seed} prints the same figures, and "
                "minerplan sensitivity the tornado. The app's Overview, Market, What-if and Risk tabs show them."))
    out.append(("Limits",
                "A model, not a forecast: BTC paths follow a stochastic model calibrated on history; the network "
                "model is fitted on 2019-2025; power, opex and AI/HPC terms are the scenario's. Defaults marked "
                "'assumption' in the sources are MinerPlan judgements a user should review."))
    return tuple(out)

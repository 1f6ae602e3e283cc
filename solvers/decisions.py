"""Candidate decisions and their exact, linear effect on every path's NPV.

The optimizer's model is built from tidy data (PyPSA's habit): one row per
decision variable in ``DecisionSpace.table`` and numpy arrays of what one
unit of each decision does, computed with the engine's own building blocks
(:mod:`minerplan.engine.unit_economics`, :func:`minerplan.engine.fleet.fleet_arrays`,
:func:`minerplan.engine.ai.conversion_effect`). With taxes linear (every month's
income taxed at the rate, ``finance.tax_mode = "linear"``), no take-or-pay
coupling at the sites where it decides, and every installed machine fitting
its site (a constraint of the model), the engine's NPV of a plan is exactly
``base_npv + coef @ x`` on each path, which is what makes the plan's
round-trip through ``minerplan evaluate`` exact.

Decisions:
- ``convert``: gross MW (or halls) of a site starting conversion in a month, per business model;
- ``retire``: units of an existing fleet row sold in a month at the used-market price of that month on each
  path (:func:`minerplan.engine.evaluate.asic_salvage_by_row`);
- ``buy``: units of a catalog model delivered at a site in a month.
Sites with a take-or-pay contract are held as they are (their dispatch is
not separable by machine); their value comes from the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from minerplan.engine.ai import ai_arrays, conversion_effect
from minerplan.scenario.catalog import load_catalog
from minerplan.engine.evaluate import (ai_class_values, asic_residual_after_tax_by_row, asic_salvage_by_row, salvage_by_month,
                              scenario_network, site_price_matrix)
from minerplan.scenario.errors import Problem, ScenarioError
from minerplan.engine.finance import discount_factors, year_end_months, year_onehot
from minerplan.engine.fleet import fleet_arrays
from minerplan.scenario.months import add_months, month_index, parse_month
from minerplan.markets.prices import market_draw, with_preset_market
from minerplan.scenario.model import Cohort, Scenario
from minerplan.engine.unit_economics import UnitSpec, unit_margins

from .settings import OptimizerSettings

BUSINESS_MODELS = ("colocation", "gpu_cloud")


@dataclass
class DecisionSpace:
    """Everything the model builder needs, in tidy tables and arrays (USD, MW, months)."""

    scenario: Scenario
    settings: OptimizerSettings
    prices: np.ndarray                 # [path, month] BTC USD
    table: pd.DataFrame                # one row per variable
    coef_path: np.ndarray              # [path, n_var] NPV (USD) per unit of each variable
    base_npv: np.ndarray               # [path] NPV (USD) of commitments and the existing fleet, all placed
    cap_use: np.ndarray                # [n_var, site, month] gross MW used per unit of each variable
    cap_base: np.ndarray               # [site, month] gross MW used by the fleet and commitments
    decided_sites: np.ndarray          # [site] bool: the model decides here (no take-or-pay)
    capex_year: np.ndarray             # [n_var, year] capex per unit by calendar year (USD)
    capex_base_year: np.ndarray        # [year]
    years: list[int]
    site_names: list[str]
    notes: list[str] = field(default_factory=list)
    top_blocks: list["TopBlock"] = field(default_factory=list)
    discount: np.ndarray | None = None   # [month] end-of-month discount factors
    tax_rate: float = 0.0
    cash_views: list[str] = field(default_factory=list)     # liquidity views: "expected", "P10 path" ...
    cash_weights: np.ndarray | None = None                  # [view, path] weights of each view over paths
    cf_base: np.ndarray | None = None                       # [view, month] cash flow of the base plan (USD)
    cf_x: np.ndarray | None = None                          # [view, month, n_var] cash flow per unit of each var
    carryforward: bool = False                              # tax per calendar year with losses carried forward
    tax_rate_statutory: float = 0.0
    year_of_month: np.ndarray | None = None                 # [month] index into years
    taxable_base: np.ndarray | None = None                  # [path, year] taxable income of the base plan (USD)
    taxable_x: np.ndarray | None = None                     # [path, year, n_var] per unit of each variable
    #: move-in row -> the moved machine as delivered at its destination (count 1); move-out row -> the book
    #: value per unit it leaves its site at (USD). See build_decision_space's moves.
    move_arrivals: dict = field(default_factory=dict)
    move_sale_usd: dict = field(default_factory=dict)
    salvage_unit_usd: np.ndarray | None = None              # [n_var] a retirement's proceeds per unit in its month,
                                                            # expected over the paths (USD, before tax); 0 otherwise

    @property
    def n_var(self) -> int:
        return len(self.table)

    @property
    def year_onehot(self) -> np.ndarray:
        """``[month, year]``: ``monthly @ year_onehot`` sums by calendar year."""
        return year_onehot(self.year_of_month)

    @property
    def year_ends(self) -> np.ndarray:
        """``[year]`` each calendar year's last month, where its carry-forward tax is paid."""
        return year_end_months(self.year_of_month)

    @property
    def tax_npv_weights(self) -> np.ndarray:
        """``[year]`` g_y = df(end of y) - df(end of y + 1) (the last: df(end)): the NPV of the cumulative
        carry-forward tax K[., y] is -sum_y g_y K[., y] (tax paid in y is K[y] - K[y - 1], at y's end)."""
        df_end = self.discount[self.year_ends]
        return df_end - np.concatenate([df_end[1:], [0.0]])

    @property
    def last_year_paid(self) -> np.ndarray:
        """``[month]`` the last calendar year whose tax is paid by the end of that month (-1: none yet)."""
        return np.searchsorted(self.year_ends, np.arange(self.year_of_month.size), side="right") - 1

    @property
    def path_dependent(self) -> np.ndarray:
        """Variables whose NPV coefficient differs between paths (mining decisions)."""
        return (self.table["kind"] != "convert").to_numpy()


@dataclass
class TopBlock:
    """A take-or-pay site's per-path dispatch: slot = (fleet row, hour bucket); arrays in USD and MWh.

    Variables y[p, m, k] (units of the slot's fleet row running in that bucket, up to those installed)
    and shortfall s[p, m] >= need - drawn - AI energy. Running a unit in a slot is worth
    ``value[p, m, k]`` (revenue - energy cost - the credit it forgoes); the credit on idle energy is
    already in each installed unit's coefficient.
    """

    site: int
    cohorts: np.ndarray          # [C_s] fleet rows at the site
    slot_cohort: np.ndarray      # [K] index into cohorts
    value: np.ndarray            # [P, M, K] USD per unit running in the slot
    energy: np.ndarray           # [M, K] MWh per unit running in the slot
    units_base: np.ndarray       # [M, C_s] installed units before decisions
    need_mwh: np.ndarray         # [M] take-or-pay minimum less committed AI/HPC draw
    contract_usd_per_mwh: float
    can_curtail: bool
    ai_energy: np.ndarray        # [n_var, M] MWh drawn by AI/HPC per unit of each decision


def retirement_slots(space: DecisionSpace, blk: TopBlock) -> list[tuple[int, int, np.ndarray]]:
    """The retirement decisions of a take-or-pay block's fleet rows: ``(variable, month, the block's
    slots of that row)`` each; the units they retire leave those slots from that month on."""
    if not space.n_var:
        return []
    t = space.table
    cohort, month = t["cohort"].to_numpy(), t["month_idx"].to_numpy()
    row_of_slot = blk.cohorts[blk.slot_cohort]
    out = []
    for j in np.flatnonzero((t["kind"] == "retire").to_numpy()):
        slots = np.flatnonzero(row_of_slot == cohort[j])
        if slots.size:
            out.append((int(j), int(month[j]), slots))
    return out


def _grid(start: int, step: int, n: int, extra=()) -> list[int]:
    return sorted({m for m in range(start, n, step)} | {m for m in extra if start <= m < n})


def build_decision_space(sc: Scenario, st: OptimizerSettings, progress=None) -> DecisionSpace:
    st = st.for_scenario(sc)   # liquidity fields left None come from the scenario
    st.check()
    n_m, n_s = sc.horizon_months, len(sc.sites)
    fin = sc.finance
    r_tv = fin.tax_rate_pct / 100.0          # statutory rate: terminal values are after tax at it
    carry = fin.tax_mode == "carryforward"
    # Tax inside the horizon: linear mode folds it into every coefficient; carry-forward mode keeps the
    # coefficients pre-tax and the model adds an exact annual carry-forward tax per path (taxable_*).
    r = 0.0 if carry else r_tv
    df = discount_factors(fin.discount_rate_pct / 100.0, n_m)                  # [month]
    draw = market_draw(sc, n_paths=st.n_paths, seed=st.seed, preset=st.preset)
    prices = draw.btc_price_usd
    gpu_dev = None if draw.gpu_rate_factor is None else draw.gpu_rate_factor - 1.0   # [path, month]
    n_p = prices.shape[0]
    # per path with miner capitulation or random fees
    net = scenario_network(with_preset_market(sc, st.preset), prices, draw.fees_btc_per_block)
    days = net.days[0]
    hour_price, _ = site_price_matrix(sc)
    avg_price = hour_price.mean(axis=2)                                        # [month, site] USD/MWh
    pue = np.array([s.pue for s in sc.sites])
    opex_mw = np.array([s.mining_opex_usd_per_mw_month for s in sc.sites])
    has_top = np.array([s.take_or_pay_mwh_per_month > 0 for s in sc.sites])
    decided = np.ones(n_s, dtype=bool)
    notes = [f"site {s.name}: take-or-pay contract, so dispatch there is optimized path by path; the optimizer "
             "does not buy machines for it" for s in sc.sites if s.take_or_pay_mwh_per_month > 0]
    if progress:
        progress(0.05, "per-machine economics")

    # ---- base: the scenario as given, every machine installed and placed ----
    big_cap = np.full((n_m, n_s), np.inf)
    fl = fleet_arrays(sc, big_cap)
    units_base = fl.count[None, :] * fl.active                                  # [month, cohort]
    spec = UnitSpec(fl.site, fl.power_w_per_unit, fl.uptime, fl.hashrate_ths_per_unit, fl.active)
    um = unit_margins(sc, spec, net, prices, margin_only=True)
    opex_unit = (opex_mw[fl.site] * fl.power_w_per_unit * pue[fl.site] / 1e6)[None, :] * fl.active  # [M, C]
    mining_unit = um.margin_usd - opex_unit[None]                              # [P, M, C] USD per unit
    # At take-or-pay sites the dispatch is a per-path decision (TopBlock); an installed unit itself
    # only earns the credit on energy it does not draw, minus opex.
    credit_s = np.array([s.curtailment_credit_usd_per_mwh for s in sc.sites])
    on = fl.active * fl.uptime[None, :]
    e_unit = on * (fl.power_w_per_unit * pue[fl.site] / 1e6)[None, :] * 24.0 * days[:, None]        # [M, C] MWh
    at_top = has_top[fl.site]
    if at_top.any():
        mining_unit[:, :, at_top] = (credit_s[fl.site][None, at_top] * e_unit[:, at_top] - opex_unit[:, at_top])[None]
    base_mining = np.einsum("pmc,mc,m->p", mining_unit, units_base, df)
    hp_usd = np.broadcast_to(prices * net.hashprice_btc_per_th_day, (n_p, n_m))   # USD per TH/s per day

    def residual(f) -> np.ndarray:
        """After-tax resale value at the horizon's end per path and fleet row, discounted to today, [P, row]."""
        return np.broadcast_to(asic_residual_after_tax_by_row(sc, f, r_tv, hp_usd) * df[-1], (n_p, f.count.size))

    def salvage(f) -> np.ndarray:
        """Proceeds of each row's sale at its retirement month on each path (USD, undiscounted), [P, row]."""
        return np.broadcast_to(asic_salvage_by_row(sc, f, hp_usd, net.subsidy_btc), (n_p, f.count.size))

    salv_base = salvage_by_month(fl, salvage(fl), n_m, np.zeros(fl.count.size, dtype=int), 1)[:, :, 0]  # [P, M]
    base_det = (df @ (r * fl.depreciation_usd.sum(1) - fl.capex_usd.sum(1)) + (1 - r) * (salv_base @ df)
                + residual(fl).sum(axis=1))                                                # [P]
    base_npv = (1 - r) * base_mining + base_det
    ai = ai_arrays(sc, days)
    ai_ebitda = (ai.revenue_usd - ai.opex_usd - ai.energy_paid_by_miner_mwh * avg_price).sum(axis=1)
    base_npv = base_npv + df @ ((1 - r) * ai_ebitda + r * ai.depreciation_usd.sum(1) - ai.capex_usd.sum(1))
    base_npv = base_npv - (1 - r) * fin.g_and_a_usd_per_month * df.sum()
    # Each committed conversion's pre-tax cash at its own class rate, and its value past the horizon.
    class_adj, _, ai_terminal_pv = ai_class_values(ai, df, avg_price, r_tv,
                                                   None if gpu_dev is None else gpu_dev + 1.0)
    base_npv = base_npv + class_adj + ai_terminal_pv

    load_mw = fl.power_w_per_unit * pue[fl.site] / 1e6                          # [cohort] MW per unit
    cap_base = np.zeros((n_s, n_m))
    for s in range(n_s):
        cap_base[s] = (units_base[:, fl.site == s] * load_mw[fl.site == s][None, :]).sum(1)
    cap_base += ai.converted_gross_mw.T
    y0, m0 = parse_month(sc.start_month)
    year_of = np.array([y0 + (m0 - 1 + i) // 12 for i in range(n_m)])
    years = sorted(set(year_of.tolist()))
    to_year = (year_of[:, None] == np.array(years)[None, :]).astype(float)   # [month, year]
    capex_base_year = (fl.capex_usd.sum(1) + ai.capex_usd.sum(1)) @ to_year

    # Liquidity views: expected cash, and the path at a low quantile of average BTC price.
    views, W = ["expected"], [np.full(n_p, 1.0 / n_p)]
    if st.liquidity_quantile is not None and n_p > 1:
        avg = prices.mean(axis=1)
        target = np.quantile(avg, st.liquidity_quantile)
        pick = int(np.argmin(np.abs(avg - target)))
        views.append(f"P{st.liquidity_quantile * 100:g} price path")
        W.append(np.eye(n_p)[pick])
    W = np.array(W)
    n_w = len(views)
    cf_base = ((1 - r) * np.einsum("wp,pmc,mc->wm", W, mining_unit, units_base)
               + (r * fl.depreciation_usd.sum(1) - fl.capex_usd.sum(1))[None] + (1 - r) * (W @ salv_base)
               + ((1 - r) * ai_ebitda + r * ai.depreciation_usd.sum(1) - ai.capex_usd.sum(1))[None]
               - (1 - r) * fin.g_and_a_usd_per_month)
    cf_cols: list[np.ndarray] = []
    # Taxable income by calendar year (carry-forward mode): base [P, Y] and per unit of each variable.
    ti_cols: list[np.ndarray] = []
    ti_base = None
    if carry:
        ti_month = (np.einsum("pmc,mc->pm", mining_unit, units_base) + salv_base
                    + (ai_ebitda - ai.depreciation_usd.sum(1) - fin.g_and_a_usd_per_month
                       - fl.depreciation_usd.sum(1))[None])
        ti_base = ti_month @ to_year
    if gpu_dev is not None:
        # Random GPU rental prices: the scenario's own GPU halls earn more or less on each path.
        extra = ai.gpu_revenue_usd.sum(axis=1)[None, :] * gpu_dev                   # [path, month]
        base_npv = base_npv + (1 - r) * (extra @ df)
        cf_base = cf_base + (1 - r) * (W @ extra)
        if carry:
            ti_base = ti_base + extra @ to_year

    month_labels = [add_months(sc.start_month, i) for i in range(n_m)]
    rows: list[dict] = []
    salvage_unit: dict[int, float] = {}      # row -> a retirement's expected proceeds per unit
    move_out_rows: list[tuple] = []          # (row, fleet row, month, destination, book value per unit, months held)
    coef_cols: list[np.ndarray] = []
    cap_cols: list[np.ndarray] = []
    capex_cols: list[np.ndarray] = []
    commit_starts = [month_index(sc.start_month, c.start_month) for c in sc.conversion_plan]

    # ---- conversions (deterministic coefficients) ----
    if progress:
        progress(0.15, "conversion options")
    converted_fixed = ai.converted_gross_mw[-1] if n_m else np.zeros(n_s)
    for s, site in enumerate(sc.sites):
        if site.ai is None or not decided[s]:
            continue
        room = site.ai.convertible_gross_mw - converted_fixed[s]
        if room <= 1e-9:
            continue
        gross_per_hall = (st.hall_critical_mw / site.ai.critical_mw_per_gross_mw) if st.hall_critical_mw else None
        scale = gross_per_hall or 1.0
        ub = np.floor(room / scale + 1e-9) if gross_per_hall else room
        if ub <= 0:
            continue
        starts = np.arange(n_m)
        for model in BUSINESS_MODELS:
            eff = conversion_effect(sc, s, starts, 1.0, model, days)                  # fields [start, month]
            ebitda = eff.revenue_usd - eff.opex_usd - eff.energy_paid_by_miner_mwh * avg_price[None, :, s]
            cf_unit = (1 - r) * ebitda + r * eff.depreciation_usd - eff.capex_usd     # [start, month] per MW
            # Pre-tax cash at the conversion's class rate (tax stays at the company's), and the value past
            # the horizon at that rate.
            df_class = (1.0 + eff.monthly_discount_rate) ** -(np.arange(n_m) + 1.0)
            npv = cf_unit @ df + (ebitda - eff.capex_usd) @ (df_class - df)
            npv = npv + (1 - r_tv) * eff.after_horizon_usd * df_class[-1]
            capex_y = (eff.capex_usd * scale) @ to_year                               # [start, year]
            cf_conv = cf_unit * scale
            ti_conv = ((ebitda - eff.depreciation_usd) * scale) @ to_year             # [start, year]
            gpu_paths = gpu_dev is not None and model == "gpu_cloud"
            for t in range(n_m):
                extra = eff.revenue_usd[t][None, :] * scale * gpu_dev if gpu_paths else None   # [path, month]
                if extra is None:
                    cf_cols.append(np.broadcast_to(cf_conv[t], (n_w, n_m)))
                else:
                    cf_cols.append(cf_conv[t][None, :] + (1 - r) * (W @ extra))
                if carry:
                    ti_cols.append(np.broadcast_to(ti_conv[t], (n_p, len(years))) if extra is None
                                   else ti_conv[t][None, :] + extra @ to_year)
                rows.append(dict(kind="convert", site=site.name, site_idx=s, month_idx=t, month=month_labels[t],
                                 business_model=model, cohort=-1, model="", unit="halls" if gross_per_hall else "MW",
                                 scale_mw=scale, lb=0.0, ub=float(ub), integer=bool(gross_per_hall), dest="", link=-1))
                coef_cols.append(np.full(n_p, npv[t] * scale) if extra is None
                                 else npv[t] * scale + (1 - r) * (extra @ df) + extra @ (df_class - df))
                cap = np.zeros((n_s, n_m))
                cap[s] = eff.converted_gross_mw[t] * scale
                cap_cols.append(cap)
                capex_cols.append(capex_y[t])

    # ---- retirements of existing fleet rows, and moves of their units to another site ----
    # A move of a unit from its site in month t is, in the engine's terms, a sale at its book value in t
    # (no gain, no loss) and the delivery at the other site in t + downtime of the same machine (its TH/s
    # degraded by then) at that book value plus the move's cost, depreciated over its remaining life; the
    # book value is carried at the company's rate over the downtime, so only the move's cost is spent.
    move_book: dict[int, tuple[float, int]] = {}   # candidate k (move-out) -> (book value per unit, months held)
    if (st.allow_retirements or st.allow_moves) and len(sc.fleet):
        if progress:
            progress(0.3, "retirement and move options")
        cands, cand_of = [], []               # cand_of: (fleet row, month, destination site or -1 for a sale)
        # Not to or from a take-or-pay site: its dispatch, path by path, is per fleet row installed there. Only to
        # a site whose energy costs less (power x PUE + mining opex, USD per MWh drawn): a move to a dearer site
        # only frees room, which a sale frees too, and the candidates grow with sites squared (10 sites: 5 GB).
        all_in = avg_price.mean(axis=0) * pue + opex_mw / 730.5                      # [site] USD per MWh
        destinations = [d for d in range(n_s) if decided[d] and not has_top[d]] if st.allow_moves else []
        move_months = set(_grid(0, st.move_step_months, n_m, commit_starts))
        for c, co in enumerate(sc.fleet):
            if not decided[fl.site[c]] or co.count <= 0:
                continue
            bought = month_index(sc.start_month, co.purchase_month) if co.purchase_month else -1
            for t in _grid(0, st.retire_step_months, n_m, commit_starts):
                if not fl.active[t, c] or t <= bought:
                    continue
                if st.allow_retirements:
                    cands.append(co.model_copy(update={"count": 1.0, "retire_month": month_labels[t]}))
                    cand_of.append((c, t, -1))
                if t + st.move_downtime_months >= n_m or has_top[fl.site[c]] or t not in move_months:
                    continue
                held = (t - bought) if bought >= 0 else (co.age_months + t)           # months of depreciation
                book = co.purchase_price_usd * min(max(1.0 - held / co.useful_life_months, 0.0), 1.0)
                for d_site in destinations:
                    if d_site == fl.site[c] or all_in[d_site] >= all_in[fl.site[c]]:
                        continue
                    move_book[len(cands)] = (book, held)
                    cands.append(co.model_copy(update={"count": 1.0, "retire_month": month_labels[t],
                                                       "sale_price_usd": book}))
                    cand_of.append((c, t, d_site))
        if cands:
            unit_base = [sc.fleet[c].model_copy(update={"count": 1.0}) for c in range(len(sc.fleet))]
            fb = fleet_arrays(sc.model_copy(update={"fleet": unit_base}), big_cap)
            fc = fleet_arrays(sc.model_copy(update={"fleet": cands}), big_cap)
            cidx = np.array([c for c, _, _ in cand_of])
            det_base = r * fb.depreciation_usd - fb.capex_usd                                   # [M, C]
            det_cand = r * fc.depreciation_usd - fc.capex_usd
            # Sales at retirement: the candidate's in its month, less the row's own planned one (per unit).
            s_base, s_cand = salvage(fb), salvage(fc)                                            # [P, C], [P, K]
            t_base, t_cand = fb.retire_index, fc.retire_index
            df0 = np.append(df, 0.0)                                                             # index -1: no sale
            salv_npv = s_cand * df0[t_cand][None, :] - (s_base * df0[t_base][None, :])[:, cidx]
            # Mining value lost from the retirement month on: a reverse cumulative sum over months.
            disc = mining_unit * df[None, :, None]
            tail = np.flip(np.cumsum(np.flip(disc, axis=1), axis=1), axis=1)                   # [P, M, C]
            lost_active = fb.active[:, cidx] & ~fc.active                                       # [M, K]
            tidx = np.array([t for _, t, _ in cand_of])
            det = ((df @ (det_cand - det_base[:, cidx]))[None, :] + (1 - r) * salv_npv
                   + residual(fc) - residual(fb)[:, cidx])                                        # [P, K]
            coef = -(1 - r) * tail[:, tidx, cidx] + det                                            # [P, K]
            mu_w = np.einsum("wp,pmc->wmc", W, mining_unit)                                     # [view, M, C]
            det_month = det_cand - det_base[:, cidx]                                             # [M, K]
            ti_det = -fc.depreciation_usd + fb.depreciation_usd[:, cidx]                          # [M, K]
            s_cand_w, s_base_w = W @ s_cand, W @ s_base                                          # [view, K], [view, C]
            for k, (c, t, d_site) in enumerate(cand_of):
                # The sale's proceeds per path (s_p) and per cash view (s_w), by month.
                s_w = np.zeros((n_w, n_m))
                if t_cand[k] >= 0:      # -1: no sale inside the horizon (fleet_arrays)
                    s_w[:, t_cand[k]] += s_cand_w[:, k]
                if t_base[c] >= 0:
                    s_w[:, t_base[c]] -= s_base_w[:, c]
                cf_cols.append(-(1 - r) * mu_w[:, :, c] * lost_active[None, :, k] + det_month[None, :, k]
                               + (1 - r) * s_w)
                if carry:
                    s_p = np.zeros((n_p, n_m))
                    if t_cand[k] >= 0:
                        s_p[:, t_cand[k]] += s_cand[:, k]
                    if t_base[c] >= 0:
                        s_p[:, t_base[c]] -= s_base[:, c]
                    ti_cols.append((-mining_unit[:, :, c] * lost_active[None, :, k] + ti_det[None, :, k] + s_p)
                                   @ to_year)
                co = sc.fleet[c]
                if d_site < 0:
                    salvage_unit[len(rows)] = float(s_cand[:, k].mean())
                else:
                    move_out_rows.append((len(rows), c, t, d_site, *move_book[k]))
                rows.append(dict(kind="retire" if d_site < 0 else "move_out", site=co.site, site_idx=int(fl.site[c]),
                                 month_idx=t, month=month_labels[t], business_model="", cohort=c, model=co.model,
                                 unit="units", scale_mw=float(load_mw[c]), lb=0.0, ub=float(co.count), integer=False,
                                 dest=sc.sites[d_site].name if d_site >= 0 else "", link=-1))
                coef_cols.append(coef[:, k])
                cap = np.zeros((n_s, n_m))
                cap[fl.site[c]] = -load_mw[c] * lost_active[:, k]
                cap_cols.append(cap)
                capex_cols.append(np.zeros(len(years)))  # selling machines needs no capex

    def new_machine_columns(cohorts: list) -> list[dict]:
        """Per cohort of machines delivered in the horizon (count 1): its NPV per path, cash per view and
        month, taxable income per path and year, capacity use, capex by year and MW per unit."""
        if not cohorts:
            return []
        fnew = fleet_arrays(sc.model_copy(update={"fleet": cohorts}), big_cap)
        spec_n = UnitSpec(fnew.site, fnew.power_w_per_unit, fnew.uptime, fnew.hashrate_ths_per_unit, fnew.active)
        umn = unit_margins(sc, spec_n, net, prices, margin_only=True)
        opex_n = (opex_mw[fnew.site] * fnew.power_w_per_unit * pue[fnew.site] / 1e6)[None, :] * fnew.active
        mining_n = np.einsum("pmk,m->pk", umn.margin_usd - opex_n[None], df)
        det_n = (df @ (r * fnew.depreciation_usd - fnew.capex_usd))[None, :] + residual(fnew)      # [P, K]
        load_n = fnew.power_w_per_unit * pue[fnew.site] / 1e6
        mn_w = np.einsum("wp,pmk->wmk", W, umn.margin_usd - opex_n[None])                  # [view, M, K]
        det_n_month = r * fnew.depreciation_usd - fnew.capex_usd                             # [M, K]
        out = []
        for k in range(len(cohorts)):
            cap = np.zeros((n_s, n_m))
            cap[fnew.site[k]] = load_n[k] * fnew.active[:, k]
            out.append(dict(cf=(1 - r) * mn_w[:, :, k] + det_n_month[None, :, k],
                            ti=(((umn.margin_usd[:, :, k] - opex_n[None, :, k]) - fnew.depreciation_usd[None, :, k])
                                @ to_year) if carry else None,
                            coef=(1 - r) * mining_n[:, k] + det_n[:, k], cap=cap,
                            capex_year=fnew.capex_usd[:, k] @ to_year, load_mw=float(load_n[k])))
        return out

    # ---- purchases from the catalog ----
    if st.allow_purchases and st.purchase_models:
        if progress:
            progress(0.5, "purchase options")
        catalog = load_catalog()
        missing = [m for m in st.purchase_models if m not in catalog]
        if missing:
            raise ScenarioError([Problem("purchase_models", f"{m!r} is not in the ASIC catalog "
                                                            f"(assets/asic_catalog.csv)") for m in missing])
        buys, buy_of = [], []
        for s, site in enumerate(sc.sites):
            if has_top[s]:
                continue
            for model in st.purchase_models:
                spec_m = catalog[model]
                for t in _grid(st.purchase_lead_time_months, st.purchase_step_months, n_m):
                    buys.append(Cohort(model=model, count=1.0, hashrate_ths=spec_m.hashrate_ths, power_w=spec_m.power_w,
                                       site=site.name, uptime_pct=st.purchase_uptime_pct,
                                       degradation_pct_per_year=st.purchase_degradation_pct_per_year,
                                       purchase_price_usd=spec_m.unit_price_usd,
                                       useful_life_months=st.purchase_useful_life_months,
                                       purchase_month=add_months(sc.start_month, t)))
                    buy_of.append((s, model, t))
        for k, col_k in enumerate(new_machine_columns(buys)):
            s, model, t = buy_of[k]
            site = sc.sites[s]
            cf_cols.append(col_k["cf"])
            if carry:
                ti_cols.append(col_k["ti"])
            rows.append(dict(kind="buy", site=site.name, site_idx=s, month_idx=t, month=add_months(sc.start_month, t),
                             business_model="", cohort=-1, model=model, unit="units", scale_mw=col_k["load_mw"],
                             lb=0.0, ub=float(site.capacity_mw / col_k["load_mw"]), integer=False, dest="", link=-1))
            coef_cols.append(col_k["coef"])
            cap_cols.append(col_k["cap"])
            capex_cols.append(col_k["capex_year"])

    # ---- the arrival side of each move: the same machines delivered at the destination ----
    move_arrivals: dict[int, Cohort] = {}     # move-in row -> its cohort (count 1), for the plan
    move_sale: dict[int, float] = {}           # move-out row -> the book value per unit it leaves at
    if move_out_rows:
        from minerplan.engine.valuation import ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY, asic_unit_value_usd

        i_m = (1.0 + fin.discount_rate_pct / 100.0) ** (1.0 / 12.0) - 1.0
        wait = st.move_downtime_months
        arrivals = []
        for j_out, c, t, d_site, book, held in move_out_rows:
            co = sc.fleet[c]
            age = held + wait                                        # months old when it arrives
            ths_arrive = co.hashrate_ths * (1.0 - co.degradation_pct_per_year / 100.0) ** (age / 12.0)
            quote = co.salvage_usd
            if quote > 0:   # the row's quote, moved to the machine as it arrives (the same scale on the market)
                ths0 = float(fl.hashrate_ths_per_unit[0, c]) if n_m else co.hashrate_ths
                v_src = float(asic_unit_value_usd(co.power_w, ths0, ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY))
                v_arr = float(asic_unit_value_usd(co.power_w, ths_arrive, ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY))
                quote = quote * v_arr / v_src if v_src > 0 else quote
            arrivals.append(Cohort(model=co.model, count=1.0, hashrate_ths=ths_arrive, power_w=co.power_w,
                                   site=sc.sites[d_site].name, uptime_pct=co.uptime_pct,
                                   degradation_pct_per_year=co.degradation_pct_per_year,
                                   purchase_price_usd=book * (1.0 + i_m) ** wait + st.move_cost_usd_per_unit,
                                   useful_life_months=max(int(round(co.useful_life_months - held)), 1),
                                   purchase_month=month_labels[t + wait], salvage_usd=quote, moved_from=co.site))
        for k, col_k in enumerate(new_machine_columns(arrivals)):
            j_out, c, t, d_site, book, _ = move_out_rows[k]
            rows[j_out]["link"] = k
            move_sale[j_out] = book
            move_arrivals[len(rows)] = arrivals[k]
            cf_cols.append(col_k["cf"])
            if carry:
                ti_cols.append(col_k["ti"])
            rows.append(dict(kind="move_in", site=sc.sites[d_site].name, site_idx=d_site, month_idx=t,
                             month=month_labels[t], business_model="", cohort=c, model=sc.fleet[c].model,
                             unit="units", scale_mw=col_k["load_mw"], lb=0.0, ub=float(sc.fleet[c].count),
                             integer=False, dest=sc.sites[d_site].name, link=k))
            coef_cols.append(col_k["coef"])
            cap_cols.append(col_k["cap"])
            # Capex of a move is its cost (the book value it arrives at is the one it left at).
            capex_cols.append(st.move_cost_usd_per_unit * to_year[t + wait])

    table = pd.DataFrame(rows, columns=["kind", "site", "site_idx", "month_idx", "month", "business_model", "cohort",
                                        "model", "unit", "scale_mw", "lb", "ub", "integer", "dest", "link"])
    n_var = len(table)
    space = DecisionSpace(
        scenario=sc, settings=st, prices=prices, table=table,
        coef_path=np.stack(coef_cols, axis=1) if n_var else np.zeros((n_p, 0)),
        base_npv=base_npv, cap_use=np.stack(cap_cols) if n_var else np.zeros((0, n_s, n_m)), cap_base=cap_base,
        decided_sites=decided, capex_year=np.stack(capex_cols) if n_var else np.zeros((0, len(years))),
        capex_base_year=capex_base_year, years=years, site_names=[s.name for s in sc.sites], notes=notes)
    space.discount, space.tax_rate = df, r
    space.cash_views, space.cash_weights, space.cf_base = views, W, cf_base
    space.tax_rate_statutory, space.carryforward = r_tv, carry
    space.year_of_month = (year_of[:, None] == np.array(years)[None, :]).argmax(axis=1)
    if carry:
        space.taxable_base = ti_base
        space.taxable_x = np.stack(ti_cols, axis=2) if n_var else np.zeros((n_p, len(years), 0))
    space.cf_x = np.stack(cf_cols, axis=2) if n_var else np.zeros((n_w, n_m, 0))
    space.salvage_unit_usd = np.array([salvage_unit.get(j, 0.0) for j in range(n_var)])
    space.move_arrivals, space.move_sale_usd = move_arrivals, move_sale
    if has_top.any():
        conv_energy = np.zeros((n_var, n_m))
        for j in np.flatnonzero((table["kind"] == "convert").to_numpy()):
            row = table.iloc[j]
            eff = conversion_effect(sc, int(row.site_idx), int(row.month_idx), float(row.scale_mw),
                                    row.business_model, days)
            conv_energy[j] = eff.energy_mwh
        hp_usd = prices * net.hashprice_btc_per_th_day
        th_unit = on * fl.hashrate_ths_per_unit * days[:, None]                              # [M, C] TH-days
        for s_i in np.flatnonzero(has_top):
            site = sc.sites[s_i]
            cohorts = np.flatnonzero(fl.site == s_i)
            nb = 24 if site.hourly_price_usd_per_mwh is not None else 1
            p_b = hour_price[:, s_i, :nb]                                                     # [M, B]
            th = th_unit[:, cohorts][:, :, None] / nb                                         # [M, C, 1]
            e = np.broadcast_to(e_unit[:, cohorts][:, :, None] / nb, th.shape[:2] + (nb,))   # [M, C, B]
            fee = fin.pool_fee_pct / 100.0
            value = (hp_usd[:, :, None, None] * (1 - fee) * th[None]
                     - (p_b[:, None, :] + site.curtailment_credit_usd_per_mwh)[None] * e[None])  # [P, M, C, B]
            k = cohorts.size * nb
            space.top_blocks.append(TopBlock(
                site=int(s_i), cohorts=cohorts, slot_cohort=np.repeat(np.arange(cohorts.size), nb),
                value=value.reshape(n_p, n_m, k), energy=e.reshape(n_m, k), units_base=units_base[:, cohorts],
                need_mwh=site.take_or_pay_mwh_per_month - ai.energy_mwh[:, s_i],
                contract_usd_per_mwh=site.power_price_usd_per_mwh, can_curtail=site.curtailment_enabled,
                ai_energy=np.where((table["site_idx"].to_numpy() == s_i)[:, None], conv_energy, 0.0)))
    _apply_fixed(space)
    return space


def _apply_fixed(space: DecisionSpace) -> None:
    """Pin variables the user fixed by hand (lb = ub = value); unknown references are named errors."""
    t = space.table
    problems = []
    for i, fx in enumerate(space.settings.fixed):
        where = f"fixed[{i}]"
        try:
            m = month_index(space.scenario.start_month, fx.month)
        except ValueError as e:
            problems.append(Problem(f"{where}.month", str(e)))
            continue
        sel = (t.kind == fx.kind) & (t.month_idx == m)
        if fx.kind == "convert":
            sel &= (t.site == fx.site) & (t.business_model == (fx.business_model or "colocation"))
        elif fx.kind == "retire":
            sel &= t.cohort == fx.cohort
        else:
            sel &= (t.site == fx.site) & (t.model == fx.model)
        idx = np.flatnonzero(sel.to_numpy())
        if idx.size != 1:
            problems.append(Problem(where, f"no {fx.kind} option matches (site {fx.site!r}, month {fx.month}); "
                                           "options exist only on the optimizer's month grid at sites it decides"))
            continue
        j = idx[0]
        value = fx.value / (t.at[j, "scale_mw"] if fx.kind == "convert" else 1.0)
        if value < t.at[j, "lb"] - 1e-9 or value > t.at[j, "ub"] + 1e-9:
            problems.append(Problem(f"{where}.value", f"{fx.value:g} is outside 0..{t.at[j, 'ub'] * (t.at[j, 'scale_mw'] if fx.kind == 'convert' else 1):g}"))
            continue
        t.at[j, "lb"] = t.at[j, "ub"] = value
    if problems:
        raise ScenarioError(problems, "optimizer settings")

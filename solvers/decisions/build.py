"""Candidate decisions and their exact, linear effect on every path's NPV: :func:`build_decision_space`.

The optimizer's model is built from tidy data (PyPSA's habit): one row per decision variable in
``DecisionSpace.table`` and numpy arrays of what one unit of each decision does, computed with the
engine's own building blocks (:mod:`minerplan.engine.unit_economics`,
:func:`minerplan.engine.fleet.fleet_arrays`, :func:`minerplan.engine.ai.conversion_effect`). With
taxes linear (every month's income taxed at the rate, ``finance.tax_mode = "linear"``), no
take-or-pay coupling at the sites where it decides, and every installed machine fitting its site
(a constraint of the model), the engine's NPV of a plan is exactly ``base_npv + coef @ x`` on each
path, which is what makes the plan's round-trip through ``minerplan evaluate`` exact.

One module per component, called in the order their variables get in the model:

- :mod:`~solvers.decisions.economics`: the scenario as given on the price paths (the base plan);
- :mod:`~solvers.decisions.conversions`: ``convert``, gross MW (or halls) of a site starting
  conversion in a month, per business model;
- :mod:`~solvers.decisions.retirements`: ``retire``, units of a fleet row sold in a month at the
  used-market price, and ``move_out``, units leaving for another site at their book value;
- :mod:`~solvers.decisions.purchases`: ``buy``, units of a catalog model delivered at a site;
- :mod:`~solvers.decisions.moves`: ``move_in``, the moved units arriving at their new site;
- :mod:`~solvers.decisions.take_or_pay`: sites with a take-or-pay contract keep their machines;
  their dispatch is decided per path;
- :mod:`~solvers.decisions.fixed`: decisions fixed by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from minerplan.scenario.model import Scenario

from ..settings import OptimizerSettings
from .columns import TABLE_COLUMNS, Columns
from .conversions import add_conversions
from .economics import Economics, scenario_economics
from .fixed import apply_fixed
from .moves import add_arrivals
from .purchases import add_purchases
from .retirements import add_retirements
from .space import DecisionSpace
from .take_or_pay import take_or_pay_blocks


def build_decision_space(sc: Scenario, st: OptimizerSettings, progress=None) -> DecisionSpace:
    """Every candidate decision of ``sc`` under ``st`` and what one unit of each does (see the module)."""
    st = st.for_scenario(sc)   # liquidity fields left None come from the scenario
    st.check()
    eco = scenario_economics(sc, st, progress)
    cols = Columns()
    if progress:
        progress(0.15, "conversion options")
    add_conversions(eco, cols)
    salvage_unit, departures = add_retirements(eco, cols, progress)
    add_purchases(eco, cols, progress)
    move_arrivals, move_sale = add_arrivals(eco, cols, departures)
    space = _space(eco, cols)
    space.salvage_unit_usd = np.array([salvage_unit.get(j, 0.0) for j in range(space.n_var)])
    space.move_arrivals, space.move_sale_usd = move_arrivals, move_sale
    space.top_blocks = take_or_pay_blocks(eco, space.table)
    apply_fixed(space)
    return space


def _space(eco: Economics, cols: Columns) -> DecisionSpace:
    """The decision space of the variables in ``cols``: their table and arrays stacked, and the base plan."""
    sc = eco.sc
    n_p, n_s, n_m, n_w, years = eco.n_p, eco.n_s, eco.n_m, eco.n_w, eco.years
    table = pd.DataFrame(cols.rows, columns=TABLE_COLUMNS)
    n_var = len(table)
    space = DecisionSpace(
        scenario=sc, settings=eco.st, prices=eco.prices, table=table,
        coef_path=np.stack(cols.coef, axis=1) if n_var else np.zeros((n_p, 0)),
        base_npv=eco.base_npv, cap_use=np.stack(cols.cap) if n_var else np.zeros((0, n_s, n_m)),
        cap_base=eco.cap_base, decided_sites=eco.decided,
        capex_year=np.stack(cols.capex) if n_var else np.zeros((0, len(years))),
        capex_base_year=eco.capex_base_year, years=years, site_names=[s.name for s in sc.sites], notes=eco.notes)
    space.discount, space.tax_rate = eco.df, eco.tax_rate
    space.cash_views, space.cash_weights, space.cf_base = eco.views, eco.W, eco.cf_base
    space.tax_rate_statutory, space.carryforward = eco.tax_rate_statutory, eco.carryforward
    space.year_of_month = (eco.year_of[:, None] == np.array(years)[None, :]).argmax(axis=1)
    if eco.carryforward:
        space.taxable_base = eco.ti_base
        space.taxable_x = np.stack(cols.ti, axis=2) if n_var else np.zeros((n_p, len(years), 0))
    space.cf_x = np.stack(cols.cf, axis=2) if n_var else np.zeros((n_w, n_m, 0))
    return space

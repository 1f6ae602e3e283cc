"""The arrival side of moves: the machines of a ``move_out`` delivered at their new site (``move_in``).

A move of a unit from its site in month t is, in the engine's terms, a sale at its book value in t
(no gain, no loss: :mod:`solvers.decisions.retirements`) and the delivery at the other site in
t + ``move_downtime_months`` of the same machine, its TH/s degraded by its age then, at that book
value plus the move's cost (``move_cost_usd_per_unit``), depreciated over its remaining life. The
book value is carried at the company's rate over the downtime, so only the move's cost is spent
(the move's capex). A row's salvage quote moves with it, scaled on the ASIC price index to the
machine as it arrives. The two sides share ``link`` and the model makes them equal
(:mod:`solvers.model.fleet`).
"""

from __future__ import annotations

from minerplan.engine.valuation import ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY, asic_unit_value_usd
from minerplan.scenario.fleet import Cohort

from .columns import Columns
from .economics import Economics
from .new_machines import new_machine_columns
from .retirements import Departure


def arriving_machine(eco: Economics, dep: Departure) -> Cohort:
    """The machine of ``dep`` as it arrives at its destination (count 1)."""
    sc, st, fl = eco.sc, eco.st, eco.fl
    i_m = (1.0 + sc.finance.discount_rate_pct / 100.0) ** (1.0 / 12.0) - 1.0
    wait = st.move_downtime_months
    co = sc.fleet[dep.cohort]
    age = dep.held_months + wait                                    # months old when it arrives
    ths_arrive = co.hashrate_ths * (1.0 - co.degradation_pct_per_year / 100.0) ** (age / 12.0)
    quote = co.salvage_usd
    if quote > 0:   # the row's quote, moved to the machine as it arrives (the same scale on the market)
        ths0 = float(fl.hashrate_ths_per_unit[0, dep.cohort]) if eco.n_m else co.hashrate_ths
        v_src = float(asic_unit_value_usd(co.power_w, ths0, ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY))
        v_arr = float(asic_unit_value_usd(co.power_w, ths_arrive, ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY))
        quote = quote * v_arr / v_src if v_src > 0 else quote
    return Cohort(model=co.model, count=1.0, hashrate_ths=ths_arrive, power_w=co.power_w,
                  site=sc.sites[dep.dest].name, uptime_pct=co.uptime_pct,
                  degradation_pct_per_year=co.degradation_pct_per_year,
                  purchase_price_usd=dep.book_usd * (1.0 + i_m) ** wait + st.move_cost_usd_per_unit,
                  useful_life_months=max(int(round(co.useful_life_months - dep.held_months)), 1),
                  purchase_month=eco.month_labels[dep.month + wait], salvage_usd=quote, moved_from=co.site)


def add_arrivals(eco: Economics, cols: Columns,
                 departures: list[Departure]) -> tuple[dict[int, Cohort], dict[int, float]]:
    """Append a ``move_in`` variable per departure to ``cols`` and link the two. Returns the moved machine
    of each move-in variable (count 1) and the book value per unit (USD) of each move-out variable."""
    move_arrivals: dict[int, Cohort] = {}     # move-in row -> its cohort (count 1), for the plan
    move_sale: dict[int, float] = {}           # move-out row -> the book value per unit it leaves at
    if not departures:
        return move_arrivals, move_sale
    sc, st = eco.sc, eco.st
    arrivals = [arriving_machine(eco, dep) for dep in departures]
    for k, col_k in enumerate(new_machine_columns(eco, arrivals)):
        dep = departures[k]
        c, t, d_site = dep.cohort, dep.month, dep.dest
        cols.rows[dep.row]["link"] = k
        move_sale[dep.row] = dep.book_usd
        j = cols.add(dict(kind="move_in", site=sc.sites[d_site].name, site_idx=d_site, month_idx=t,
                          month=eco.month_labels[t], business_model="", cohort=c, model=sc.fleet[c].model,
                          unit="units", scale_mw=col_k["load_mw"], lb=0.0, ub=float(sc.fleet[c].count),
                          integer=False, dest=sc.sites[d_site].name, link=k),
                     coef=col_k["coef"], cap=col_k["cap"],
                     # Capex of a move is its cost (the book value it arrives at is the one it left at).
                     capex=st.move_cost_usd_per_unit * eco.to_year[t + st.move_downtime_months],
                     cf=col_k["cf"], ti=col_k["ti"])
        move_arrivals[j] = arrivals[k]
    return move_arrivals, move_sale

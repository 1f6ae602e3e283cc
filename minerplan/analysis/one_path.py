"""One deterministic engine run: the NPV on the scenario's entered price path, and edited copies of a scenario.

What the tornado and the breakeven solvers evaluate again and again: a copy of the
scenario with one input moved (validated like a file, so an out-of-range move is a
:class:`~minerplan.scenario.errors.ScenarioError`) and its NPV in USD on one path.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from minerplan.engine.evaluate import run_engine
from minerplan.scenario.files import scenario_from_dict, scenario_to_dict
from minerplan.scenario.model import Scenario


def npv_one_path(sc: Scenario, prices: np.ndarray | None = None) -> float:
    """The NPV (USD) of ``sc`` on its deterministic price path, or on ``prices`` (``[1, month]`` USD/BTC)."""
    return float(run_engine(sc, n_paths=1, prices=prices).npv_usd[0])


def edited(sc: Scenario, mutate: Callable[[dict], None], source: str) -> Scenario:
    """``sc`` with ``mutate`` applied to its JSON document, validated (``source`` names the edit in errors)."""
    d = scenario_to_dict(sc)
    mutate(d)
    return scenario_from_dict(d, source)


def scale_power(d: dict, factor: float) -> None:
    """Scale every site's contract price (USD/MWh) and hourly profile, if any, by ``factor`` in a JSON document."""
    for s in d["sites"]:
        s["power_price_usd_per_mwh"] = s["power_price_usd_per_mwh"] * factor
        if s.get("hourly_price_usd_per_mwh") is not None:
            s["hourly_price_usd_per_mwh"] = [[x * factor for x in row] for row in s["hourly_price_usd_per_mwh"]]

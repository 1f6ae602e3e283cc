"""The scenario's fleet: a cohort is a batch of identical ASICs at one site (``Scenario.fleet``).

Per unit: hashrate in TH/s, wall power in W, prices in USD; ages and lives in months.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from minerplan.scenario.plausibility import Soft
from minerplan.scenario.value_types import Month, Name, Pct, StrictModel


class Cohort(StrictModel):
    """A batch of identical ASICs at one site."""

    model: Name
    count: Annotated[float, Soft(None, 1_000_000, "units", "the largest public fleets run ~300,000-400,000 "
                                                         "machines")] = Field(ge=0, le=10_000_000, allow_inf_nan=False,
                         description="units; may be fractional when an optimizer plan splits a cohort")
    hashrate_ths: Annotated[float, Soft(1, 2_000, "TH/s", "sold ASICs make 13.5 (S9) to 860 TH/s (S21e XP Hyd "
                                                          "3U)")] = Field(
        gt=0, le=100_000, allow_inf_nan=False, description="nameplate hashrate per unit, TH/s")
    power_w: Annotated[float, Soft(100, 20_000, "W", "sold ASICs draw 1.3-11.2 kW")] = Field(
        gt=0, le=1_000_000, allow_inf_nan=False, description="wall power per unit, W")
    site: Name
    uptime_pct: Pct = 97.0
    degradation_pct_per_year: float = Field(2.0, ge=0, le=100, allow_inf_nan=False,
                                            description="hashrate lost per year of age, %")
    purchase_price_usd: Annotated[float, Soft(None, 50_000, "USD per unit", "new ASICs listed at $2k-20k in "
                                                                          "2025")] = Field(
        0.0, ge=0, le=10_000_000, allow_inf_nan=False, description="price per unit, USD (capex if bought in the "
                                                                   "horizon)")
    age_months: int = Field(0, ge=0, le=600, description="age at the start month")
    useful_life_months: int = Field(36, ge=1, le=240, description="straight-line depreciation life (public miners "
                                                                 "depreciate ASICs over ~3 years, e.g. Cipher)")
    purchase_month: Month | None = Field(None, description="delivery month if bought during the horizon")
    retire_month: Month | None = Field(None, description="first month the cohort no longer runs")
    salvage_usd: Annotated[float, Soft(None, 50_000, "USD per unit", "used ASICs resell below new ones")] = Field(
        0.0, ge=0, le=10_000_000, allow_inf_nan=False,
        description="optional resale quote per unit in the late-2025 market, USD: retired units sell at the "
                    "used-ASIC market price (~22 months of their margin at a buyer's $0.05/kWh, on each month's "
                    "hashprice); a quote scales that price for this machine; 0: the market price alone")
    moved_from: Name | None = Field(None, description="the site these machines were moved from (an optimizer "
                                                     "plan's move; a label: the engine does not read it)")
    sale_price_usd: float | None = Field(
        None, ge=0, le=10_000_000, allow_inf_nan=False,
        description="a stated price per unit for the units retired at retire_month (a signed sale, or an "
                    "optimizer plan's move to another site, which passes them on at book value), USD; absent: "
                    "the used-ASIC market price")

    @property
    def efficiency_j_per_th(self) -> float:
        return self.power_w / self.hashrate_ths

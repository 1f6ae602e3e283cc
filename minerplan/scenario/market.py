"""The scenario's market: network state and response (supply or capitulation), price path, Monte Carlo.

Types of ``Scenario.market`` (:class:`Market`, with :class:`NetworkSupply` and
:class:`HashrateResponse`), ``Scenario.price_path`` (:class:`PricePath`) and
``Scenario.monte_carlo`` (:class:`MonteCarlo`). Units are in each field's name or
description (USD, EH/s, % per month or per year).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from minerplan.scenario.plausibility import Soft
from minerplan.scenario.value_types import BtcPriceUsd, Month, Pos, StrictModel


class HashrateTier(StrictModel):
    """A slice of the network's installed hashrate: its share, efficiency and all-in cash cost per kWh."""

    share_pct: Pos = Field(le=100, description="share of installed network hashrate, % (shares are normalized)")
    efficiency_j_per_th: Pos = Field(le=1000)
    power_usd_per_kwh: Pos = Field(le=10, description="all-in cash cost of running a kWh (power + hosting)")


def _default_tiers() -> list[HashrateTier]:
    from minerplan.markets.network_response import DEFAULT_TIERS

    return [HashrateTier(share_pct=t.share_pct, efficiency_j_per_th=t.efficiency_j_per_th,
                         power_usd_per_kwh=t.power_usd_per_kwh) for t in DEFAULT_TIERS]


class HashrateResponse(StrictModel):
    """Miner capitulation: network hashrate answers hashprice, per price path (see network_response).

    When present, the network is simulated on every price path: tiers whose
    cash cost exceeds hashprice switch off with a lag, blocks slow down, and
    difficulty retargets follow.
    """

    lag_months: float = Field(0.25, gt=0, le=24, allow_inf_nan=False,
                              description="time constant of switching off and back on, months")
    switch_width_pct: float = Field(15.0, gt=0, le=200, allow_inf_nan=False,
                                    description="spread of switch-off points within a tier, % of its breakeven")
    tiers: list[HashrateTier] = Field(default_factory=_default_tiers, min_length=1, max_length=50)


def _default_supply() -> "NetworkSupply":
    return NetworkSupply()


class NetworkSupply(StrictModel):
    """The supply network model (``market.network_model = "supply"``, the default; see network_supply).

    New machines are ordered when hashprice pays for them over ``payback_months``
    and arrive ``delivery_lag_months`` later at the efficiency frontier; installed
    machines switch off when hashprice falls below their cash cost and back on
    when it recovers. Defaults are calibrated on 2019-2022 history and checked
    out of sample on 2023-2025 (README, ``minerplan backtest-network``).
    """

    frontier_improvement_pct_per_year: float = Field(
        10.0, ge=0, lt=100, allow_inf_nan=False,
        description="how fast new machines' J/TH improve after the last known generation, %/yr")
    new_power_usd_per_kwh: float = Field(0.045, gt=0, le=1, allow_inf_nan=False,
                                         description="all-in power cost of new capacity, USD/kWh")
    new_capex_usd_per_w: float = Field(1.58, gt=0, le=50, allow_inf_nan=False,
                                       description="what builders behave as if new capacity (ASIC and site) cost, "
                                                   "USD per W (calibrated: a revealed hurdle, below list prices)")
    payback_months: float = Field(24.0, gt=0, le=120, allow_inf_nan=False,
                                  description="window over which builders want new machines to pay back, months")
    max_growth_pct_per_month: float = Field(5.3, ge=0, le=50, allow_inf_nan=False,
                                            description="most new capacity ordered in a month (manufacturing and "
                                                        "energisation limit), % of the installed base")
    entry_midpoint: float = Field(1.0, gt=0, le=100, allow_inf_nan=False,
                                  description="value over cost of a new machine at which orders run at half the "
                                              "limit")
    entry_width: float = Field(0.52, gt=0, le=10, allow_inf_nan=False,
                               description="spread of the order response (log of value over cost)")
    delivery_lag_months: float = Field(6.0, ge=0, le=36, allow_inf_nan=False,
                                       description="from order to energised hashrate, months")
    attrition_pct_per_month: float = Field(1.0, ge=0, le=50, allow_inf_nan=False,
                                           description="installed machines lost each month (failures, scrapping), %")
    halving_foresight: float = Field(0.0, ge=0, le=1, allow_inf_nan=False,
                                     description="how much of an upcoming halving builders price into new orders "
                                                 "(1: the subsidy cut in full for the part of the payback window past "
                                                 "it; 0: ignored)")
    pipeline_growth_pct_per_month: float | None = Field(
        None, ge=0, le=50, allow_inf_nan=False,
        description="deliveries already ordered for the first months, % of the installed base per month "
                    "(absent: what the start month's economics order)")
    lag_months: float = Field(0.5, gt=0, le=24, allow_inf_nan=False,
                              description="time constant of switching off and back on, months (about two weeks: "
                                          "faster, and a large idle fleet swings on and off around each retarget)")
    switch_width_pct: float = Field(15.0, gt=0, le=200, allow_inf_nan=False,
                                    description="spread of switch-off points within a tier, % of its breakeven")
    installed_base: list[HashrateTier] | None = Field(
        None, min_length=1, max_length=500,
        description="the installed base at the start by efficiency and power cost (absent: generated from the "
                    "efficiency frontier, see network_supply.installed_base_tiers)")


class Market(StrictModel):
    """Network and market state at the start month.

    Give ``difficulty`` or ``network_hashrate_ehs`` or both; when only one is
    given the other follows from H [hash/s] = D x 2^32 / 600. Both: the
    hashrate is what is online now (e.g. a 7-day average), which may differ
    from what the difficulty implies until the next retargets catch up.
    """

    btc_price_usd: BtcPriceUsd = Field(description="BTC spot price at the start month, USD")
    difficulty: Annotated[float, Soft(1.5e13, 1.5e15, "", "149.3T after the 26 Nov 2025 retarget")] | None = Field(
        None, ge=1e9, le=1e17, allow_inf_nan=False, description="current difficulty (dimensionless)")
    network_hashrate_ehs: Annotated[float, Soft(100, 10_000, "EH/s", "about 1,000-1,100 EH/s in late 2025")] | None = \
        Field(None, ge=0.01, le=700_000, allow_inf_nan=False, description="network hashrate online now, EH/s")
    fees_btc_per_block: Annotated[float, Soft(None, 2, "BTC per block", "monthly averages were 0.02-0.7 BTC in "
                                                                        "2019-2025")] = Field(
        0.02, ge=0, le=100, allow_inf_nan=False, description="average transaction fees per block, BTC")
    block_height: Annotated[int, Soft(500_000, 1_500_000, "", "the tip was ~925,000 in late 2025")] = Field(
        ge=0, le=50_000_000, description="current block height")
    hashrate_growth_pct_per_month: Annotated[float, Soft(-3, 6, "% per month", "the network grew 2-5% a month "
                                                                              "on average in 2019-2025")] = Field(
        1.0, ge=-50, le=50, allow_inf_nan=False,
        description="trend growth of network hashrate, % per month (compounded)")
    fee_growth_pct_per_month: Annotated[float, Soft(-10, 10, "% per month", "a sustained trend beyond 10% a "
                                                                            "month compounds 3x a year")] = Field(
        0.0, ge=-50, le=50, allow_inf_nan=False, description="growth of fees per block, % per month")
    hashrate_response: HashrateResponse | None = Field(
        None, description="switch-off parameters of the capitulation model (network_model 'capitulation')")
    network_model: Literal["supply", "capitulation", "trend"] = Field(
        "supply", description="supply: new machines when hashprice pays for them, old ones off when it does not; "
                              "capitulation: trend growth, switching off; trend: fixed growth whatever hashprice")
    network_supply: NetworkSupply = Field(default_factory=_default_supply)

    @model_validator(mode="before")
    @classmethod
    def _capitulation_files_keep_their_model(cls, data):
        # Files written before network_model existed chose capitulation by giving hashrate_response.
        if isinstance(data, dict) and "network_model" not in data and data.get("hashrate_response") is not None:
            data = {**data, "network_model": "capitulation"}
        return data

    @model_validator(mode="after")
    def _one_of_difficulty_or_hashrate(self) -> "Market":
        if self.difficulty is None and self.network_hashrate_ehs is None:
            raise ValueError("give either difficulty or network_hashrate_ehs")
        if self.difficulty is not None and self.network_hashrate_ehs is not None:
            implied = self.difficulty * 2.0**32 / 600.0 / 1e18
            ratio = self.network_hashrate_ehs / implied
            if not 0.5 <= ratio <= 2.0:
                raise ValueError(f"network_hashrate_ehs {self.network_hashrate_ehs:,.6g} EH/s is {ratio:.3g}x what "
                                 f"difficulty implies ({implied:,.6g} EH/s); the hashrate online can differ from that "
                                 "by retargets' lag, but not by more than 0.5x-2x")
        return self

    @property
    def difficulty_value(self) -> float:
        """Difficulty, derived from the hashrate when only that is given."""
        if self.difficulty is not None:
            return self.difficulty
        return self.network_hashrate_ehs * 1e18 * 600.0 / 2.0**32

    @property
    def online_hashrate_ehs(self) -> float:
        """Hashrate online at the start: as given, else what the difficulty implies (EH/s)."""
        if self.network_hashrate_ehs is not None:
            return self.network_hashrate_ehs
        return self.difficulty * 2.0**32 / 600.0 / 1e18

    @property
    def capitulation_params(self) -> "HashrateResponse":
        """The capitulation model's parameters (the documented defaults when the file gives none)."""
        return self.hashrate_response if self.hashrate_response is not None else HashrateResponse()


class PricePoint(StrictModel):
    month: Month
    btc_price_usd: BtcPriceUsd


class PricePath(StrictModel):
    """The deterministic BTC price path (the centre of any Monte Carlo fan).

    ``flat``: the start price every month; ``growth``: compounding at
    ``growth_pct_per_month``; ``points``: linear between user points, flat
    before the first and after the last (the start price anchors month 0
    unless a point is given for it).
    """

    kind: Literal["flat", "growth", "points"] = "flat"
    growth_pct_per_month: Annotated[float, Soft(-5, 5, "% per month", "BTC rose ~5% a month on average from "
                                                                      "2015 to 2025, with long falls")] = Field(
        0.0, ge=-50, le=50, allow_inf_nan=False)
    points: list[PricePoint] = Field(default_factory=list, max_length=1200)

    # kind 'points' without points is reported by check_consistency at price_path.points.


class MonteCarlo(StrictModel):
    """Random BTC price paths around the deterministic path, and optionally random fees.

    ``model``: ``gbm`` (geometric Brownian motion), ``merton`` (GBM plus
    Poisson jumps, compensated so the mean still grows at the drift) or
    ``regime`` (calm and stressed states switching month to month, each with
    its own drift and volatility; the calm state uses ``drift_pct_per_year``
    and ``volatility_pct_per_year``). Defaults for jumps and regimes are the
    documented assumptions in ``minerplan.markets.stochastic.defaults.SOURCED_DEFAULTS``.
    Fees per block become a mean-reverting random series (with a floor,
    correlated with the price's shocks) when ``fee_volatility_pct_per_month`` > 0.
    """

    model: Literal["gbm", "merton", "regime"] = "gbm"
    drift_pct_per_year: float | None = Field(
        None, ge=-200, le=200, allow_inf_nan=False,
        description="growth of the MEAN price, %/yr; absent: the drift that makes the entered price path the "
                    "median path (see median_drift_pct_per_year)")
    volatility_pct_per_year: Annotated[float, Soft(10, 150, "%/yr", "BTC's realized volatility was 40-80%/yr "
                                                                    "in 2019-2025")] = Field(
        50.0, ge=0, le=500, allow_inf_nan=False)
    jump_intensity_per_year: float = Field(3.0, ge=0, le=100, allow_inf_nan=False,
                                           description="expected jumps per year (merton)")
    jump_mean_pct: float = Field(-8.0, gt=-100, le=500, allow_inf_nan=False,
                                 description="mean jump size, % of the price (merton)")
    jump_volatility_pct: float = Field(10.0, ge=0, le=300, allow_inf_nan=False,
                                       description="volatility of the log jump size, % (merton)")
    stressed_drift_pct_per_year: float = Field(-60.0, ge=-500, le=500, allow_inf_nan=False)
    stressed_volatility_pct_per_year: float = Field(80.0, ge=0, le=500, allow_inf_nan=False)
    p_enter_stressed_per_month: float = Field(0.04, ge=0, le=1, allow_inf_nan=False)
    p_exit_stressed_per_month: float = Field(0.20, ge=0, le=1, allow_inf_nan=False)
    fee_volatility_pct_per_month: float = Field(0.0, ge=0, le=500, allow_inf_nan=False,
                                                description="0: fees follow the market's fee path exactly")
    fee_mean_reversion_per_month: float = Field(0.25, ge=0, le=1, allow_inf_nan=False)
    fee_floor_btc_per_block: float = Field(0.005, ge=0, le=10, allow_inf_nan=False)
    price_fee_correlation: float = Field(0.3, ge=-1, le=1, allow_inf_nan=False,
                                         description="correlation of monthly fee and price shocks")
    @property
    def centred_on_median(self) -> bool:
        """True when the entered price path is the Monte Carlo's median path (no drift given)."""
        return self.drift_pct_per_year is None

    @property
    def drift_value_pct_per_year(self) -> float:
        """The drift the paths use, %/yr: as given, or the one that keeps the median on the entered path."""
        if self.drift_pct_per_year is not None:
            return self.drift_pct_per_year
        from minerplan.markets.stochastic.price_factors import median_drift_pct_per_year

        return median_drift_pct_per_year(self)

    gpu_rate_volatility_pct_per_year: float = Field(
        0.0, ge=0, le=300, allow_inf_nan=False,
        description="volatility of GPU rental prices around their assumed path (gpu_cloud halls), %/yr; 0: none")

"""The scenario document (schema version 1): what a miner owns, pays and assumes.

A scenario is one JSON object. Every field has a unit in its name (or in its
description) and a default, so a minimal file only states what differs.
The models here are strict: unknown fields, wrong types and out-of-range values
are rejected, never coerced. Cross-field rules (site names, capacity, plans)
live in :func:`check_consistency`; :mod:`minerplan.scenario.files` turns both into
:class:`~minerplan.scenario.errors.ScenarioError` messages that name the field path.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from minerplan.scenario.errors import Problem
from minerplan.scenario.months import add_months, month_index, parse_month
from minerplan.scenario.plausibility import Soft

SCHEMA_VERSION = 1

NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Pos = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Pct = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
#: ``YYYY-MM`` with ASCII digits only (``\d`` would let any Unicode digit through) and no year 0000.
MONTH_PATTERN = r"^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-(0[1-9]|1[0-2])$"
Month = Annotated[str, Field(pattern=MONTH_PATTERN, description="calendar month YYYY-MM (e.g. 2025-12)")]


def _printable_name(v: str) -> str:
    # A name reaches terminals, spreadsheets (XML forbids most control characters) and charts:
    # a tab, NUL, ANSI escape or bidi override in it is a mistake or an attack, never a name.
    if not v.isprintable():
        bad = next(ch for ch in v if not ch.isprintable())
        raise ValueError(f"must not contain control or invisible characters (found {bad!r} at position "
                         f"{v.index(bad) + 1})")
    if v != v.strip():
        raise ValueError("must not start or end with spaces")
    return v


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable_name)]

# Hard bounds (pydantic ge/le: refused) and soft ranges (Soft: a warning) of the market's
# magnitudes; see minerplan.scenario.plausibility for the convention and docs/sources.md for the anchors.
BtcPriceUsd = Annotated[float, Field(ge=1, le=100_000_000, allow_inf_nan=False),
                        Soft(5_000, 2_000_000, "USD", "BTC traded $15.5k-$126k in 2022-2025")]
UsdPerMwh = Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False),
                      Soft(None, 300, "USD/MWh", "industrial power averages $30-120/MWh; ERCOT's offer cap is "
                                                 "$5,000/MWh for single hours")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, validate_default=True)


class HashrateTier(_Strict):
    """A slice of the network's installed hashrate: its share, efficiency and all-in cash cost per kWh."""

    share_pct: Pos = Field(le=100, description="share of installed network hashrate, % (shares are normalized)")
    efficiency_j_per_th: Pos = Field(le=1000)
    power_usd_per_kwh: Pos = Field(le=10, description="all-in cash cost of running a kWh (power + hosting)")


def _default_tiers() -> list[HashrateTier]:
    from minerplan.markets.network_response import DEFAULT_TIERS

    return [HashrateTier(share_pct=t.share_pct, efficiency_j_per_th=t.efficiency_j_per_th,
                         power_usd_per_kwh=t.power_usd_per_kwh) for t in DEFAULT_TIERS]


class HashrateResponse(_Strict):
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


class NetworkSupply(_Strict):
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


class Market(_Strict):
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


class PricePoint(_Strict):
    month: Month
    btc_price_usd: BtcPriceUsd


class PricePath(_Strict):
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


class MonteCarlo(_Strict):
    """Random BTC price paths around the deterministic path, and optionally random fees.

    ``model``: ``gbm`` (geometric Brownian motion), ``merton`` (GBM plus
    Poisson jumps, compensated so the mean still grows at the drift) or
    ``regime`` (calm and stressed states switching month to month, each with
    its own drift and volatility; the calm state uses ``drift_pct_per_year``
    and ``volatility_pct_per_year``). Defaults for jumps and regimes are the
    documented assumptions in ``minerplan.markets.stochastic.SOURCED_DEFAULTS``.
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
        from minerplan.markets.stochastic import median_drift_pct_per_year

        return median_drift_pct_per_year(self)

    gpu_rate_volatility_pct_per_year: float = Field(
        0.0, ge=0, le=300, allow_inf_nan=False,
        description="volatility of GPU rental prices around their assumed path (gpu_cloud halls), %/yr; 0: none")


class ColocationLease(_Strict):
    """Colocation lease of critical IT capacity to an AI/HPC tenant."""

    rate_usd_per_kw_month: Annotated[float, Soft(20, 500, "USD/kW-month", "2024-25 AI/HPC leases signed at "
                                                                          "$100-180/kW-month")] = Field(
        140.0, ge=0, le=10_000, allow_inf_nan=False, description="USD per kW of critical IT per month")
    escalator_pct_per_year: float = Field(3.0, ge=-20, le=50, allow_inf_nan=False)
    term_months: int = Field(120, ge=1, le=600)
    tenant_pays_power: bool = True
    opex_usd_per_kw_month: Annotated[float, Soft(None, 200, "USD/kW-month", "landlord opex is a fraction of "
                                                                            "the rent")] = Field(
        20.0, ge=0, le=10_000, allow_inf_nan=False, description="landlord opex per kW critical per month")
    tenant_credit: Literal["investment_grade", "high_yield"] = Field(
        "investment_grade", description="the tenant's credit, which sets the lease cash's discount rate (7.75% "
                                        "investment grade, 9.25% high yield; valuation.LEASE_DISCOUNT_RATE_PCT)")
    renewal_probability_pct: Pct = Field(
        70.0, description="chance the tenant renews at the end of the term, %: renewed months earn the lease "
                          "cash times this, until the facility's life ends")


class GpuCloud(_Strict):
    """GPU cloud: the miner buys GPUs and rents them by the hour."""

    gpus_per_critical_mw: Annotated[float, Soft(100, 2_000, "GPUs/MW", "an H100 or B200 server draws 1.2-1.9 kW "
                                                                       "per GPU")] = Field(
        600.0, gt=0, le=100_000, allow_inf_nan=False, description="GPUs installed per MW of critical IT")
    usd_per_gpu_hour: Annotated[float, Soft(None, 20, "USD/GPU-hour", "H100 rental was $2-3/hour in 2025")] = Field(
        2.0, ge=0, le=1_000, allow_inf_nan=False, description="rental price of a new GPU, USD per GPU-hour")
    rate_decline_pct_per_year: float = Field(
        25.0, ge=0, lt=100, allow_inf_nan=False,
        description="how fast a GPU generation's rental price falls as it ages, %/yr; a replacement GPU earns "
                    "usd_per_gpu_hour again")
    utilization_pct: Pct = Field(70.0)
    gpu_capex_usd: Annotated[float, Soft(None, 150_000, "USD per GPU", "all-in $30-60k per GPU in 2025")] = Field(
        40_000.0, ge=0, le=10_000_000, allow_inf_nan=False,
        description="all-in capex per GPU incl. servers/network, USD")
    useful_life_months: int = Field(72, ge=1, le=240)
    opex_usd_per_gpu_month: Annotated[float, Soft(None, 5_000, "USD per GPU-month", "a GPU rents for ~$1,500 a "
                                                                                  "month")] = Field(
        150.0, ge=0, le=1_000_000, allow_inf_nan=False)


class SiteAI(_Strict):
    """How much of a site can become AI/HPC capacity, at what cost and speed."""

    convertible_gross_mw: float = Field(ge=0, le=50_000, allow_inf_nan=False,
                                        description="gross utility MW that can be converted")
    critical_mw_per_gross_mw: float = Field(0.7, gt=0, le=1, allow_inf_nan=False,
                                            description="critical IT MW per gross MW (1/PUE)")
    conversion_capex_usd_per_critical_mw: Annotated[float, Soft(2_000_000, 30_000_000, "USD per critical MW",
                                                                "miners' 2024-25 conversions cost $8-11M per "
                                                                "critical MW")] = Field(
        9_500_000.0, ge=0, le=1_000_000_000, allow_inf_nan=False)
    lead_time_months: int = Field(12, ge=0, le=120)
    facility_life_months: int = Field(180, ge=1, le=600, description="depreciation life of conversion capex")
    load_factor_pct: Pct = Field(80.0, description="average draw of converted MW as % of gross")
    business_model: Literal["colocation", "gpu_cloud"] = "colocation"
    colocation: ColocationLease = Field(default_factory=ColocationLease)
    gpu_cloud: GpuCloud = Field(default_factory=GpuCloud)


class Site(_Strict):
    """A site and its power contract."""

    name: Name
    capacity_mw: Annotated[float, Soft(None, 2_000, "MW", "the largest mining sites are ~1 GW")] = Field(
        ge=0, le=50_000, allow_inf_nan=False, description="gross utility capacity, MW")
    power_price_usd_per_mwh: UsdPerMwh = Field(description="contract energy price, USD/MWh")
    pue: float = Field(1.05, ge=1, le=3, allow_inf_nan=False,
                       description="site draw per MW of ASIC load (cooling, auxiliaries)")
    hourly_price_usd_per_mwh: list[list[float]] | None = Field(
        None, description="optional 12x24 (calendar month x hour of day) energy price, USD/MWh; "
                          "replaces power_price_usd_per_mwh for energy drawn")
    curtailment_credit_usd_per_mwh: UsdPerMwh = Field(0.0, description="credit per MWh not drawn while curtailed")
    curtailment_enabled: bool = True
    take_or_pay_mwh_per_month: float = Field(0.0, ge=0, le=50_000 * 744, allow_inf_nan=False,
                                             description="minimum energy paid each month, MWh")
    mining_opex_usd_per_mw_month: Annotated[float, Soft(None, 100_000, "USD per MW-month", "site opex of "
                                                        "$10-40k per MW-month")] = Field(
        0.0, ge=0, le=1_000_000, allow_inf_nan=False, description="fixed opex per MW of mining load")
    ai: SiteAI | None = None

    @field_validator("hourly_price_usd_per_mwh")
    @classmethod
    def _profile_shape(cls, v):
        if v is None:
            return v
        if len(v) != 12:
            raise ValueError(f"needs 12 rows (January..December), got {len(v)}")
        for i, row in enumerate(v):
            if len(row) != 24:
                raise ValueError(f"row {i} needs 24 hourly prices, got {len(row)}")
            for h, x in enumerate(row):
                if x != x or x in (float("inf"), float("-inf")):
                    raise ValueError(f"row {i} hour {h} is not a finite number")
                if abs(x) > 10_000:
                    raise ValueError(f"row {i} hour {h}: {x:g} USD/MWh is out of range (|price| <= 10,000; "
                                     "ERCOT's offer cap is $5,000/MWh)")
        return v

    # ai.convertible_gross_mw <= capacity_mw is checked by check_consistency, which can name
    # sites[i].ai.convertible_gross_mw (a model validator's error lands on sites[i]).


class Cohort(_Strict):
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


class Conversion(_Strict):
    """A fixed decision: convert ``gross_mw`` of a site to AI/HPC from ``start_month``.

    The MW stop mining at ``start_month`` (construction), capex is spent evenly
    over the lead time, revenue starts at ``start_month + lead_time_months``.
    """

    site: Name
    gross_mw: float = Field(gt=0, le=50_000, allow_inf_nan=False)
    start_month: Month
    business_model: Literal["colocation", "gpu_cloud"] | None = None


class Finance(_Strict):
    pool_fee_pct: Pct = 2.0
    discount_rate_pct: float = Field(12.0, ge=0, le=100, allow_inf_nan=False,
                                     description="annual discount rate of merchant mining and the company's other "
                                                 "cash (G&A, tax), %")
    tax_rate_pct: Pct = Field(21.0, description="on taxable income")
    tax_mode: Literal["carryforward", "linear"] = Field(
        "carryforward", description="carryforward: tax per calendar year, paid in its last month, losses offset "
                                    "later profits only; linear: every month's income is taxed at the rate and a "
                                    "loss earns a credit at once (group relief)")
    g_and_a_usd_per_month: Annotated[float, Soft(None, 50_000_000, "USD/month", "the largest public miners "
                                                 "spend ~$5-20M a month")] = Field(
        0.0, ge=0, le=1_000_000_000, allow_inf_nan=False,
        description="corporate overhead (general and administrative), USD/month")
    g_and_a_mining_share_pct: float | None = Field(
        None, ge=0, le=100, allow_inf_nan=False,
        description="share of G&A charged to mining in cost per BTC and period economics, %; absent: mining's "
                    "share of revenue in each period")
    lease_discount_rate_pct: float | None = Field(
        None, ge=0, le=100, allow_inf_nan=False,
        description="annual discount rate of colocation lease cash, %; absent: by each lease's tenant_credit")
    gpu_cloud_discount_rate_pct: float = Field(
        15.0, ge=0, le=100, allow_inf_nan=False,
        description="annual discount rate of GPU cloud cash (uncontracted rental income), %")
    asic_residual_value: Literal["market", "salvage", "none"] = Field(
        "market", description="machines still installed at the horizon's end: market (the used-ASIC market "
                              "price at the last month's hashprice, scaled by each cohort's salvage_usd quote "
                              "when it has one, like a sale at retirement), salvage (the same; older files), "
                              "or nothing; taxed on the gain over book value")
    terminal_value: Literal["none", "contracted_ai", "ai_residual"] = Field(
        "ai_residual", description="AI/HPC value beyond the horizon, after tax: none; contracted_ai (colocation "
                                   "cash still under contract); ai_residual (that, the lease renewed with its "
                                   "probability until the facility's life ends, and GPUs' remaining life)")
    # Liquidity: with a starting cash the optimizer keeps cash at or above min_cash_usd by default
    # (issue 12: without a floor a plan could spend $210M the company does not have).
    starting_cash_usd: Annotated[float | None, Soft(None, 20_000_000_000, "USD", "the largest public miners "
                                                    "hold ~$1-2B of cash")] = Field(
        None, ge=0, le=1e12, allow_inf_nan=False,
        description="cash and equivalents at the start, USD; with it the optimizer keeps cash at or above "
                    "min_cash_usd in every month (drawing the credit line first); absent: no cash floor")
    min_cash_usd: float = Field(0.0, ge=-1e12, le=1e12, allow_inf_nan=False,
                                description="the cash floor, USD (0: never spend cash the company does not have)")
    credit_line_usd: float = Field(0.0, ge=0, le=1e12, allow_inf_nan=False,
                                   description="a revolving credit line that may cover cash below the floor, USD")
    credit_line_rate_pct: float = Field(10.0, ge=0, le=100, allow_inf_nan=False,
                                        description="annual interest on credit drawn, paid monthly from cash, %")


class Scenario(_Strict):
    schema_version: Literal[1]
    name: Name
    start_month: Month
    horizon_months: int = Field(ge=1, le=600)
    market: Market
    price_path: PricePath = Field(default_factory=PricePath)
    monte_carlo: MonteCarlo = Field(default_factory=MonteCarlo)
    sites: list[Site] = Field(min_length=1, max_length=1000)
    fleet: list[Cohort] = Field(default_factory=list, max_length=20_000)
    conversion_plan: list[Conversion] = Field(default_factory=list, max_length=10_000)
    finance: Finance = Field(default_factory=Finance)
    notes: str = Field("", max_length=100_000)

    @field_validator("schema_version", mode="before")
    @classmethod
    def _version_is_an_integer(cls, v):
        # strict Literal[1] still accepts 1.0 (== 1); every other integer field rejects floats.
        if type(v) is not int:
            raise ValueError(f"unsupported schema_version; this MinerPlan reads version {SCHEMA_VERSION}")
        return v

    @property
    def months(self) -> list[str]:
        return [add_months(self.start_month, i) for i in range(self.horizon_months)]

    @property
    def fleet_owned_at_start_ths(self) -> float:
        """Nameplate hashrate of the cohorts owned at the start (none bought in the horizon), TH/s."""
        return sum(c.count * c.hashrate_ths for c in self.fleet if not c.purchase_month)

    def site_index(self) -> dict[str, int]:
        return {s.name: i for i, s in enumerate(self.sites)}


def check_consistency(sc: Scenario) -> list[Problem]:
    """Rules that span fields; returns every problem found (empty when fine)."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, site in enumerate(sc.sites):
        if site.name in seen:
            problems.append(Problem(f"sites[{i}].name", f"duplicate site name {site.name!r} "
                                                         f"(also sites[{seen[site.name]}])"))
        seen.setdefault(site.name, i)
        if site.ai is not None and site.ai.convertible_gross_mw > site.capacity_mw:
            problems.append(Problem(f"sites[{i}].ai.convertible_gross_mw",
                                    f"{site.ai.convertible_gross_mw:g} MW exceeds capacity_mw "
                                    f"({site.capacity_mw:g} MW)"))
    if sc.price_path.kind == "growth" and sc.price_path.growth_pct_per_month != 0:
        # The path must stay within the bounds the start price has (a growth of 50% a month for 600
        # months reaches 1e105 USD, which the engine would turn into an NPV of the same size).
        g = sc.price_path.growth_pct_per_month
        end = sc.market.btc_price_usd * (1 + g / 100) ** (sc.horizon_months - 1)
        if not 1.0 <= end <= 100_000_000:
            problems.append(Problem("price_path.growth_pct_per_month",
                                    f"at {g:g}% a month the price path reaches {end:,.4g} USD by "
                                    f"{add_months(sc.start_month, sc.horizon_months - 1)}; BTC prices must stay "
                                    "within 1 to 100,000,000 USD"))
    if sc.price_path.kind == "points" and not sc.price_path.points:
        problems.append(Problem("price_path.points", "kind 'points' needs at least one entry in points"))
    for i, pt in enumerate(sc.price_path.points):
        if month_index(sc.start_month, pt.month) < 0:
            problems.append(Problem(f"price_path.points[{i}].month",
                                    f"{pt.month} is before start_month {sc.start_month}"))
    months = sc.price_path.points
    for i in range(1, len(months)):
        if month_index(months[i - 1].month, months[i].month) <= 0:
            problems.append(Problem(f"price_path.points[{i}].month", "points must be in increasing month order"))

    load_mw: dict[str, float] = {}
    for i, c in enumerate(sc.fleet):
        # A purchase before the start would be modelled as new (age 0) with its capex never booked.
        if c.purchase_month and month_index(sc.start_month, c.purchase_month) < 0:
            problems.append(Problem(f"fleet[{i}].purchase_month",
                                    f"{c.purchase_month} is before start_month {sc.start_month}; a cohort "
                                    "owned at the start has no purchase_month (give age_months instead)"))
        if c.retire_month and month_index(sc.start_month, c.retire_month) < 0:
            problems.append(Problem(f"fleet[{i}].retire_month",
                                    f"{c.retire_month} is before start_month {sc.start_month}; a cohort "
                                    "retired before the start does not belong in the fleet"))
        if c.site not in seen:
            names = ", ".join(repr(n) for n in list(seen)[:20]) + (", ..." if len(seen) > 20 else "")
            problems.append(Problem(f"fleet[{i}].site", f"names site {c.site!r}, which does not exist "
                                                        f"(sites: {names or 'none'})"))
            continue
        if c.purchase_month and c.retire_month and month_index(c.purchase_month, c.retire_month) <= 0:
            problems.append(Problem(f"fleet[{i}].retire_month", "must be after purchase_month"))
        if c.purchase_month and c.age_months:
            problems.append(Problem(f"fleet[{i}].age_months", "a cohort bought during the horizon has no age; "
                                                              "omit age_months or purchase_month"))
        load_mw[c.site] = load_mw.get(c.site, 0.0) + c.count * c.power_w / 1e6

    # Capacity: the peak concurrent load (purchases arrive, retirements leave) with PUE.
    for name, i in seen.items():
        site = sc.sites[i]
        peak_mw, peak_month = _peak_site_load_mw(sc, name)
        if peak_mw * site.pue > site.capacity_mw * (1 + 1e-9):
            problems.append(Problem(
                f"sites[{i}].capacity_mw",
                f"fleet at site {name!r} draws {peak_mw * site.pue:,.2f} MW including PUE {site.pue:g}"
                f" (in {peak_month}), above its capacity of {site.capacity_mw:,.2f} MW"))

    # A fleet larger than the network would earn more than every block's reward.
    fleet_ths = sc.fleet_owned_at_start_ths
    network_ths = sc.market.online_hashrate_ehs * 1e6
    if fleet_ths >= network_ths:
        problems.append(Problem("market.difficulty" if sc.market.network_hashrate_ehs is None
                                else "market.network_hashrate_ehs",
                                f"the network's {network_ths / 1e6:,.4g} EH/s is less than the fleet owned at the "
                                f"start ({fleet_ths / 1e6:,.4g} EH/s), which is part of it"))
    elif sc.market.network_model != "supply" and sc.market.hashrate_growth_pct_per_month < 0:
        # An exogenous trend that shrinks the network below the fleet (every machine it will own counted).
        all_ths = sum(c.count * c.hashrate_ths for c in sc.fleet)
        g = sc.market.hashrate_growth_pct_per_month
        end_ths = network_ths * (1 + g / 100) ** (sc.horizon_months - 1)
        if all_ths >= end_ths:
            problems.append(Problem("market.hashrate_growth_pct_per_month",
                                    f"at {g:g}% a month the network falls to {end_ths / 1e6:,.4g} EH/s by "
                                    f"{add_months(sc.start_month, sc.horizon_months - 1)}, below the fleet's "
                                    f"{all_ths / 1e6:,.4g} EH/s, which is part of it"))

    converted: dict[str, float] = {}
    for i, cv in enumerate(sc.conversion_plan):
        if cv.site not in seen:
            problems.append(Problem(f"conversion_plan[{i}].site", f"names site {cv.site!r}, which does not exist"))
            continue
        site = sc.sites[seen[cv.site]]
        if site.ai is None:
            problems.append(Problem(f"conversion_plan[{i}].site",
                                    f"site {cv.site!r} has no ai section, so nothing there is convertible"))
            continue
        if month_index(sc.start_month, cv.start_month) < 0:
            problems.append(Problem(f"conversion_plan[{i}].start_month",
                                    f"{cv.start_month} is before start_month {sc.start_month}"))
        converted[cv.site] = converted.get(cv.site, 0.0) + cv.gross_mw
        if converted[cv.site] > site.ai.convertible_gross_mw * (1 + 1e-9):
            problems.append(Problem(f"conversion_plan[{i}].gross_mw",
                                    f"plan converts {converted[cv.site]:g} MW at {cv.site!r}, above its "
                                    f"convertible_gross_mw of {site.ai.convertible_gross_mw:g} MW"))
    try:
        parse_month(sc.start_month)
    except ValueError as e:  # pragma: no cover - the pattern already guarantees it
        problems.append(Problem("start_month", str(e)))
    return problems


def _peak_site_load_mw(sc: Scenario, site: str) -> tuple[float, str]:
    """Highest ASIC load (MW, without PUE) present at once at ``site`` over the horizon."""
    events: set[int] = {0}
    rows = []
    for c in sc.fleet:
        if c.site != site:
            continue
        start = month_index(sc.start_month, c.purchase_month) if c.purchase_month else 0
        end = month_index(sc.start_month, c.retire_month) if c.retire_month else 10**9
        rows.append((max(start, 0), end, c.count * c.power_w / 1e6))
        if 0 <= start < sc.horizon_months:
            events.add(start)
    best, best_m = 0.0, 0
    for m in sorted(events):
        load = sum(mw for s, e, mw in rows if s <= m < e)
        if load > best:
            best, best_m = load, m
    return best, add_months(sc.start_month, best_m)

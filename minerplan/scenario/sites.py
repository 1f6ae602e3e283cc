"""The scenario's sites and their AI/HPC side: power contracts, convertible MW, leases, GPU cloud, conversions.

Types of ``Scenario.sites`` (:class:`Site`, with :class:`SiteAI`, :class:`ColocationLease`
and :class:`GpuCloud`) and of ``Scenario.conversion_plan`` (:class:`Conversion`, a fixed
decision to turn MW of a site into AI/HPC capacity). Power in MW (gross utility MW unless
a field says critical IT), energy prices in USD/MWh.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from minerplan.scenario.plausibility import Soft
from minerplan.scenario.value_types import Month, Name, Pct, StrictModel, UsdPerMwh


class ColocationLease(StrictModel):
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


class GpuCloud(StrictModel):
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


class SiteAI(StrictModel):
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


class Site(StrictModel):
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


class Conversion(StrictModel):
    """A fixed decision: convert ``gross_mw`` of a site to AI/HPC from ``start_month``.

    The MW stop mining at ``start_month`` (construction), capex is spent evenly
    over the lead time, revenue starts at ``start_month + lead_time_months``.
    """

    site: Name
    gross_mw: float = Field(gt=0, le=50_000, allow_inf_nan=False)
    start_month: Month
    business_model: Literal["colocation", "gpu_cloud"] | None = None

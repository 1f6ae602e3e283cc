"""The scenario's company finance (``Scenario.finance``): pool fee, discount rates, tax, G&A, liquidity.

Rates are % per year unless named per month; money in USD.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from minerplan.scenario.plausibility import Soft
from minerplan.scenario.value_types import Pct, StrictModel


class Finance(StrictModel):
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

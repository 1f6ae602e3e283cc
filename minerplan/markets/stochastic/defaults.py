"""Default parameters of the market paths, each with its unit, its source and how well it is founded.

:data:`SOURCED_DEFAULTS` holds each default with its source and whether it is a sourced figure
(``docs/sources.md`` or the shipped scenario), an estimate from public knowledge or a MinerPlan
assumption. :func:`default_values` applies overrides; :func:`default_correlation` is the correlation
matrix of the monthly shocks of the :data:`SERIES` (price, fee, hashrate, gpu).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping

import numpy as np

@dataclass(frozen=True)
class SourcedDefault:
    """A default parameter: its value, unit and where it comes from.

    ``basis`` is ``"sourced"`` (a figure in docs/sources.md or the
    shipped scenario), ``"estimate"`` (public knowledge not in that file, rounded)
    or ``"assumption"`` (a MinerPlan judgement the user should review).
    """

    value: float
    unit: str
    source: str
    basis: Literal["sourced", "estimate", "assumption"]

    @property
    def assumption(self) -> bool:
        """True unless the value is a sourced figure."""
        return self.basis != "sourced"


_MF = "docs/sources.md"

SOURCED_DEFAULTS: dict[str, SourcedDefault] = {
    # BTC price: Merton jump-diffusion
    "btc_drift_pct_per_year": SourcedDefault(
        12.5, "%/yr", "MinerPlan convention: the entered price path is the MEDIAN path, so the mean grows at "
        "sigma^2/2 (12.5%/yr at 50% volatility); the MonteCarlo default (no drift given) in scenario.py",
        "assumption"),
    "btc_volatility_pct_per_year": SourcedDefault(
        50.0, "%/yr", "estimate: BTC realized and implied (Deribit DVOL) annualized volatility was roughly "
        "40-60% through 2024-2025 (public market data, not in " + _MF + "); the MonteCarlo default", "estimate"),
    "jump_intensity_per_year": SourcedDefault(
        3.0, "jumps/yr", "MinerPlan assumption: a few liquidation-driven breaks a year, like the late-Nov 2025 "
        "slide below $92k with ~$865M of 24h liquidations (" + _MF + ")", "assumption"),
    "jump_mean_pct": SourcedDefault(
        -8.0, "% per jump", "MinerPlan assumption: a break below $92k toward $87k and the $72-74k options tail "
        "is -5% to -20% (" + _MF + "); -8% as the mean jump", "assumption"),
    "jump_volatility_pct": SourcedDefault(
        10.0, "% (log jump size)", "MinerPlan assumption: spread of jump sizes", "assumption"),
    # BTC price: regime switching
    "calm_drift_pct_per_year": SourcedDefault(
        10.0, "%/yr", "MinerPlan assumption", "assumption"),
    "calm_volatility_pct_per_year": SourcedDefault(
        40.0, "%/yr", "estimate: low end of BTC's 2024-2025 volatility range (public market data)", "estimate"),
    "stressed_drift_pct_per_year": SourcedDefault(
        -60.0, "%/yr", "estimate: BTC fell ~64% over 2022 (public price history); used as a stressed-regime "
        "drift", "estimate"),
    "stressed_volatility_pct_per_year": SourcedDefault(
        80.0, "%/yr", "MinerPlan assumption: about twice the calm volatility", "assumption"),
    "p_enter_stressed_per_month": SourcedDefault(
        0.04, "1/month", "MinerPlan assumption: with the exit probability, ~17% of months stressed", "assumption"),
    "p_exit_stressed_per_month": SourcedDefault(
        0.20, "1/month", "MinerPlan assumption: a stressed spell lasts 5 months on average", "assumption"),
    # fees per block
    "fee_btc_per_block": SourcedDefault(
        0.02, "BTC/block", "~0.016-0.025 BTC per block, Dec 2025 (Braiins Insights; Luxor) in " + _MF
        + "; midpoint", "sourced"),
    "fee_volatility_pct_per_month": SourcedDefault(
        30.0, "%/month", "MinerPlan assumption: monthly average fees per block often move by a third", "assumption"),
    "fee_mean_reversion_per_month": SourcedDefault(
        0.25, "1/month", "MinerPlan assumption: fee spikes (inscriptions, runes) fade within a few months "
        "(half-life ~2.4 months)", "assumption"),
    "fee_floor_btc_per_block": SourcedDefault(
        0.005, "BTC/block", "MinerPlan assumption: about half of a full block at 1 sat/vB "
        "(~1M vbytes x 1 sat = 0.01 BTC)", "assumption"),
    "fee_trend_pct_per_year": SourcedDefault(0.0, "%/yr", "MinerPlan assumption: no trend", "assumption"),
    # GPU cloud
    "gpu_usd_per_gpu_hour": SourcedDefault(
        1.70, "USD/GPU-hour", "H100 ~$1.70/GPU-hour trough, 1-yr reserved, Oct 2025 (SemiAnalysis via press) "
        "in " + _MF, "sourced"),
    "gpu_decline_pct_per_year": SourcedDefault(
        25.0, "%/yr", "MinerPlan assumption: an older GPU generation rents for ~20-30% less each year as newer "
        "ones ship (cf. H100 at a ~$1.70 trough against H200/B200 at ~$2.50-6 per GPU-hour, " + _MF + ")",
        "assumption"),
    "gpu_volatility_pct_per_year": SourcedDefault(
        20.0, "%/yr", "MinerPlan assumption", "assumption"),
    "gpu_floor_usd_per_gpu_hour": SourcedDefault(
        0.30, "USD/GPU-hour", "MinerPlan assumption near cash cost: $150/GPU-month opex (scenario default) "
        "~$0.21/h plus ~1.3 kW per GPU (DGX H100 10.2 kW / 8, " + _MF + ") at ~$50/MWh ~$0.06/h", "assumption"),
    # colocation leases
    "lease_rate_usd_per_kw_month": SourcedDefault(
        140.0, "USD/kW-month", "miner colocation deals 2024-2025 derive to ~$102-159/kW-month (" + _MF
        + "); the ColocationLease default", "sourced"),
    "lease_escalator_pct_per_year": SourcedDefault(
        3.0, "%/yr", "MinerPlan assumption (the ColocationLease default); escalators are not disclosed in the "
        "deals listed in " + _MF, "assumption"),
    # correlations of the monthly shocks (order: price, fee, hashrate, gpu)
    "corr_price_fee": SourcedDefault(
        0.3, "correlation", "MinerPlan assumption: on-chain demand rises with the price", "assumption"),
    "corr_price_hashrate": SourcedDefault(
        0.4, "correlation", "MinerPlan assumption: hashrate follows hashprice with a lag; only the same-month "
        "shock is correlated here", "assumption"),
    "corr_price_gpu": SourcedDefault(0.0, "correlation", "MinerPlan assumption: independent", "assumption"),
    "corr_fee_hashrate": SourcedDefault(0.1, "correlation", "MinerPlan assumption", "assumption"),
    "corr_fee_gpu": SourcedDefault(0.0, "correlation", "MinerPlan assumption: independent", "assumption"),
    "corr_hashrate_gpu": SourcedDefault(0.0, "correlation", "MinerPlan assumption: independent", "assumption"),
}

#: The order of the series in :func:`default_correlation` and :func:`market_paths`.
SERIES = ("price", "fee", "hashrate", "gpu")


def default_values(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """The values of :data:`SOURCED_DEFAULTS`, with ``overrides`` applied (unknown names refused)."""
    values = {name: d.value for name, d in SOURCED_DEFAULTS.items()}
    for name, v in (overrides or {}).items():
        if name not in values:
            raise KeyError(f"unknown parameter {name!r}")
        values[name] = float(v)
    return values


def default_correlation(values: Mapping[str, float] | None = None) -> np.ndarray:
    """The 4 x 4 correlation matrix of the (price, fee, hashrate, gpu) monthly shocks."""
    v = default_values(values)
    c = np.eye(len(SERIES))
    for i, a in enumerate(SERIES):
        for j, b in enumerate(SERIES[i + 1:], start=i + 1):
            c[i, j] = c[j, i] = v[f"corr_{a}_{b}"]
    return c

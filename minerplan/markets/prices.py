"""BTC price paths, shaped ``[path, month]`` in USD.

The deterministic path is the centre; Monte Carlo paths multiply it by a
geometric Brownian motion (or a jump or regime model), so ``--preset
capitulation --paths 1000`` gives a fan around the capitulation story. Month 0
is the start month's price. Unless the scenario gives a drift, the entered
path is the fan's MEDIAN path (the drift follows from that:
:func:`minerplan.markets.stochastic.price_factors.median_drift_pct_per_year`); with a drift given,
the mean grows at it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerplan.scenario.months import month_index
from minerplan.scenario.market import PricePath
from minerplan.scenario.model import Scenario


@dataclass(frozen=True)
class Preset:
    """A named stress story from the late-2025 market: (month offset, USD) points, flat after the last.

    ``hashrate_capitulation``: the story runs with miners switching off as
    hashprice falls. The default supply network model and the capitulation
    model do that already; a scenario on the trend network runs the story with
    the capitulation model (its ``market.hashrate_response``, or the documented
    defaults), so that the stories compare on a network that answers: against
    the trend network a price crash would look better than it is, its own
    hashrate falling while the others' keep growing.
    """

    name: str
    description: str
    points: tuple[tuple[int, float], ...]
    source: str
    hashrate_capitulation: bool = False

    def switches_on(self) -> list[str]:
        """Everything the preset switches on besides its BTC price points, in words (empty: nothing).

        Said wherever a preset is offered or applied (``minerplan presets``, ``scenarios show``, the app's
        preset buttons and status line), so a story never looks better or worse for a reason not stated.
        """
        return [CAPITULATION_SWITCH] if self.hashrate_capitulation else []

    def price_points_text(self) -> str:
        """The price points in words: ``"month 0 $86,500, month 1 $79,750, month 2 $73,000, flat after"``."""
        return ", ".join(f"month {m} ${usd:,.0f}" for m, usd in self.points) + ", flat after"


#: What a preset with ``hashrate_capitulation`` switches on (see :func:`preset_changes` for one scenario).
CAPITULATION_SWITCH = ("miner capitulation: a scenario on the trend network runs on the capitulation model (miners "
                       "switch off as hashprice falls, and difficulty follows); the supply and capitulation models "
                       "answer hashprice already and are kept")


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("base", "BTC has broken below $92,000 and holds ~$91,000, the late-November 2025 level.",
               ((0, 91_000.0),), "late-Nov 2025 market: below $92k, ~$91k (CoinDesk; Luxor November 2025 lookback; docs/sources.md)",
               hashrate_capitulation=True),
        Preset("gamma-flip", "BTC sits at $88,000, where options gamma flips from long to short.",
               ((0, 88_000.0),), "options positioning, late Nov 2025 (docs/sources.md)", hashrate_capitulation=True),
        Preset("capitulation",
               "BTC breaks below $87,000 and slides to $73,000 (the $72-74k band) within two months, then holds; "
               "miners switch off as hashprice falls (hashrate capitulation) and difficulty follows.",
               ((0, 86_500.0), (1, 79_750.0), (2, 73_000.0)),
               "options positioning pointed to $72-74k downside tails; hashrate fell ~15% from its Oct 2025 peak "
               "(docs/sources.md)", hashrate_capitulation=True),
        Preset("recovery",
               "BTC recovers to $100,000 in January and holds (the market priced ~25% odds of $100k in January).",
               ((0, 91_000.0), (1, 100_000.0)),
               "Polymarket 'BTC to $100k in January' ~25%, late Nov 2025 (docs/sources.md)",
               hashrate_capitulation=True),
    )
}


def with_preset_market(sc: Scenario, preset: str | None) -> Scenario:
    """The scenario with the preset's market behaviour: a network that answers hashprice when the story has it.

    A scenario on the supply or capitulation model keeps it; one on the trend model runs the
    story with the capitulation model.
    """
    if preset is None or not PRESETS[preset].hashrate_capitulation or sc.market.network_model != "trend":
        return sc
    from minerplan.scenario.files import scenario_from_dict

    data = sc.model_dump(mode="json", exclude_none=True)
    data["market"]["network_model"] = "capitulation"
    return scenario_from_dict(data, f"{sc.name} (preset {preset})")


def preset_changes(sc: Scenario, preset: str) -> list[str]:
    """What applying ``preset`` to ``sc`` changes, in words: the BTC price path, and the network model when the
    story switches miner capitulation on for a scenario on the trend network (the NPV then moves for that
    reason too: on the trend network the other miners' hashrate keeps growing whatever the price does)."""
    p = PRESETS[preset]
    out = [f"BTC price path: {p.price_points_text()}"]
    if p.hashrate_capitulation:
        if sc.market.network_model == "trend":
            out.append("network: switched from the trend model to the capitulation model (miner capitulation on: "
                       "miners switch off as hashprice falls, and difficulty follows)")
        else:
            out.append(f"network: the scenario's {sc.market.network_model} model is kept (it answers hashprice "
                       "already; nothing else is switched on)")
    return out


def preset_names() -> list[str]:
    return list(PRESETS)


def deterministic_path(sc: Scenario, *, preset: str | None = None) -> np.ndarray:
    """The central BTC price path, shape ``[month]``, USD."""
    n = sc.horizon_months
    months = np.arange(n, dtype=float)
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        pts = PRESETS[preset].points
        return _interpolate(months, [p[0] for p in pts], [p[1] for p in pts])
    pp: PricePath = sc.price_path
    s0 = sc.market.btc_price_usd
    if pp.kind == "flat":
        return np.full(n, s0)
    if pp.kind == "growth":
        return s0 * (1 + pp.growth_pct_per_month / 100.0) ** months
    xs = [month_index(sc.start_month, p.month) for p in pp.points]
    ys = [p.btc_price_usd for p in pp.points]
    if xs[0] > 0:
        xs, ys = [0] + xs, [s0] + ys
    return _interpolate(months, xs, ys)


def _interpolate(months: np.ndarray, xs, ys) -> np.ndarray:
    return np.interp(months, np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))


def gbm_factors(n_paths: int, n_months: int, *, drift_pct_per_year: float, volatility_pct_per_year: float,
                seed: int | None) -> np.ndarray:
    """Multiplicative GBM factors ``[path, month]`` with factor 1 at month 0.

    Monthly log-returns are N((mu - sigma^2/2)/12, sigma^2/12), so the mean
    factor grows at the drift ``mu`` per year.
    """
    mu = drift_pct_per_year / 100.0
    sigma = volatility_pct_per_year / 100.0
    dt = 1.0 / 12.0
    rng = np.random.default_rng(seed)
    shocks = rng.standard_normal((n_paths, max(n_months - 1, 0)))
    steps = (mu - 0.5 * sigma**2) * dt + sigma * np.sqrt(dt) * shocks
    log_f = np.concatenate([np.zeros((n_paths, 1)), np.cumsum(steps, axis=1)], axis=1)
    return np.exp(log_f[:, :n_months])


def price_paths(sc: Scenario, *, n_paths: int = 1, seed: int | None = 0, preset: str | None = None) -> np.ndarray:
    """BTC price paths ``[path, month]`` (USD): the deterministic path when ``n_paths == 1``."""
    return market_draw(sc, n_paths=n_paths, seed=seed, preset=preset).btc_price_usd


@dataclass(frozen=True)
class MarketDraw:
    """One Monte Carlo draw of the market: BTC prices and, when they are random, fees per block."""

    btc_price_usd: np.ndarray                    # [path, month]
    fees_btc_per_block: np.ndarray | None        # [path, month], or None: the scenario's fee path
    gpu_rate_factor: np.ndarray | None = None    # [path, month] GPU rental price / its assumed path, or None


def market_draw(sc: Scenario, *, n_paths: int = 1, seed: int | None = 0, preset: str | None = None) -> MarketDraw:
    """Price paths by the scenario's model (GBM, Merton jumps or regimes) and fees correlated with them.

    The price's monthly standard normals are drawn first from ``seed``, so a
    GBM draw is the same as before fees or jumps existed; jumps, regime
    switches and the fees' own shocks come after them from the same generator.
    """
    from minerplan.markets.stochastic.fees_and_rates import fee_paths, gpu_rate_paths
    from minerplan.markets.stochastic.price_factors import merton_factors, regime_factors

    if n_paths < 1:
        raise ValueError("paths must be at least 1")
    centre = deterministic_path(sc, preset=preset)
    if n_paths == 1:
        return MarketDraw(centre[None, :], None)
    mc = sc.monte_carlo
    n_m = sc.horizon_months
    rng = np.random.default_rng(seed)
    shocks = rng.standard_normal((n_paths, max(n_m - 1, 0)))
    if mc.model == "merton":
        factors = merton_factors(n_paths, n_m, drift_pct_per_year=mc.drift_value_pct_per_year,
                                 volatility_pct_per_year=mc.volatility_pct_per_year,
                                 jump_intensity_per_year=mc.jump_intensity_per_year, jump_mean_pct=mc.jump_mean_pct,
                                 jump_volatility_pct=mc.jump_volatility_pct, seed=rng, shocks=shocks)
    elif mc.model == "regime":
        factors = regime_factors(n_paths, n_m, calm_drift_pct_per_year=mc.drift_value_pct_per_year,
                                 calm_volatility_pct_per_year=mc.volatility_pct_per_year,
                                 stressed_drift_pct_per_year=mc.stressed_drift_pct_per_year,
                                 stressed_volatility_pct_per_year=mc.stressed_volatility_pct_per_year,
                                 p_enter_stressed_per_month=mc.p_enter_stressed_per_month,
                                 p_exit_stressed_per_month=mc.p_exit_stressed_per_month, seed=rng, shocks=shocks)
    else:
        factors = _gbm_from_shocks(shocks, n_m, mc.drift_value_pct_per_year, mc.volatility_pct_per_year)
    fees = None
    mk = sc.market
    if mc.fee_volatility_pct_per_month > 0 and mk.fees_btc_per_block > 0:
        trend = ((1 + mk.fee_growth_pct_per_month / 100.0) ** 12 - 1) * 100.0
        fees = fee_paths(mk.fees_btc_per_block, n_paths, n_m, volatility_pct_per_month=mc.fee_volatility_pct_per_month,
                         mean_reversion_per_month=mc.fee_mean_reversion_per_month,
                         floor_btc_per_block=mc.fee_floor_btc_per_block, trend_pct_per_year=trend,
                         price_shocks=shocks if mc.price_fee_correlation != 0 else None,
                         corr_with_price=mc.price_fee_correlation, rng=rng)
    gpu = None
    if mc.gpu_rate_volatility_pct_per_year > 0:
        # A market index of GPU rental prices relative to the assumed path (median 1; the assumed decline
        # with the GPUs' age is in the AI/HPC arrays already).
        gpu = gpu_rate_paths(1.0, n_paths, n_m, decline_pct_per_year=0.0,
                             volatility_pct_per_year=mc.gpu_rate_volatility_pct_per_year, floor_usd_per_gpu_hour=0.0,
                             rng=rng)
    return MarketDraw(centre[None, :] * factors, fees, gpu)


def _gbm_from_shocks(shocks: np.ndarray, n_months: int, drift_pct_per_year: float,
                     volatility_pct_per_year: float) -> np.ndarray:
    mu = drift_pct_per_year / 100.0
    sigma = volatility_pct_per_year / 100.0
    dt = 1.0 / 12.0
    steps = (mu - 0.5 * sigma**2) * dt + sigma * np.sqrt(dt) * shocks
    log_f = np.concatenate([np.zeros((shocks.shape[0], 1)), np.cumsum(steps, axis=1)], axis=1)
    return np.exp(log_f[:, :n_months])

"""Small scenarios for hand-calculated tests, and a walk over the app's charts for GUI tests.

The reference market: difficulty 1.52e14 (hashrate 1,088.058 EH/s at 600 s
blocks), fees 0.02 BTC/block, height 925,000 (subsidy 3.125 BTC), BTC $91,500,
no hashrate growth on the trend network model (pinned: the default supply model
answers hashprice), so every month has exactly 144 blocks a day.
"""

from __future__ import annotations

import copy

from minerplan.scenario.files import scenario_from_dict

D_REF = 1.52e14
# Hand calculation: H = D * 2^32 / 600 = 1.52e14 * 4294967296 / 600 = 1.0880583816533e21 H/s
H_REF_HS = 1.52e14 * 4294967296 / 600
# BTC per TH/s per day = 144 * (3.125 + 0.02) / (H in TH/s)
HP_BTC_PER_TH_DAY = 144 * 3.145 / (H_REF_HS / 1e12)
PRICE = 91_500.0


def base_dict(**top) -> dict:
    d = {
        "schema_version": 1,
        "name": "Test",
        "start_month": "2026-01",
        "horizon_months": 1,
        "market": {"btc_price_usd": PRICE, "difficulty": D_REF, "fees_btc_per_block": 0.02,
                   "block_height": 925_000, "hashrate_growth_pct_per_month": 0.0, "network_model": "trend"},
        "sites": [{"name": "A", "capacity_mw": 10, "power_price_usd_per_mwh": 40, "pue": 1.0}],
        "fleet": [{"model": "X", "count": 1000, "hashrate_ths": 100, "power_w": 3000, "site": "A",
                   "uptime_pct": 100, "degradation_pct_per_year": 0}],
        # No discounting of any cash-flow class, no terminal value, no residual value of ASICs.
        "finance": {"pool_fee_pct": 0, "discount_rate_pct": 0, "lease_discount_rate_pct": 0,
                    "gpu_cloud_discount_rate_pct": 0, "tax_rate_pct": 0, "terminal_value": "none",
                    "asic_residual_value": "none"},
    }
    d.update(copy.deepcopy(top))
    return d


def scenario(**top):
    return scenario_from_dict(base_dict(**top))


def edit(d: dict, path: str, value) -> dict:
    """Return a copy of ``d`` with ``a.b[0].c`` set to ``value``."""
    d = copy.deepcopy(d)
    cur = d
    parts = path.replace("]", "").replace("[", ".").split(".")
    for p in parts[:-1]:
        cur = cur[int(p)] if p.isdigit() else cur[p]
    last = parts[-1]
    if last.isdigit():
        cur[int(last)] = value
    else:
        cur[last] = value
    return d


def catalog_cohort(model: str, count: int, site: str, **kw) -> dict:
    """A fleet row of ``count`` units of a catalog ``model`` at ``site`` (its specs and price), plus ``kw``."""
    from minerplan.scenario.catalog import load_catalog

    spec = load_catalog()[model]
    d = {"model": model, "count": count, "hashrate_ths": spec.hashrate_ths, "power_w": spec.power_w, "site": site,
         "purchase_price_usd": round(spec.unit_price_usd, 2)}
    d.update(kw)
    return d


def every_chart(window, after_each=None):
    """(view title, chart) for every chart of every view, each tab shown once so its charts are laid out
    (``after_each()`` runs after each tab is shown)."""
    out = []
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        title = window.tabs.tabText(i).replace("&&", "&")
        view = window.ensure_view(title)
        if after_each is not None:
            after_each()
        out += [(title, c) for c in (view.charts() if hasattr(view, "charts") else [])]
    return out

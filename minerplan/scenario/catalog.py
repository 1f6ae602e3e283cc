"""The shipped ASIC catalog (``assets/asic_catalog.csv``): nameplate specs with their sources.

Each row names the public source of its spec and of its price (docs/sources.md
lists them); prices marked ``est`` are estimates a user should override. Prices
of machines older than the newest generation are used-market prices by
efficiency tier (Luxor's ASIC price index, late 2025), the tiers MinerPlan's
used-ASIC market price is fitted to (:mod:`minerplan.engine.valuation`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from minerplan.scenario.errors import Problem, ScenarioError

CATALOG_PATH = Path(__file__).resolve().parents[2] / "assets" / "asic_catalog.csv"
COLUMNS = ("model", "hashrate_ths", "power_w", "efficiency_j_per_th", "price_usd_per_th", "spec_source",
           "price_source")


@dataclass(frozen=True)
class CatalogModel:
    model: str
    hashrate_ths: float
    power_w: float
    efficiency_j_per_th: float  # as published; power_w / hashrate_ths may differ by rounding
    price_usd_per_th: float
    spec_source: str
    price_source: str

    @property
    def unit_price_usd(self) -> float:
        return self.price_usd_per_th * self.hashrate_ths


def load_catalog(path: str | Path = CATALOG_PATH) -> dict[str, CatalogModel]:
    """Read and validate a catalog CSV; errors name the row and column."""
    source = str(path)
    out: dict[str, CatalogModel] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ScenarioError([Problem("header", f"expected columns {', '.join(COLUMNS)}")], source)
        for line, row in enumerate(reader, start=2):
            problems = []
            values = {}
            for col in ("hashrate_ths", "power_w", "efficiency_j_per_th", "price_usd_per_th"):
                try:
                    values[col] = float(row[col])
                    if not values[col] > 0 or values[col] == float("inf"):
                        raise ValueError
                except (TypeError, ValueError):
                    problems.append(Problem(f"row {line}, column {col}", f"must be a positive number, got {row[col]!r}"))
            if not row["model"]:
                problems.append(Problem(f"row {line}, column model", "is empty"))
            elif row["model"] in out:
                problems.append(Problem(f"row {line}, column model", f"duplicate model {row['model']!r}"))
            if problems:
                raise ScenarioError(problems, source)
            out[row["model"]] = CatalogModel(row["model"], values["hashrate_ths"], values["power_w"],
                                             values["efficiency_j_per_th"], values["price_usd_per_th"],
                                             row["spec_source"], row["price_source"])
    return out

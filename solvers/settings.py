"""Optimizer settings: what the CFO can change, with units and defaults, validated on entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from minerplan.scenario.errors import Problem, ScenarioError


@dataclass(frozen=True)
class FixedDecision:
    """A decision the user fixes by hand.

    ``kind``: ``convert`` (gross MW of ``site`` starting in ``month`` for
    ``business_model``), ``retire`` (units of fleet row ``cohort`` retired in
    ``month``) or ``buy`` (units of catalog ``model`` delivered at ``site`` in ``month``).
    ``value`` 0 forbids the decision.
    """

    kind: Literal["convert", "retire", "buy"]
    month: str
    value: float
    site: str | None = None
    business_model: str | None = None
    cohort: int | None = None
    model: str | None = None


@dataclass(frozen=True)
class OptimizerSettings:
    """How the capital-allocation model is built and solved.

    Money is USD, power is gross MW unless named critical, time is months.
    """

    n_paths: int = 100
    seed: int = 0
    preset: str | None = None
    risk_aversion: float = 0.0            # weight on CVaR of the NPV loss; 0 is risk-neutral
    cvar_level: float = 0.95              # tail level alpha: CVaR averages the worst (1 - alpha) of paths
    hall_critical_mw: float | None = 10.0  # conversions in whole halls of this critical IT size (MIP); None: continuous
    capex_budget_usd_per_year: float | None = None   # per calendar year, all capex incl. commitments; None: no cap
    max_conversion_mw_per_month: float | None = None  # gross MW that may start conversion in one month (crews)
    allow_purchases: bool = True
    purchase_models: tuple[str, ...] = ("Antminer S21 XP",)
    purchase_lead_time_months: int = 3    # earliest delivery, months after the start
    purchase_step_months: int = 3         # delivery months considered: every N months
    purchase_uptime_pct: float = 97.0
    purchase_degradation_pct_per_year: float = 2.0
    purchase_useful_life_months: int = 36
    allow_retirements: bool = True
    # Moves of existing machines between sites where the optimizer decides (not take-or-pay sites): the
    # cost per unit (packing, freight, re-racking; a MinerPlan assumption, docs/sources.md) and the months
    # the units are offline in transit.
    allow_moves: bool = True
    move_cost_usd_per_unit: float = 150.0
    move_downtime_months: int = 1
    move_step_months: int = 12            # months a move may start: every N months (plus commitment starts)
    retire_step_months: int = 3           # retirement months considered: every N months (plus commitment starts)
    # Liquidity. None takes the scenario's finance fields (:meth:`for_scenario`): the floor is on by
    # default whenever the scenario states its starting cash.
    starting_cash_usd: float | None = None     # cash on hand at the start
    min_cash_usd: float | None = None          # cash floor
    credit_line_usd: float | None = None       # a revolving credit line that may cover a shortfall below the floor
    credit_line_rate_pct: float | None = None  # annual interest on drawn credit (paid monthly from cash)
    cash_floor: bool = True                    # False: no liquidity constraint, whatever the scenario says
    liquidity_quantile: float | None = 0.10  # besides expected cash: the path at this quantile of average BTC price
    time_limit_s: float = 60.0
    mip_gap: float = 0.005
    fixed: tuple[FixedDecision, ...] = field(default_factory=tuple)
    #: How the per-path recourse (take-or-pay dispatch, carry-forward tax) is solved: ``auto`` uses
    #: the L-shaped decomposition (solvers/benders.py) when there is recourse and no cash floor,
    #: ``extensive`` writes every path's rows into one model (the reference the tests compare with).
    method: Literal["auto", "extensive"] = "auto"

    def for_scenario(self, sc) -> "OptimizerSettings":
        """These settings with every liquidity field the caller left None taken from ``sc.finance``.

        The floor applies when the settings give one, or when the scenario states its starting cash
        (then at the scenario's ``min_cash_usd``, 0 unless set); ``cash_floor=False`` turns it off.
        """
        from dataclasses import replace

        fin = sc.finance
        start = self.starting_cash_usd if self.starting_cash_usd is not None else (fin.starting_cash_usd or 0.0)
        floor = self.min_cash_usd
        if floor is None and fin.starting_cash_usd is not None:
            floor = fin.min_cash_usd
        if not self.cash_floor:
            floor = None
        return replace(self, starting_cash_usd=float(start), min_cash_usd=floor,
                       credit_line_usd=float(self.credit_line_usd if self.credit_line_usd is not None
                                             else fin.credit_line_usd),
                       credit_line_rate_pct=float(self.credit_line_rate_pct if self.credit_line_rate_pct is not None
                                                  else fin.credit_line_rate_pct))

    def check(self) -> None:
        """Raise ScenarioError naming every setting out of range."""
        p: list[Problem] = []

        def need(ok: bool, name: str, msg: str):
            if not ok:
                p.append(Problem(name, msg))

        need(1 <= self.n_paths <= 100_000, "paths", f"must be 1..100000, got {self.n_paths}")
        need(self.risk_aversion >= 0, "risk_aversion", f"must be >= 0, got {self.risk_aversion}")
        need(0 < self.cvar_level < 1, "cvar_level", f"must be between 0 and 1 (e.g. 0.95), got {self.cvar_level}")
        need(self.hall_critical_mw is None or self.hall_critical_mw > 0, "hall_critical_mw",
             f"must be > 0 MW, got {self.hall_critical_mw}")
        need(self.capex_budget_usd_per_year is None or self.capex_budget_usd_per_year >= 0,
             "capex_budget_usd_per_year", "must be >= 0 USD")
        need(self.max_conversion_mw_per_month is None or self.max_conversion_mw_per_month >= 0,
             "max_conversion_mw_per_month", "must be >= 0 MW")
        need(self.time_limit_s > 0, "time_limit_s", f"must be > 0 s, got {self.time_limit_s}")
        need(0 <= self.mip_gap < 1, "mip_gap", f"must be between 0 and 1 (e.g. 0.005), got {self.mip_gap}")
        need(self.credit_line_usd is None or self.credit_line_usd >= 0, "credit_line_usd", "must be >= 0 USD")
        need(self.credit_line_rate_pct is None or 0 <= self.credit_line_rate_pct <= 100, "credit_line_rate_pct",
             "must be in [0, 100] %/yr")
        need(self.starting_cash_usd is None or self.starting_cash_usd >= 0, "starting_cash_usd", "must be >= 0 USD")
        need(self.liquidity_quantile is None or 0 <= self.liquidity_quantile <= 1, "liquidity_quantile",
             "must be in [0, 1]")
        need(self.purchase_step_months >= 1, "purchase_step_months", "must be >= 1")
        need(self.retire_step_months >= 1, "retire_step_months", "must be >= 1")
        need(0 <= self.move_cost_usd_per_unit <= 1_000_000, "move_cost_usd_per_unit", "must be 0..1,000,000 USD")
        need(0 <= self.move_downtime_months <= 24, "move_downtime_months", "must be 0..24 months")
        need(self.move_step_months >= 1, "move_step_months", "must be >= 1")
        need(self.purchase_lead_time_months >= 0, "purchase_lead_time_months", "must be >= 0")
        need(0 < self.purchase_uptime_pct <= 100, "purchase_uptime_pct", "must be in (0, 100]")
        need(0 <= self.purchase_degradation_pct_per_year < 100, "purchase_degradation_pct_per_year", "must be in [0, 100)")
        need(self.method in ("auto", "extensive"), "method", f"must be auto or extensive, got {self.method!r}")
        need(self.purchase_useful_life_months >= 1, "purchase_useful_life_months", "must be >= 1")
        if p:
            raise ScenarioError(p, "optimizer settings")


def load_fixed_decisions(path: str) -> tuple[FixedDecision, ...]:
    """Read ``--fix FILE.json``: a list of objects with FixedDecision's fields; errors name the entry."""
    import json

    src = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(10_000_001)
    except OSError as e:
        raise ScenarioError([Problem("", f"cannot read: {e.strerror or e}")], src) from None
    if len(raw) > 10_000_000:
        raise ScenarioError([Problem("", "file is larger than 10 MB")], src)
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ScenarioError([Problem("", f"not valid JSON: {e}")], src) from None
    if not isinstance(data, list):
        raise ScenarioError([Problem("", "expected a JSON array of fixed decisions")], src)
    out, problems = [], []
    allowed = {"kind", "month", "value", "site", "business_model", "cohort", "model"}
    for i, item in enumerate(data):
        where = f"[{i}]"
        if not isinstance(item, dict):
            problems.append(Problem(where, "expected an object"))
            continue
        unknown = set(item) - allowed
        if unknown:
            problems.append(Problem(f"{where}.{sorted(unknown)[0]}", "unknown field"))
            continue
        if item.get("kind") not in ("convert", "retire", "buy"):
            problems.append(Problem(f"{where}.kind", "must be convert, retire or buy"))
            continue
        if not isinstance(item.get("month"), str):
            problems.append(Problem(f"{where}.month", "required, as YYYY-MM"))
            continue
        v = item.get("value")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (v >= 0) or v == float("inf"):
            problems.append(Problem(f"{where}.value", "must be a number >= 0"))
            continue
        c = item.get("cohort")
        if c is not None and (isinstance(c, bool) or not isinstance(c, int)):
            problems.append(Problem(f"{where}.cohort", "must be a fleet row index (integer)"))
            continue
        out.append(FixedDecision(kind=item["kind"], month=item["month"], value=float(v), site=item.get("site"),
                                 business_model=item.get("business_model"), cohort=c, model=item.get("model")))
    if problems:
        raise ScenarioError(problems, src)
    return tuple(out)

"""Plausibility of a scenario's numbers: hard bounds refuse, soft bounds warn.

Every numeric field of the scenario (and of a hedge book) has two ranges, declared next to
the field in the scenario's types (:mod:`minerplan.scenario.market`, ...) and :mod:`minerplan.scenario.hedges`:

* a **hard** bound (pydantic ``ge``/``le``): a value beyond it is physically or economically
  impossible for a planning model (a difficulty of 1, a BTC price of $1e300), and the file is
  refused with a message naming the field, because the engine would turn it into numbers
  that look like answers (8.9e17 BTC mined, an NPV of $5e22);
* a **soft** bound (:class:`Soft` in the field's ``Annotated`` metadata): a value beyond it is
  possible but far outside today's market, so the file loads and the CLI and the app say
  so ("warning: market.btc_price_usd: 5,000,000 USD is above the plausible range ...").

Soft bands are wide on purpose (roughly 10x either side of late-2025 values) so a stress
test is not nagged, while a typo of three zeros is. Their sources are cited in each field's
``Soft.why``; the late-2025 anchors are in ``docs/sources.md`` (difficulty 149.3T after the
26 Nov 2025 retarget, ~1,000 EH/s, BTC $85k-$126k in 2025, colocation $100-180/kW-month,
conversion $8-11M per critical MW).

This module holds no Qt and no scenario import at module level (the scenario's type modules import
:class:`Soft` from here).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, Iterator

from pydantic import BaseModel

from minerplan.formats import message_number
from minerplan.scenario.errors import Problem


@dataclass(frozen=True)
class Soft:
    """The plausible range of a field (either end may be ``None``), its unit and why."""

    lo: float | None
    hi: float | None
    unit: str
    why: str

    def problem(self, path: str, value: float) -> Problem | None:
        """The warning for ``value`` at ``path``, or None when it lies in the range."""
        if self.lo is not None and value < self.lo:
            side = "below"
        elif self.hi is not None and value > self.hi:
            side = "above"
        else:
            return None
        return Problem(path, f"{self._with_unit(value)} is {side} the plausible range "
                             f"({self.range_text()}; {self.why}); check the value and its unit")

    def _with_unit(self, x: float) -> str:
        return f"{message_number(x)} {self.unit}" if self.unit else message_number(x)

    def range_text(self) -> str:
        if self.lo is None:
            return f"at most {self._with_unit(self.hi)}"
        if self.hi is None:
            return f"at least {self._with_unit(self.lo)}"
        return f"{message_number(self.lo)} to {self._with_unit(self.hi)}"


def _soft_of(info) -> Soft | None:
    for m in info.metadata:
        if isinstance(m, Soft):
            return m
    # Optional[Annotated[float, Soft(...)]] keeps the marker inside the annotation.
    for arg in typing.get_args(info.annotation):
        for m in getattr(arg, "__metadata__", ()):
            if isinstance(m, Soft):
                return m
    return None


def soft_bound(model: type[BaseModel], field: str) -> Soft | None:
    """The soft range declared for ``model.field`` (None when it has none)."""
    return _soft_of(model.model_fields[field])


def _walk(model: BaseModel, path: str) -> Iterator[Problem]:
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        here = f"{path}.{name}" if path else name
        if isinstance(value, BaseModel):
            yield from _walk(value, here)
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _walk(item, f"{here}[{i}]")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            soft = _soft_of(info)
            if soft is not None:
                p = soft.problem(here, value)
                if p is not None:
                    yield p


#: Efficiency of a machine, J/TH: Bitmain's S21 XP Hyd is 12 J/TH (2024), the S9 ~98 J/TH (2016).
EFFICIENCY_J_PER_TH = Soft(8.0, 150.0, "J/TH", "sold ASICs run 12-100 J/TH")
#: A single miner's share of the network: the largest public miners hold ~5-6% (MARA, late 2025).
FLEET_SHARE_OF_NETWORK_MAX = 0.15


def scenario_warnings(sc: Any) -> list[Problem]:
    """Every soft-range warning of a (valid) scenario, field by field, plus cross-field ones."""
    out = list(_walk(sc, ""))
    for i, c in enumerate(sc.fleet):
        p = EFFICIENCY_J_PER_TH.problem(f"fleet[{i}].power_w", c.power_w / c.hashrate_ths)
        if p is not None:
            out.append(Problem(p.path, f"power_w / hashrate_ths = {p.message}"))
        if c.purchase_price_usd > 0 and c.salvage_usd > c.purchase_price_usd:
            out.append(Problem(f"fleet[{i}].salvage_usd",
                               f"salvage {message_number(c.salvage_usd)} USD per unit is above the purchase price "
                               f"({message_number(c.purchase_price_usd)} USD): used ASICs sell below new ones"))
    for i, s in enumerate(sc.sites):
        full_mwh = s.capacity_mw * 31 * 24
        if s.take_or_pay_mwh_per_month > full_mwh * (1 + 1e-9):
            out.append(Problem(f"sites[{i}].take_or_pay_mwh_per_month",
                               f"{message_number(s.take_or_pay_mwh_per_month)} MWh a month is more than the site "
                               f"can draw at full capacity ({message_number(s.capacity_mw)} MW x 744 h = "
                               f"{message_number(full_mwh)} MWh)"))
    fleet_ths, network_ths = sc.fleet_owned_at_start_ths, sc.market.online_hashrate_ehs * 1e6
    if network_ths > 0 and fleet_ths > FLEET_SHARE_OF_NETWORK_MAX * network_ths:
        out.append(Problem("fleet", f"the fleet owned at the start ({message_number(fleet_ths / 1e6)} EH/s) is "
                                    f"{fleet_ths / network_ths:.0%} of the network's "
                                    f"{message_number(network_ths / 1e6)} EH/s; the largest public miners hold about "
                                    "5-6%"))
    return out


def hedge_warnings(book: Any) -> list[Problem]:
    """Soft-range warnings of a hedge book (see :mod:`minerplan.scenario.hedges`)."""
    out: list[Problem] = []
    for i, h in enumerate(book.hedges):
        out += list(_walk(h, f"hedges[{i}]"))
    return out

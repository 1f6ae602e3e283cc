"""Column layout of the fleet and site tables, shared by the Excel export, the import template and the importer.

One definition keeps the three in step: a workbook exported by MinerPlan can
be imported back (``minerplan import-fleet plan.xlsx``), and the template is
the same table without the formulas around it. Each column names the
scenario field it fills (a dotted path for the nested AI/HPC section), the
header a person reads (with the unit), and the kind of value it takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "number", "integer", "month", "bool", "choice"]


@dataclass(frozen=True)
class Column:
    field: str                 # scenario field, dotted for nested ones (``ai.colocation.term_months``)
    header: str                # what the sheet shows, unit in brackets
    kind: Kind
    required: bool = False
    choices: tuple[str, ...] = ()
    note: str = ""


FLEET_SHEET = "Fleet"
SITES_SHEET = "Sites"
HOURLY_SHEET = "Hourly prices"

FLEET_COLUMNS: tuple[Column, ...] = (
    Column("model", "Model", "text", True, note="ASIC model name"),
    Column("site", "Site", "text", True, note="must match a site name"),
    Column("count", "Units", "number", True),
    Column("hashrate_ths", "Hashrate [TH/s per unit]", "number", True, note="nameplate"),
    Column("power_w", "Power [W per unit]", "number", True, note="at the wall"),
    Column("uptime_pct", "Uptime [%]", "number"),
    Column("degradation_pct_per_year", "Degradation [%/yr]", "number", note="hashrate lost per year of age"),
    Column("purchase_price_usd", "Unit price [USD]", "number"),
    Column("age_months", "Age at start [months]", "integer"),
    Column("useful_life_months", "Useful life [months]", "integer", note="straight-line depreciation"),
    Column("purchase_month", "Delivery month [YYYY-MM]", "month", note="blank if owned at the start"),
    Column("retire_month", "Retire month [YYYY-MM]", "month", note="first month it no longer runs; blank = never"),
    Column("sale_price_usd", "Sale price [USD per unit]", "number",
           note="a stated price for the units retired (a signed sale, or a move at book value); blank = market"),
    Column("salvage_usd", "Salvage [USD per unit]", "number",
           note="resale quote in the late-2025 market; scales the used-ASIC market price; 0: the market alone"),
)

SITE_COLUMNS: tuple[Column, ...] = (
    Column("name", "Site", "text", True),
    Column("capacity_mw", "Capacity [MW]", "number", True, note="gross utility MW"),
    Column("power_price_usd_per_mwh", "Power price [USD/MWh]", "number", True, note="contract energy price"),
    Column("pue", "PUE", "number", note="site draw per MW of ASIC load"),
    Column("curtailment_credit_usd_per_mwh", "Curtailment credit [USD/MWh]", "number"),
    Column("curtailment_enabled", "Can curtail [yes/no]", "bool"),
    Column("take_or_pay_mwh_per_month", "Take-or-pay [MWh/month]", "number", note="0 = none"),
    Column("mining_opex_usd_per_mw_month", "Mining opex [USD/MW-month]", "number"),
    Column("ai.convertible_gross_mw", "AI convertible [gross MW]", "number",
           note="blank = the site cannot convert (no AI/HPC section)"),
    Column("ai.critical_mw_per_gross_mw", "Critical MW per gross MW", "number"),
    Column("ai.conversion_capex_usd_per_critical_mw", "Conversion capex [USD/critical MW]", "number"),
    Column("ai.lead_time_months", "Lead time [months]", "integer"),
    Column("ai.facility_life_months", "Facility life [months]", "integer"),
    Column("ai.load_factor_pct", "AI load factor [%]", "number"),
    Column("ai.business_model", "Business model", "choice", choices=("colocation", "gpu_cloud")),
    Column("ai.colocation.rate_usd_per_kw_month", "Lease rate [USD/kW-month]", "number"),
    Column("ai.colocation.escalator_pct_per_year", "Lease escalator [%/yr]", "number"),
    Column("ai.colocation.term_months", "Lease term [months]", "integer"),
    Column("ai.colocation.tenant_pays_power", "Tenant pays power [yes/no]", "bool"),
    Column("ai.colocation.opex_usd_per_kw_month", "Landlord opex [USD/kW-month]", "number"),
    Column("ai.colocation.tenant_credit", "Tenant credit", "choice", choices=("investment_grade", "high_yield"),
           note="sets the lease cash's discount rate"),
    Column("ai.colocation.renewal_probability_pct", "Lease renewal [%]", "number",
           note="chance the tenant renews at the end of the term"),
    Column("ai.gpu_cloud.gpus_per_critical_mw", "GPUs per critical MW", "number"),
    Column("ai.gpu_cloud.usd_per_gpu_hour", "GPU rate [USD/GPU-hour]", "number"),
    Column("ai.gpu_cloud.rate_decline_pct_per_year", "GPU rate decline [%/yr]", "number",
           note="as a GPU generation ages"),
    Column("ai.gpu_cloud.utilization_pct", "GPU utilization [%]", "number"),
    Column("ai.gpu_cloud.gpu_capex_usd", "GPU capex [USD/GPU]", "number"),
    Column("ai.gpu_cloud.useful_life_months", "GPU life [months]", "integer"),
    Column("ai.gpu_cloud.opex_usd_per_gpu_month", "GPU opex [USD/GPU-month]", "number"),
)

#: The hourly price sheet: one row per (site, calendar month), 24 hourly prices in USD/MWh.
HOURLY_HEADERS: tuple[str, ...] = ("Site", "Calendar month [1-12]") + tuple(f"H{h:02d}" for h in range(24))


def column_by_field(columns: tuple[Column, ...]) -> dict[str, Column]:
    return {c.field: c for c in columns}

"""The fields of the scenario's tables, declared once: label, unit, kind, help text, display decimals.

The app's fleet, site and AI tables, the Excel export's input sheets, the import template
and the importer all read these declarations, so a field is named and explained the same
way everywhere and a workbook exported by MinerPlan imports back
(``minerplan import-fleet plan.xlsx``).

A :class:`Field` names the scenario field it holds by a dotted ``path`` inside one row (a
cohort, a site, a conversion: ``"ai.colocation.term_months"``), and its ``unit`` apart from
its ``label``; a header is rendered from the two:

- :func:`app_header`: ``"Hashrate (TH/s per unit)"`` (the app's tables and forms);
- :func:`sheet_header`: ``"Hashrate [TH/s per unit]"`` (the workbook and the CSV template).

The workbook's header is what the importer finds a column by, so it never changes: where
the app's wording differs from the header workbooks have always had (``"Units"`` over the
app's ``"Count (units)"``), ``sheet_label`` keeps the workbook's, and workbooks saved by
earlier versions still import. Derived fields (efficiency, breakevens) are shown by the app,
computed from the others, and are never workbook input columns.

:class:`Column` is a field as a column of the workbook's input tables (the header rendered),
the form the export, the template and the importer use; ``FLEET_COLUMNS``, ``SITE_COLUMNS``
and ``HOURLY_COLUMNS`` are the three tables' layouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: The kind of value a field takes (how a cell is read): ``month`` is ``YYYY-MM``.
Kind = Literal["text", "number", "integer", "month", "bool", "choice"]

BUSINESS_MODELS: tuple[str, ...] = ("colocation", "gpu_cloud")
TENANT_CREDITS: tuple[str, ...] = ("investment_grade", "high_yield")


@dataclass(frozen=True)
class Field:
    """One table field: where it lives in a row, what people read above it, and what it takes."""

    path: str                   # dotted path inside one row (``"ai.colocation.term_months"``)
    label: str                  # the app's label, without the unit
    unit: str = ""              # ``"TH/s per unit"``; "" for a name or a ratio without one
    kind: Kind = "number"
    required: bool = False      # an import refuses a row without it
    choices: tuple[str, ...] = ()
    note: str = ""              # the short help in the workbook's note row and the template
    tip: str = ""               # the app's tooltip (longer; may repeat the unit in words)
    decimals: int | None = None  # places the app shows (None: as typed)
    derived: bool = False       # computed from other fields: shown, never typed or imported
    #: The workbook's header where it is not ``label [unit]`` (kept: the importer finds columns by it).
    sheet_label: str | None = None


def app_header(f: Field) -> str:
    """``"Hashrate (TH/s per unit)"``: the header of the app's tables and the label of its forms."""
    return f"{f.label} ({f.unit})" if f.unit else f.label


def sheet_header(f: Field) -> str:
    """``"Hashrate [TH/s per unit]"``: the workbook's and the CSV template's header, which the importer matches."""
    if f.sheet_label is not None:
        return f.sheet_label
    return f"{f.label} [{f.unit}]" if f.unit else f.label


def by_path(fields: tuple[Field, ...]) -> dict[str, Field]:
    """``{"count": Field(...), ...}``."""
    return {f.path: f for f in fields}


# --------------------------------------------------------------------------- fleet (one row per cohort)

FLEET_FIELDS: tuple[Field, ...] = (
    Field("model", "Model", kind="text", required=True, note="ASIC model name", tip="ASIC model name"),
    Field("site", "Site", kind="text", required=True, note="must match a site name", tip="site the cohort runs at"),
    Field("count", "Count", "units", required=True, decimals=2, sheet_label="Units",
          tip="machines in the cohort (fractional when a plan splits it)"),
    Field("hashrate_ths", "Hashrate", "TH/s per unit", required=True, decimals=1, note="nameplate",
          tip="nameplate hashrate per unit, TH/s"),
    Field("power_w", "Power", "W per unit", required=True, decimals=0, note="at the wall",
          tip="wall power per unit, W"),
    Field("efficiency_j_per_th", "Efficiency", "J/TH", decimals=2, derived=True,
          tip="power / hashrate, J/TH (read-only)"),
    Field("uptime_pct", "Uptime", "%", decimals=1, tip="share of hours the machines run, %"),
    Field("degradation_pct_per_year", "Degradation", "%/yr", decimals=1, note="hashrate lost per year of age",
          tip="hashrate lost per year of age, %"),
    Field("purchase_price_usd", "Purchase price", "USD/unit", decimals=0, sheet_label="Unit price [USD]",
          tip="price per unit, USD (capex when bought during the horizon)"),
    Field("age_months", "Age", "months", kind="integer", sheet_label="Age at start [months]",
          tip="age at the start month, months"),
    Field("useful_life_months", "Useful life", "months", kind="integer", note="straight-line depreciation"),
    Field("purchase_month", "Delivery month", "YYYY-MM", kind="month", note="blank if owned at the start"),
    Field("retire_month", "Retire month", "YYYY-MM", kind="month",
          note="first month it no longer runs; blank = never"),
    Field("sale_price_usd", "Sale price", "USD per unit",
          note="a stated price for the units retired (a signed sale, or a move at book value); blank = market"),
    Field("salvage_usd", "Salvage", "USD/unit", decimals=0, sheet_label="Salvage [USD per unit]",
          note="resale quote in the late-2025 market; scales the used-ASIC market price; 0: the market alone",
          tip="resale quote per unit in the late-2025 market, USD; retired units sell at the used-ASIC "
              "market price (~22 months of margin at a buyer's $0.05/kWh), scaled by this quote when "
              "given; 0: the market price alone"),
    Field("breakeven_power_usd_per_kwh", "Breakeven power", "USD/kWh", decimals=4, derived=True,
          tip="power price at which the cohort's first-month revenue (net of pool fee) pays only its "
              "energy, USD/kWh (read-only)"),
    Field("breakeven_btc_price_usd", "Breakeven BTC price", "USD/BTC", decimals=0, derived=True,
          tip="BTC price at which the cohort's first-month revenue pays its energy at the site's average "
              "price and PUE, USD (read-only)"),
)


# --------------------------------------------------------------------------- sites (one row per site)

SITE_FIELDS: tuple[Field, ...] = (
    Field("name", "Site", kind="text", required=True,
          tip="site name; renaming also renames the fleet's and the conversion plan's references"),
    Field("capacity_mw", "Capacity", "MW gross", required=True, decimals=1, sheet_label="Capacity [MW]",
          note="gross utility MW", tip="gross utility capacity, MW"),
    Field("power_price_usd_per_mwh", "Power price", "USD/MWh", required=True, decimals=2,
          note="contract energy price",
          tip="contract energy price, USD/MWh (an hourly profile replaces it for energy drawn)"),
    Field("pue", "PUE", "ratio", decimals=3, sheet_label="PUE", note="site draw per MW of ASIC load",
          tip="site draw per MW of ASIC load (cooling, auxiliaries)"),
    Field("curtailment_credit_usd_per_mwh", "Curtailment credit", "USD/MWh", decimals=2,
          tip="credit per MWh not drawn while curtailed, USD/MWh"),
    Field("curtailment_enabled", "Curtailment enabled", "yes/no", kind="bool", sheet_label="Can curtail [yes/no]",
          tip="machines stop when the hour's price plus the credit beats their revenue"),
    Field("take_or_pay_mwh_per_month", "Take-or-pay", "MWh/month", decimals=0, note="0 = none",
          tip="minimum energy paid each month, MWh"),
    Field("mining_opex_usd_per_mw_month", "Mining opex", "USD/MW-month", decimals=0,
          tip="fixed opex per MW of mining load, USD per MW-month"),
    # The app shows whether a site has one; the profile itself is the workbook's Hourly prices sheet.
    Field("hourly_price_usd_per_mwh", "Hourly profile", "12x24 USD/MWh", kind="text", derived=True,
          tip="a 12 x 24 (calendar month x hour) price profile, USD/MWh; load one from CSV with the button"),
    Field("ai.convertible_gross_mw", "Convertible", "MW gross", decimals=1, sheet_label="AI convertible [gross MW]",
          note="blank = the site cannot convert (no AI/HPC section)",
          tip="gross MW that can be converted to AI/HPC; entering a value on a site without "
              "an AI section adds one, clearing the cell removes it"),
    Field("ai.critical_mw_per_gross_mw", "Critical IT", "MW per gross MW", decimals=3,
          sheet_label="Critical MW per gross MW", tip="critical IT MW per gross MW (about 1/PUE of the AI hall)"),
    Field("ai.conversion_capex_usd_per_critical_mw", "Conversion capex", "USD/critical MW", decimals=0,
          tip="capex per MW of critical IT, USD"),
    Field("ai.lead_time_months", "Lead time", "months", kind="integer",
          tip="months from the start of a conversion until it earns revenue"),
    Field("ai.facility_life_months", "Facility life", "months", kind="integer",
          tip="depreciation life of conversion capex"),
    Field("ai.load_factor_pct", "Load factor", "% of gross MW", sheet_label="AI load factor [%]",
          tip="average draw of converted MW, % of gross"),
    Field("ai.business_model", "Business model", kind="choice", choices=BUSINESS_MODELS,
          tip="colocation: lease critical IT to a tenant; gpu_cloud: buy GPUs and rent them by the hour "
              "(a conversion in the plan may name its own model)"),
    # colocation: the site leases critical IT to a tenant
    Field("ai.colocation.rate_usd_per_kw_month", "Lease rate", "USD/kW-month", tip="per kW of critical IT per month"),
    Field("ai.colocation.escalator_pct_per_year", "Escalator", "%/yr", sheet_label="Lease escalator [%/yr]",
          tip="annual increase of the lease rate"),
    Field("ai.colocation.term_months", "Term", "months", kind="integer", sheet_label="Lease term [months]",
          tip="lease term"),
    Field("ai.colocation.tenant_pays_power", "Tenant pays power", "yes/no", kind="bool",
          tip="checked: the tenant pays the AI hall's energy"),
    Field("ai.colocation.opex_usd_per_kw_month", "Landlord opex", "USD/kW-month",
          tip="per kW of critical IT per month"),
    Field("ai.colocation.tenant_credit", "Tenant credit", kind="choice", choices=TENANT_CREDITS,
          note="sets the lease cash's discount rate"),
    Field("ai.colocation.renewal_probability_pct", "Lease renewal", "%",
          note="chance the tenant renews at the end of the term"),
    # gpu_cloud: the site buys GPUs and rents them by the hour
    Field("ai.gpu_cloud.gpus_per_critical_mw", "GPUs per critical MW", "GPUs/MW", sheet_label="GPUs per critical MW"),
    Field("ai.gpu_cloud.usd_per_gpu_hour", "Price", "USD per GPU-hour", sheet_label="GPU rate [USD/GPU-hour]"),
    Field("ai.gpu_cloud.rate_decline_pct_per_year", "Price decline", "%/yr", sheet_label="GPU rate decline [%/yr]",
          note="as a GPU generation ages",
          tip="how fast an installed GPU generation's rental price falls; replacements earn the new price"),
    Field("ai.gpu_cloud.utilization_pct", "Utilization", "%", sheet_label="GPU utilization [%]",
          tip="share of GPU-hours sold"),
    Field("ai.gpu_cloud.gpu_capex_usd", "GPU capex", "USD per GPU", sheet_label="GPU capex [USD/GPU]",
          tip="all-in per GPU incl. servers and network"),
    Field("ai.gpu_cloud.useful_life_months", "Useful life", "months", kind="integer", sheet_label="GPU life [months]",
          tip="GPUs are replaced after this"),
    Field("ai.gpu_cloud.opex_usd_per_gpu_month", "Opex", "USD per GPU-month", sheet_label="GPU opex [USD/GPU-month]"),
)


# --------------------------------------------------------------------------- conversion plan (the app's AI view)

CONVERSION_FIELDS: tuple[Field, ...] = (
    Field("site", "Site", kind="text", required=True, tip="a site with an AI section"),
    Field("gross_mw", "Gross", "MW", required=True, decimals=1,
          tip="gross utility MW converted (stop mining at the start)"),
    Field("start_month", "Start month", "YYYY-MM", kind="month", required=True,
          tip="construction starts; revenue after the site's lead time"),
    Field("business_model", "Business model", kind="choice", choices=BUSINESS_MODELS,
          tip="leave at the site's model, or override it for this conversion"),
)


# --------------------------------------------------------------------------- hourly prices (one row per site and month)

#: 24 hourly prices per (site, calendar month); the columns are the hours, H00 to H23, in USD/MWh.
HOURLY_FIELDS: tuple[Field, ...] = (
    (Field("site", "Site", kind="text", required=True, note="a site name from the Sites sheet"),
     Field("month", "Calendar month", "1-12", kind="integer", required=True, note="1 = January ... 12 = December"))
    + tuple(Field(f"H{h:02d}", f"H{h:02d}", "USD/MWh", required=True, note="USD/MWh" if h == 0 else "",
                  sheet_label=f"H{h:02d}") for h in range(24)))


# --------------------------------------------------------------------------- the workbook's input tables

FLEET_SHEET = "Fleet"
SITES_SHEET = "Sites"
HOURLY_SHEET = "Hourly prices"


@dataclass(frozen=True)
class Column:
    """A field as a column of a workbook input table (Fleet, Sites, Hourly prices) or CSV template."""

    field: str                 # the field's dotted path (``ai.colocation.term_months``)
    header: str                # what the sheet shows, unit in brackets: :func:`sheet_header`
    kind: Kind
    required: bool = False
    choices: tuple[str, ...] = ()
    note: str = ""


def sheet_columns(fields: tuple[Field, ...]) -> tuple[Column, ...]:
    """The input columns of a table: its fields that are not derived, in order, headers rendered."""
    return tuple(Column(f.path, sheet_header(f), f.kind, f.required, f.choices, f.note)
                 for f in fields if not f.derived)


FLEET_COLUMNS: tuple[Column, ...] = sheet_columns(FLEET_FIELDS)
SITE_COLUMNS: tuple[Column, ...] = sheet_columns(SITE_FIELDS)
HOURLY_COLUMNS: tuple[Column, ...] = sheet_columns(HOURLY_FIELDS)
#: The hourly price sheet's headers: Site, calendar month, H00..H23.
HOURLY_HEADERS: tuple[str, ...] = tuple(c.header for c in HOURLY_COLUMNS)

"""Subcommands about the named late-2025 stress scenarios: ``presets`` and ``scenarios list|show``.

``scenarios show`` applies one to a scenario and prints its first months: BTC price (USD),
network hashrate (EH/s), difficulty and hashprice (USD per PH/s per day).
"""

from __future__ import annotations

import json
import sys

from minerplan.cli.arguments import Parser, positive_int
from minerplan.cli.console import load_with_warnings
from minerplan.scenario.errors import escape_control


def add_presets(sub) -> None:
    """The ``presets`` subcommand's arguments."""
    pr = sub.add_parser("presets", help="list the named stress scenarios (same as 'scenarios list')")
    pr.add_argument("--json", action="store_true")


def add_scenarios(sub) -> None:
    """The ``scenarios list|show`` subcommands' arguments."""
    from minerplan.markets.prices import preset_names

    scn = sub.add_parser("scenarios", help="the named late-2025 stress scenarios: list them or show one")
    scn_sub = scn.add_subparsers(dest="scenarios_command", parser_class=Parser, required=True)
    sl = scn_sub.add_parser("list", help="list the stress scenarios")
    sl.add_argument("--json", action="store_true")
    ss = scn_sub.add_parser("show", help="describe one and what it does to a scenario, month by month")
    ss.add_argument("name", choices=preset_names())
    ss.add_argument("--scenario", default="default", help="scenario JSON file to apply it to (default: the shipped one)")
    ss.add_argument("--months", type=positive_int, default=6, help="months to show (default 6)")
    ss.add_argument("--json", action="store_true")


def run_presets(args) -> int:
    from minerplan.markets.prices import PRESETS

    if args.json:
        json.dump([{"name": p.name, "description": p.description, "points": p.points, "source": p.source,
                    "hashrate_capitulation": p.hashrate_capitulation, "switches_on": p.switches_on()}
                   for p in PRESETS.values()], sys.stdout)
        sys.stdout.write("\n")
    else:
        for p in PRESETS.values():
            print(f"{p.name:<14}{p.description}")
            print(f"{'':<14}BTC price: {p.price_points_text()}")
            print(f"{'':<14}switches on: {'; '.join(p.switches_on()) or 'nothing besides the BTC price path'}")
            print(f"{'':<14}source: {p.source}")
    return 0


def run_scenarios(args) -> int:
    if args.scenarios_command == "list":
        return run_presets(args)
    from minerplan.engine.evaluate import run_engine
    from minerplan.analysis.vocabulary import NPV_ON_PATH
    from minerplan.formats import usd
    from minerplan.markets.prices import PRESETS, preset_changes, with_preset_market

    p = PRESETS[args.name]
    sc = load_with_warnings(args.scenario)
    res = run_engine(sc, preset=p.name)
    plain = run_engine(with_preset_market(sc, p.name))   # the same network model, the scenario's own prices
    n = min(args.months, sc.horizon_months)
    net = res.network
    rows = [{"month": res.months[m], "btc_price_usd": float(res.btc_price_usd[0, m]),
             "network_hashrate_ehs": float(net.network_hashrate_ehs[0, m]),
             "difficulty": float(net.difficulty[0, m]),
             "hashprice_usd_per_ph_day": float(res.hashprice_usd_per_th_day[0, m] * 1000.0)} for m in range(n)]
    changes = preset_changes(sc, p.name)
    doc = {"name": p.name, "description": p.description, "source": p.source, "points": p.points,
           "hashrate_capitulation": p.hashrate_capitulation, "switches_on": p.switches_on(), "changes": changes,
           "scenario": sc.name, "network_model": res.scenario.market.network_model,
           "npv_usd": float(res.npv_usd[0]), "npv_usd_scenario_path": float(plain.npv_usd[0]),
           "npv_usd_as_entered": float(run_engine(sc).npv_usd[0]), "months": rows}
    if args.json:
        json.dump(doc, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    print(f"{p.name}: {p.description}")
    print(f"  source: {p.source}")
    print(f"  switches on: {'; '.join(p.switches_on()) or 'nothing besides the BTC price path'}")
    print(f"\nApplied to {escape_control(sc.name)}, it changes:")
    for line in changes:
        print(f"  - {line}")
    print("\nMonth by month, on the preset's price path")
    print(f"  {'month':<9}{'BTC USD':>10}{'EH/s':>9}{'difficulty T':>14}{'USD/PH/day':>12}")
    for r in rows:
        print(f"  {r['month']:<9}{r['btc_price_usd']:>10,.0f}{r['network_hashrate_ehs']:>9,.0f}"
              f"{r['difficulty'] / 1e12:>14,.1f}{r['hashprice_usd_per_ph_day']:>12,.2f}")
    same = res.scenario.market.network_model == sc.market.network_model
    print(f"\n  {NPV_ON_PATH} (the preset's path): {usd(doc['npv_usd'])}")
    print(f"  the scenario's own price path on the same {res.scenario.market.network_model} network: "
          f"{usd(doc['npv_usd_scenario_path'])}")
    if not same:
        print(f"  the scenario as entered ({sc.market.network_model} network, no preset): "
              f"{usd(doc['npv_usd_as_entered'])}; the difference from the line above is the network switch alone")
    return 0

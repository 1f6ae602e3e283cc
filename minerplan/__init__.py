"""MinerPlan core: domain model, scenario files and the miner-economics engine.

This package never imports Qt or Pyomo (enforced by tests/test_architecture.py),
so the engine and the CLI's ``evaluate`` run on any headless machine.
"""

__version__ = "0.1.0"

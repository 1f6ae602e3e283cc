"""Analysis on top of the engine: reports and KPIs, sensitivities, hedges, incremental value, period roll-ups."""

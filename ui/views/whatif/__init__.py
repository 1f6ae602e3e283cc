"""What-if view: sliders over a copy of the scenario, KPIs, tornado and breakevens (see :mod:`.view`)."""

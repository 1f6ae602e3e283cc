"""The scenario: its domain types, file format, catalog, calendar, user-facing errors and field declarations."""

"""Import a scenario's fleet and sites from .csv or .xlsx, and write the import template.

Start at :mod:`minerplan.sheets.importing.fleet_and_sites` (the readers) and
:mod:`minerplan.sheets.importing.template`.
"""

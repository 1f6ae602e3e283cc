"""The plan as an Excel workbook with live formulas: see :mod:`minerplan.sheets.export.workbook`."""

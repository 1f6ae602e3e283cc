"""Spreadsheet and table I/O: the Excel workbook writer with live formulas and the CSV/XLSX table importer."""

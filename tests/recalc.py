"""Recalculate workbooks with a real spreadsheet engine (LibreOffice, headless) for the export tests.

openpyxl writes formulas without cached values; LibreOffice computes every
formula on load and ``--convert-to xlsx`` saves a copy with the values, which
``openpyxl.load_workbook(data_only=True)`` reads. ``.ci/run`` installs
LibreOffice when it is missing; without it these tests fail and say so.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def soffice() -> str:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        raise RuntimeError("LibreOffice is needed to recalculate the exported workbook: run .ci/run, or "
                           "apt-get install -y --no-install-recommends libreoffice-calc-nogui")
    return exe


def recalculate(paths: list[Path], out_dir: Path, profile_dir: Path, timeout_s: float = 300.0) -> list[Path]:
    """Open each workbook in LibreOffice, recalculate, save to ``out_dir`` (one process for all)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [soffice(), f"-env:UserInstallation={profile_dir.resolve().as_uri()}", "--headless", "--norestore",
           "--convert-to", "xlsx", "--outdir", str(out_dir)] + [str(p) for p in paths]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    outs = [out_dir / p.name for p in paths]
    missing = [str(o) for o in outs if not o.exists()]
    if proc.returncode != 0 or missing:
        raise RuntimeError(f"LibreOffice failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}\nmissing {missing}")
    return outs

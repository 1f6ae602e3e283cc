"""Autosave and recovery after a crash, per window and per document (issue 11's reproductions).

A crash is simulated by giving a window's autosave file the pid of a process that has ended: that is
what a window of a crashed MinerPlan leaves behind (see ``ui.autosave.owned_by_live_process``).
The recovery question is answered by a stand-in for :func:`ui.autosave.ask_recovery`.
"""

import json
import os
import subprocess
import sys

import pytest
from PySide6.QtCore import QSettings, QStandardPaths

from minerplan.scenario.files import load_scenario

QStandardPaths.setTestModeEnabled(True)


@pytest.fixture
def app(qtbot, tmp_path, monkeypatch):
    """Opens main windows sharing one settings file and one autosave folder; cleans them up afterwards."""
    from ui import autosave, main_window as mw

    folder = tmp_path / "autosave"
    folder.mkdir()
    monkeypatch.setattr(autosave, "autosave_dir", lambda: folder)
    opened = []

    def open_window(path="default"):
        w = mw.MainWindow(path, settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                          check_recovery=False)
        w.evaluation.mc.paths = 1
        opened.append(w)
        return w

    open_window.folder = folder
    yield open_window
    for w in opened + [r for w in opened for r in w.recovered_windows]:
        w.doc.undo_stack.setClean()
        w.close()
        w.evaluation.wait_idle()


@pytest.fixture
def answers(monkeypatch):
    """Answers the recovery questions in order; records what was asked."""
    from ui import autosave

    state = {"answers": [], "asked": []}

    def ask(parent, text, detail):
        state["asked"].append(text + "\n" + detail)
        return state["answers"].pop(0) if state["answers"] else autosave.LATER

    monkeypatch.setattr(autosave, "ask_recovery", ask)
    return state


def set_fee(w, pct):
    w.doc.edit_dict(lambda d: d["finance"].update(pool_fee_pct=pct), "Edit pool fee")


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def crash(w, saved_at: float):
    """What a crash of ``w``'s process leaves: its last autosave (returned), from a process no longer running."""
    w.autosave()
    f = w.autosave_path()
    if f.exists():                                 # (a clean window has none)
        payload = json.loads(f.read_text(encoding="utf-8"))
        payload.update(pid=dead_pid(), saved_at=saved_at)
        f.write_text(json.dumps(payload), encoding="utf-8")
    w._autosave_timer.stop()
    w._autosave_id = "gone-" + w._autosave_id      # the window is gone: it must not touch its file again
    return f


def test_two_crashed_windows_are_both_offered_newest_first_and_both_recovered(app, answers, tmp_path):
    from ui import autosave

    plan = tmp_path / "plan.json"
    first = app()
    set_fee(first, 3.0)
    assert first._write(str(plan))                 # a saved file ...
    set_fee(first, 3.3)                            # ... with unsaved work on it
    second = app()
    set_fee(second, 7.5)                           # an untitled scenario with unsaved work
    crash(second, saved_at=1_000.0)
    crash(first, saved_at=2_000.0)                 # the newer one
    files = sorted(app.folder.glob("*.json"))
    assert len(files) == 2

    third = app()
    answers["answers"] = [autosave.RECOVER, autosave.RECOVER]
    third.offer_recovery()
    assert len(answers["asked"]) == 2
    assert "plan.json" in answers["asked"][0] and str(plan) in answers["asked"][0]       # newest first
    assert "Mid-size miner" in answers["asked"][1] and "(unsaved)" in answers["asked"][1]
    assert "autosave 1 of 2" in answers["asked"][0] and "autosave 2 of 2" in answers["asked"][1]
    # the newer one, in this window, against its file: dirty; undo returns to what the file holds
    assert third.doc.path == str(plan) and third.doc.dirty and third.doc.scenario.finance.pool_fee_pct == 3.3
    assert third.windowTitle().startswith("plan.json*")
    # the older one, in a new window, untitled
    [other] = third.recovered_windows
    assert other.doc.path is None and other.doc.dirty and other.doc.scenario.finance.pool_fee_pct == 7.5
    # both orphans answered, so deleted; the recovered work is autosaved again by the windows now holding it
    assert not any(f.exists() for f in files)
    assert sorted(app.folder.glob("*.json")) == sorted([third.autosave_path(), other.autosave_path()])
    # Save writes the recovered work to its file
    assert third.save()
    assert load_scenario(plan).finance.pool_fee_pct == 3.3 and not third.autosave_path().exists()
    third.doc.undo_stack.undo()
    assert third.doc.scenario.finance.pool_fee_pct == 3.0


def test_an_unanswered_autosave_is_kept_and_offered_again(app, answers):
    from ui import autosave

    left = []
    for fee, at in ((4.0, 1_000.0), (5.0, 2_000.0), (6.0, 3_000.0)):
        w = app()
        set_fee(w, fee)
        left.append(crash(w, saved_at=at))
    oldest, middle, newest = left

    fresh = app()
    answers["answers"] = [autosave.DISCARD, autosave.LATER]           # the user discards one, then leaves the rest for later
    fresh.offer_recovery()
    assert len(answers["asked"]) == 2
    assert not newest.exists() and middle.exists() and oldest.exists()
    assert not fresh.doc.dirty and fresh.recovered_windows == []

    again = app()
    answers["asked"].clear()
    answers["answers"] = [autosave.RECOVER, autosave.LATER]
    again.offer_recovery()
    assert len(answers["asked"]) == 2 and "autosave 1 of 2" in answers["asked"][0]
    assert again.doc.scenario.finance.pool_fee_pct == 5.0
    assert not middle.exists() and oldest.exists()         # the one not answered stays


def test_autosaves_of_running_windows_are_not_offered(app, answers):
    live = app()
    set_fee(live, 4.0)
    live.autosave()                                        # this process, window still open
    other = app()
    set_fee(other, 5.0)
    other.autosave()
    f = other.autosave_path()
    payload = json.loads(f.read_text(encoding="utf-8"))
    payload["pid"] = os.getppid()                          # another MinerPlan that is still running
    f.write_text(json.dumps(payload), encoding="utf-8")

    third = app()
    third.offer_recovery()
    assert answers["asked"] == []
    assert live.autosave_path().exists() and f.exists()


def test_undo_back_to_the_saved_state_then_crash_offers_nothing(app, answers, tmp_path):
    w = app()
    set_fee(w, 4.0)
    w.autosave()
    assert w.autosave_path().exists()
    w.doc.undo_stack.undo()                                # clean again: the autosave goes at once
    assert not w.doc.dirty and not w.autosave_path().exists()
    w.autosave()                                           # and nothing is written while clean
    assert not w.autosave_path().exists()
    w.doc.undo_stack.redo()
    w.autosave()
    assert w.autosave_path().exists()
    assert w._write(str(tmp_path / "plan.json"))           # saved: the autosave goes too
    assert not w.autosave_path().exists()
    set_fee(w, 5.0)
    w.autosave()
    w.doc.undo_stack.undo()                                # back to the state just saved
    assert not w.autosave_path().exists()
    crash(w, saved_at=1_000.0)                             # a crash now leaves nothing

    after = app()
    after.offer_recovery()
    assert answers["asked"] == [] and list(app.folder.glob("*.json")) == []


def test_recovered_work_on_a_file_that_is_gone_is_untitled(app, answers, tmp_path):
    from ui import autosave

    plan = tmp_path / "plan.json"
    w = app()
    assert w._write(str(plan))
    set_fee(w, 6.5)
    crash(w, saved_at=1_000.0)
    plan.unlink()
    unreadable = app.folder / "broken.json"
    unreadable.write_text("{not json", encoding="utf-8")

    fresh = app()
    answers["answers"] = [autosave.RECOVER]
    fresh.offer_recovery()
    assert len(answers["asked"]) == 1                      # the unreadable file cannot be offered ...
    assert unreadable.exists()                             # ... so it is not deleted either
    assert fresh.doc.path is None and fresh.doc.dirty and fresh.doc.scenario.finance.pool_fee_pct == 6.5
    assert "Save As" in fresh._status.text()


@pytest.mark.parametrize("press, answer", [("Recover", "recover"), ("Discard", "discard"), ("Decide later", "later"),
                                           (None, "later")])
def test_the_question_names_its_buttons_and_escape_keeps_the_file(qtbot, monkeypatch, press, answer):
    from PySide6.QtWidgets import QMessageBox, QWidget

    from ui import autosave

    seen = {}

    def exec_(box):
        seen["buttons"] = [b.text() for b in box.buttons()]
        seen["escape"] = box.escapeButton().text()
        if press is None:
            box.reject()                                   # Escape, or the window's close button
        else:
            next(b for b in box.buttons() if b.text() == press).click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    parent = QWidget()
    qtbot.addWidget(parent)
    assert autosave.ask_recovery(parent, "Recover?", "details") == answer
    assert sorted(seen["buttons"]) == ["Decide later", "Discard", "Recover"] and seen["escape"] == "Decide later"


def test_a_killed_autosaves_temp_file_is_removed_at_the_next_start(app, answers):
    # kill -9 while an autosave was being written leaves ".<window>.json.<pid>.<random>.tmp"; no later
    # write has that window's name, so the next start's recovery pass removes it (a live one stays).
    w = app()
    stale = app.folder / f".0123456789ab.json.{dead_pid()}.k9_x.tmp"
    stale.write_text("half an autosave")
    live = app.folder / f".ba9876543210.json.{os.getpid()}.busy.tmp"
    live.write_text("being written")
    w.offer_recovery()
    assert not stale.exists() and live.exists()

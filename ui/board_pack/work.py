"""What a board pack computes before anything is drawn: the optimizer's plan (optionally) and the content. No Qt.

:func:`compute_pack` is the work a background job (the app) or the command line runs:
``work(progress, cancel)`` style, raising :class:`~minerplan.engine.evaluate.Cancelled` when asked
to stop. With ``optimize`` it first runs the optimizer (``solvers``: the plan, its value against the
scenario as entered, its confidence on fresh paths and re-solves, the efficient frontier) and hands
the result to :func:`minerplan.analysis.board_pack.build_board_pack` as plain data.
"""

from __future__ import annotations

from typing import Callable

from minerplan.analysis.board_pack import BoardPack, OptimizedPlan, build_board_pack
from minerplan.engine.evaluate import progress_span
from minerplan.scenario.model import Scenario

#: The pack's confidence measures of an optimized plan: fewer than ``minerplan optimize``'s 10 re-solves
#: and 10,000 fresh paths, so that one click takes under a minute on the shipped scenario.
PACK_REPLICATIONS = 3
PACK_OUT_OF_SAMPLE_PATHS = 2_000
#: Risk weights of the frontier the pack draws (the optimizer's plan is the risk-neutral one, w=0).
FRONTIER_WEIGHTS = (0.0, 0.5, 1.0, 2.0)
#: Paths the optimizer plans on (``minerplan optimize``'s default): the pack then values the plan on its
#: own N paths. Planning on 500 paths takes minutes for the frontier alone; the value barely moves.
OPTIMIZER_PATHS = 100
#: Share of the progress bar the optimizer takes when there is one.
OPTIMIZER_SHARE = 0.6

Progress = Callable[[float, str], None]


def optimized_plan(sc: Scenario, *, paths: int, seed: int, progress: Progress | None = None,
                   cancel: Callable[[], bool] | None = None) -> OptimizedPlan:
    """The optimizer's plan for ``sc``, planned on ``paths`` price paths, as the pack's plain data."""
    from solvers.baseline import compare
    from solvers.confidence import assess_plan, describe
    from solvers.frontier import efficient_frontier
    from solvers.optimize import optimize
    from solvers.report import recommendation
    from solvers.settings import OptimizerSettings

    st = OptimizerSettings(n_paths=paths, seed=seed)
    res = optimize(sc, st, progress=progress_span(progress, cancel, 0.0, 0.45, "optimizer"), cancel=cancel)
    if not res.ok:
        return OptimizedPlan(None, res.status, tuple(recommendation(res)), paths=paths)
    base = compare(sc, res, st)
    conf = assess_plan(sc, res, st, out_of_sample_paths=PACK_OUT_OF_SAMPLE_PATHS, replications=PACK_REPLICATIONS,
                       progress=progress_span(progress, cancel, 0.45, 0.8, "confidence"), cancel=cancel)
    table = efficient_frontier(sc, st, FRONTIER_WEIGHTS, progress=progress_span(progress, cancel, 0.8, 1.0, "frontier"),
                               cancel=cancel)
    frontier = tuple((float(r.risk_aversion), float(r.expected_npv_usd), float(r.cvar_usd))
                     for r in table.itertuples()
                     if r.status in ("optimal", "time_limit") and r.expected_npv_usd == r.expected_npv_usd
                     and r.expected_npv_usd is not None)
    return OptimizedPlan(res.plan_scenario, res.status, tuple(recommendation(res)), tuple(describe(conf, res)),
                         res.expected_npv_usd, base.expected_npv_usd, st.risk_aversion, frontier, paths)


def compute_pack(sc: Scenario, *, paths: int = 500, seed: int = 0, optimize: bool = False,
                 progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> BoardPack:
    """The pack's content for ``sc`` on ``paths`` price paths (with the optimizer's plan when ``optimize``,
    planned on at most :data:`OPTIMIZER_PATHS` of them)."""
    optimized, lo = None, 0.0
    if optimize:
        optimized = optimized_plan(sc, paths=min(paths, OPTIMIZER_PATHS), seed=seed, cancel=cancel,
                                   progress=progress_span(progress, cancel, 0.0, OPTIMIZER_SHARE, ""))
        lo = OPTIMIZER_SHARE
    return build_board_pack(sc, paths=paths, seed=seed, optimized=optimized, cancel=cancel,
                            progress=progress_span(progress, cancel, lo, 1.0, ""))

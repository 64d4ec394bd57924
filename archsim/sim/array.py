"""The systolic array as a SimPy component: one transaction per fold (SPEC-sim §5)."""
from __future__ import annotations

import simpy

from archsim.sim.plan import Fold, LayerPlan


class SystolicArray:
    """An R x C array running the folds of one layer plan; counts its MACs and busy cycles.

    A fold is one timeout of `plan.cycles_per_fold` cycles (the closed form proved by
    `archsim.sim.reference`); there are no per-PE events.
    """

    def __init__(self, env: simpy.Environment, plan: LayerPlan):
        self.env = env
        self.plan = plan
        self.macs = 0
        self.busy_cycles = 0

    def run_fold(self, fold: Fold):
        """Process: compute one fold."""
        yield self.env.timeout(self.plan.cycles_per_fold)
        self.busy_cycles += self.plan.cycles_per_fold
        self.macs += fold.used_rows * fold.used_cols * self.plan.t

"""The systolic array as a SimPy component: one transaction per fold (SPEC-sim §5)."""
from __future__ import annotations

import simpy

from archsim.sim.plan import Fold, LayerPlan


class SystolicArray:
    """An R x C array running the folds of one layer plan; counts its MACs and busy cycles.

    A fold is one timeout of `plan.cycles_per_fold` cycles, the closed form proved by
    `archsim.sim.reference` (less the load cycles overlapped loading hides); there are no
    per-PE events.
    """

    def __init__(self, env: simpy.Environment, plan: LayerPlan):
        self.env = env
        self.plan = plan
        self.macs = 0
        self.busy_cycles = 0

    def run_fold(self, fold: Fold, exposed_load_cycles: int | None = None):
        """Process: compute one fold. `exposed_load_cycles` is the part of the stationary
        tile's R-cycle load not hidden behind the previous fold (default: all of it)."""
        load = self.plan.load_cycles
        exposed = load if exposed_load_cycles is None else exposed_load_cycles
        cycles = self.plan.cycles_per_fold - load + exposed
        yield self.env.timeout(cycles)
        self.busy_cycles += cycles
        self.macs += fold.used_rows * fold.used_cols * self.plan.t

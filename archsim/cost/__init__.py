"""Netlist-derived cost model (SPEC-sim §7): cell library, static timing, toggle energy of
whole FP units (multiplier, PE adder, accumulator register: archsim_core.fp_unit netlists) and
the PE cost the simulator consumes (`archsim.cost.pe.pe_cost`)."""

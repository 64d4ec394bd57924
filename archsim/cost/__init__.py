"""Gate-count-derived cost model (SPEC-sim §7): cell library, static timing, toggle energy,
whole FP units and the PE cost the simulator consumes (`archsim.cost.pe.pe_cost`)."""

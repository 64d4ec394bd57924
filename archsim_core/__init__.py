"""archsim_core: bit-level multipliers built from one netlist each, and FP kernels over them."""

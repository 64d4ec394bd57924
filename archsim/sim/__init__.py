"""Systolic-array accelerator model: pure plan, SimPy transactions, cycle-by-cycle reference."""

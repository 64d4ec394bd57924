"""SCALE-Sim v2 compatibility: its INI config and topologies in, its CALC-mode reports out.

`compat` reads SCALE-Sim's inputs and computes each layer's report row from archsim's plan
(`archsim.sim.plan`, whose fold geometry it shares); `memory` reproduces SCALE-Sim's
CALC-mode DRAM traffic model (read-buffer epochs, write-buffer drains) without per-word loops.
"""

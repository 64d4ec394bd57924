"""Design-space sweeps: a spec (axes over run-config keys, sampling, constraints, objectives),
points as pure picklable tasks, serial or Dask execution, a resumable results table, Pareto
fronts. `archsim sweep SPEC --out DIR` is the command; `archsim report DIR` renders it.
"""

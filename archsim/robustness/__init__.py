"""Adversarial robustness of networks run with exact and approximate multipliers: ART attacks,
metrics with stated definitions, a data-set-agnostic experiment runner, reports and plots."""

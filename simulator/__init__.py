"""dmmviz's engine: a pure, deterministic simulation of distributed mobility anchoring. See docs/engine.md."""

from .engine import CommandError, Simulation
from .scenario import SCHEMA, Problem, ScenarioError, load_scenario, validate

__all__ = ["CommandError", "Problem", "SCHEMA", "ScenarioError", "Simulation", "load_scenario", "validate"]

"""dmmviz's engine: a pure, deterministic simulation of distributed mobility anchoring. See docs/engine.md."""

from .commands import CommandError
from .engine import Simulation
from .scenario import SCHEMA, Problem, ScenarioError, load_scenario, validate

__all__ = ["SCHEMA", "CommandError", "Problem", "ScenarioError", "Simulation", "load_scenario", "validate"]

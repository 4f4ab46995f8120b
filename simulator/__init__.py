"""dmmviz's engine: a pure, deterministic simulation of distributed mobility anchoring. See docs/engine.md."""

from .commands import CommandError
from .engine import Simulation
from .limits import Budget, TooMuchWork
from .scenario import SCHEMA, Problem, ScenarioError, load_scenario, validate

__all__ = [
    "SCHEMA",
    "Budget",
    "CommandError",
    "Problem",
    "ScenarioError",
    "Simulation",
    "TooMuchWork",
    "load_scenario",
    "validate",
]

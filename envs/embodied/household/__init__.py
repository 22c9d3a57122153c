"""An ALFWorld-style household: world generation, task types, commands, the planner oracle, the env."""

from envalign.envs.embodied.household.env import HouseholdEnv

__all__ = ["HouseholdEnv"]

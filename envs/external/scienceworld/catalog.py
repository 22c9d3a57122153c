"""The ScienceWorld family's registrations: ``scienceworld/<Task>-v0``.

Every one of ScienceWorld's 30 task types runs through ``ScienceWorldEnv(task=...)``; the catalog
registers a few with short gold paths, because each id's conformance run starts about fifty JVMs.
"""

from envalign.envs.external.dependencies import availability
from envalign.envs.registry import register

ENV = "envalign.envs.external.scienceworld.env"
#: id name -> (ScienceWorld task name, one line)
TASKS = {
    "FindLivingThing": ("find-living-thing", "find a living thing and move it to a named box"),
    "Melt": ("melt", "melt a substance: find it, heat it, watch its state change"),
}


def register_all() -> None:
    """Register the ScienceWorld tasks (listed even without ``scienceworld`` installed)."""
    note = availability("scienceworld", "scienceworld")
    for name, (task, line) in TASKS.items():
        register(
            f"scienceworld/{name}-v0",
            f"{ENV}:ScienceWorldEnv",
            family="embodied",
            description=f"ScienceWorld {task}: {line}.{note}",
            kwargs={"task": task},
            tags=("scienceworld", "external", "valid-actions", "java"),
            policies={
                "random": f"{ENV}:random_policy",
                "gold": f"{ENV}:gold_policy",
                "scripted": f"{ENV}:gold_policy",
            },
        )

"""An envalign plugin: one environment, registered through the ``envalign.envs`` entry point."""

from envalign.envs import register


def register_envs() -> None:
    """Called by envalign the first time its catalog is read."""
    register(
        "example/GuessNumber-v0",
        "envalign_example_plugin.guess_number:GuessNumberEnv",
        family="reasoning",
        description="Guess a number from 1 to 100 in at most 7 tries, told 'higher' or 'lower'.",
        policies={"scripted": "envalign_example_plugin.guess_number:bisect_policy"},
    )

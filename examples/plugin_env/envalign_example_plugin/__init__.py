"""An envalign plugin: a single-agent environment and a two-agent game, registered through the
``envalign.envs`` entry point."""

from envalign.envs import register


def register_envs() -> None:
    """Called by envalign when it loads its catalog (on import of ``envalign.envs``)."""
    register(
        "example/GuessNumber-v0",
        "envalign_example_plugin.guess_number:GuessNumberEnv",
        family="reasoning",
        description="Guess a number from 1 to 100 in at most 7 tries, told 'higher' or 'lower'.",
        policies={"scripted": "envalign_example_plugin.guess_number:bisect_policy"},
    )
    # A TextParallelEnv: envalign reads from the class that it is a PettingZoo game of 2 agents
    # (pass num_agents=2 to skip building it once at registration).
    register(
        "example/MeetingPoint-v0",
        "envalign_example_plugin.meeting_point:MeetingPointEnv",
        family="social",
        description="Two friends name a place at once and win if they meet; 3 tries.",
        policies={
            "scripted": "envalign_example_plugin.meeting_point:focal_policy",
            "random": "envalign_example_plugin.meeting_point:random_policy",
        },
    )

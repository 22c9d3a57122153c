"""The tools family's registrations."""


def register_all() -> None:
    """Register the tools family (one ``register(...)`` line per environment)."""

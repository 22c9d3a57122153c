"""The embodied family's registrations."""


def register_all() -> None:
    """Register the embodied family (one ``register(...)`` line per environment)."""

"""Social-interaction and collective-intelligence games."""

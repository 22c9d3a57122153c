"""The tools family of environments."""

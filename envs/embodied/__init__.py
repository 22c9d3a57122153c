"""The embodied family of environments."""

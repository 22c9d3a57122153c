"""Reasoning environments with verifiable answers."""

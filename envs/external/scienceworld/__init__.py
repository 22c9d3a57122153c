"""ScienceWorld's science-experiment tasks (``pip install "envalign[scienceworld]"`` plus Java)."""

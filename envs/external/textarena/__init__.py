"""TextArena's offline games (``pip install "envalign[textarena]"``) as envalign PettingZoo games."""

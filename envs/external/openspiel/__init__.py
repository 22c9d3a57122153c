"""OpenSpiel's games (``pip install "envalign[openspiel]"``) as envalign PettingZoo games in text."""

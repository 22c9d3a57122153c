"""TextWorld's generated text games (``pip install "envalign[textworld]"``)."""

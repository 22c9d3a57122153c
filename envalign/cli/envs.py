"""``envalign list`` and ``envalign info``: the catalog."""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from typing import Any


def add_commands(subparsers: Any) -> None:
    """Add ``list`` and ``info``."""
    listing = subparsers.add_parser("list", help="list the registered environments (with plugins)")
    listing.add_argument("--json", action="store_true", help="print the catalog as JSON")
    listing.add_argument(
        "--family", help="only this family (social, collective, tool, embodied...)"
    )
    listing.set_defaults(handler=list_command)
    info = subparsers.add_parser("info", help="show an environment's card and documentation")
    info.add_argument("env_id", metavar="ID", help="environment id, e.g. envalign/Arithmetic-v0")
    info.add_argument("--json", action="store_true", help="print the card as JSON")
    info.set_defaults(handler=info_command)


def list_command(args: argparse.Namespace) -> int:
    """Print the catalog as a table or JSON."""
    from envalign.envs import list_envs

    cards = list_envs(args.family)
    if args.json:
        print(json.dumps([card.as_dict() for card in cards], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"envalign environments ({len(cards)})")
    table.add_column("id", no_wrap=True, style="bold")
    for column in ("family", "agents", "signals", "docker"):
        table.add_column(column, no_wrap=True)
    table.add_column("description", overflow="fold", min_width=30)
    for card in cards:
        table.add_row(
            card.id,
            card.family,
            str(card.num_agents),
            " ".join(card.signals),
            "yes" if card.needs_docker else "",
            card.description + ("" if card.source == "envalign" else f" [plugin: {card.source}]"),
        )
    Console(width=None if sys.stdout.isatty() else 160).print(table)
    return 0


def info_command(args: argparse.Namespace) -> int:
    """Print one environment's card and its class docstring."""
    from envalign.envs import spec
    from envalign.envs.registry import load_entry_point

    card = spec(args.env_id)
    data = card.as_dict()
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    for key, value in data.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        print(f"{key:>13}: {shown}")
    target = load_entry_point(card.entry_point)
    doc = inspect.getdoc(target)
    if doc:
        print()
        print(doc)
    return 0

"""The ``envalign`` command line: a subcommand per module, each adding itself to the parser.

Errors a user can cause (an unknown id, a bad argument) print one line with a suggestion and exit
with status 2; they never show a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from envalign import __version__

#: Modules whose ``add_commands(subparsers)`` define the subcommands, in the order ``--help`` shows.
COMMAND_MODULES = (
    "envalign.cli.envs",
    "envalign.cli.run",
    "envalign.cli.models",
    "envalign.cli.sandbox",
    "envalign.cli.train",
    "envalign.cli.eval",
    "envalign.cli.view",
    "envalign.cli.serve",
)


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line plus a hint, exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"envalign: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser with every subcommand."""
    parser = _Parser(
        prog="envalign",
        description="Align LLM agents through environment feedback.",
    )
    parser.add_argument("--version", action="version", version=f"envalign {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    from envalign.envs.errors import EnvalignError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except EnvalignError as error:
        print(f"envalign: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("envalign: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

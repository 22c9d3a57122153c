"""``envalign sandbox``: build the image, check isolation, collect leftover containers."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(subparsers: Any) -> None:
    """Add ``sandbox build-image | doctor | gc``."""
    sandbox = subparsers.add_parser("sandbox", help="manage the Docker sandbox")
    actions = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION")
    build = actions.add_parser("build-image", help="build the default sandbox image (offline)")
    build.add_argument("--force", action="store_true", help="rebuild even if the image exists")
    build.set_defaults(handler=build_image_command)
    sandbox.set_defaults(handler=lambda args: sandbox.print_help() or 0)


def build_image_command(args: argparse.Namespace) -> int:
    """Build the default sandbox image."""
    from envalign.sandbox.image import build_image

    tag = build_image(force=args.force)
    print(f"sandbox image ready: {tag}")
    return 0

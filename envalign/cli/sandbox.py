"""``envalign sandbox``: build the image, check isolation, collect leftover containers."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_commands(subparsers: Any) -> None:
    """Add ``sandbox build-image | doctor | gc``."""
    sandbox = subparsers.add_parser("sandbox", help="manage the Docker sandbox")
    actions = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION")
    build = actions.add_parser("build-image", help="build the default sandbox image (offline)")
    build.add_argument("--force", action="store_true", help="rebuild even if the image exists")
    build.add_argument(
        "--method",
        choices=["auto", "registry", "debootstrap"],
        default="auto",
        help="registry base image, debootstrap root filesystem, or the first that works",
    )
    build.add_argument("--tag", default=None, help="image tag (default: the versioned one)")
    build.set_defaults(handler=build_image_command)
    doctor = actions.add_parser("doctor", help="check the engine, the image and the isolation")
    doctor.add_argument("--image", default=None, help="image to check (default: the default)")
    doctor.set_defaults(handler=doctor_command)
    gc = actions.add_parser("gc", help="remove sandbox containers left by dead processes")
    gc.add_argument(
        "--all", action="store_true", help="remove every envalign container, even live ones"
    )
    gc.set_defaults(handler=gc_command)
    sandbox.set_defaults(handler=lambda args: sandbox.print_help() or 0)


def build_image_command(args: argparse.Namespace) -> int:
    """Build the default sandbox image (a no-op when it exists)."""
    from envalign.envs.errors import SandboxUnavailable
    from envalign.sandbox.image import build_image

    try:
        tag = build_image(args.tag, force=args.force, method=args.method)
    except SandboxUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"sandbox image ready: {tag}")
    return 0


def doctor_command(args: argparse.Namespace) -> int:
    """Print one line per check; exit 1 if any failed."""
    from envalign.sandbox.doctor import diagnose

    checks = diagnose(args.image)
    width = max(len(check.name) for check in checks)
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        print(f"{mark} {check.name:<{width}}  {check.detail}")
    failed = [check.name for check in checks if not check.ok]
    print(f"\n{len(checks) - len(failed)}/{len(checks)} checks passed")
    return 1 if failed else 0


def gc_command(args: argparse.Namespace) -> int:
    """Remove leftover sandbox containers."""
    from envalign.envs.errors import SandboxUnavailable
    from envalign.sandbox.docker import collect_leftovers
    from envalign.sandbox.image import docker_client

    try:
        client = docker_client()
    except SandboxUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    removed = collect_leftovers(client, everything=args.all)
    print(f"removed {len(removed)} sandbox container(s)" + (": " if removed else ""))
    for name in removed:
        print(f"  {name}")
    return 0

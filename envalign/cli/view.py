"""``envalign view`` and ``envalign report``: look at episodes and training runs in a browser."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from envalign.cli.run import non_negative_int


def add_commands(subparsers: Any) -> None:
    """Add ``view`` and ``report``."""
    view = subparsers.add_parser(
        "view",
        help="write an HTML page to browse, filter and replay episodes",
        description="Write one self-contained HTML file (no network) showing the episodes of a "
        "JSON Lines file: a filterable list, chat lanes per agent with rewards and feedback, and "
        "animations of embodied episodes.",
    )
    view.add_argument(
        "episodes", metavar="EPISODES.jsonl", help="episodes from `envalign run --out`"
    )
    view.add_argument("--out", metavar="FILE.html", help="the page (default: EPISODES.html)")
    view.add_argument(
        "--frames",
        type=non_negative_int,
        default=50,
        metavar="N",
        help="replay the first N episodes of environments that render pictures into GIFs "
        "(default 50; 0: none)",
    )
    _serve_arguments(view)
    view.set_defaults(handler=view_command)

    report = subparsers.add_parser(
        "report",
        help="write an HTML training report with plots",
        description="Write a self-contained HTML report of a training run: reward and success "
        "curves with 95 percent bands, reward components, KL and entropy, throughput, evaluations.",
    )
    report.add_argument("run_dir", metavar="RUN_DIR", help="the run.output_dir of `envalign train`")
    report.add_argument(
        "--out", metavar="FILE.html", help="the page (default: RUN_DIR/report.html)"
    )
    report.add_argument(
        "--config", metavar="CONFIG.yaml", help="the run's config, when RUN_DIR holds none"
    )
    _serve_arguments(report)
    report.set_defaults(handler=report_command)


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--serve", action="store_true", help="also serve the page on localhost until Ctrl-C"
    )
    parser.add_argument(
        "--port",
        type=non_negative_int,
        default=8000,
        help="port for --serve (default 8000; 0: any)",
    )


def view_command(args: argparse.Namespace) -> int:
    """Write the episode page; serve it with ``--serve``."""
    from envalign.training.view.episodes_page import build_episodes_page

    page = build_episodes_page(args.episodes, args.out, frames=args.frames)
    print(f"episode viewer written to {page}")
    if args.serve:
        serve(page, args.port)
    return 0


def report_command(args: argparse.Namespace) -> int:
    """Write the training report; serve it with ``--serve``."""
    from envalign.training.view.report import build_report

    page = build_report(args.run_dir, args.out, config=args.config)
    print(f"training report written to {page}")
    if args.serve:
        serve(page, args.port)
    return 0


def serve(page: Path, port: int) -> None:
    """Serve ``page`` (and only it) on ``127.0.0.1:port`` until interrupted."""
    from envalign.training.view.serve import page_server

    server = page_server(page, port)
    host, bound = server.server_address[:2]
    print(f"serving http://{host}:{bound}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.server_close()

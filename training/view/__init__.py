"""Looking at what happened: the episode viewer page and the training report.

``envalign view EPISODES.jsonl`` writes :func:`build_episodes_page`'s single HTML file;
``envalign report RUN_DIR`` writes :func:`build_report`'s. Both are self-contained (no network).
"""

from envalign.training.view.episodes_page import build_episodes_page
from envalign.training.view.report import build_report

__all__ = ["build_episodes_page", "build_report"]

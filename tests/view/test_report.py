"""The training report: bands from logged spreads or stated fallbacks, plots, tables, errors."""

from __future__ import annotations

import json
import math

import pytest

from envalign.envs.errors import UnreadableInput
from envalign.training.view.report import (
    build_report,
    evaluations,
    figures,
    read_run,
    series,
    summary,
)


def rows_with(std: bool = True, extra: bool = True):
    rows = []
    for step in range(1, 9):
        row = {
            "step": step,
            "train/reward": step / 10,
            "train/success": 0.5,
            "train/episodes": 16,
            "train/loss": 0.1,
            "time/completions_per_s": 100.0 + step,
        }
        if std:
            row["train/reward_std"] = 0.4
        if extra:
            row |= {
                "train/kl": 0.01 * step,
                "train/entropy": 2.0 - 0.1 * step,
                "train/reward_components/format": 0.1,
                "train/reward_components/correct": step / 10 - 0.1,
            }
        if step % 4 == 0:
            row |= {"eval/reward": step / 8, "eval/reward_std": 0.2, "eval/episodes": 25}
        rows.append(row)
    return rows


def test_band_from_logged_std_is_the_95_interval_of_the_mean():
    line = series(rows_with(), "train/reward", "training", "train/episodes")
    half = 1.96 * 0.4 / math.sqrt(16)
    assert line.high[0] - line.values[0] == pytest.approx(half)
    assert "train/reward_std" in line.band


def test_without_std_the_band_is_rolling_and_says_so():
    line = series(rows_with(std=False), "train/reward", "training", "train/episodes")
    assert "rolling" in line.band and line.low[0] == line.values[0]  # one point: no spread yet


def test_success_band_is_binomial():
    line = series(rows_with(), "train/success", "training", "train/episodes")
    assert line.high[0] - 0.5 == pytest.approx(1.96 * math.sqrt(0.25 / 16))
    assert "binomial" in line.band


def test_missing_metric_is_no_series():
    assert series(rows_with(), "train/nothing", "x") is None


def test_figures_cover_what_is_logged():
    titles = [figure.title for figure in figures(rows_with())]
    assert titles == [
        "Reward",
        "Success rate",
        "Reward components",
        "KL divergence",
        "Entropy",
        "Optimisation",
        "Throughput",
    ]
    assert all(figure.png.startswith("data:image/png;base64,") for figure in figures(rows_with()))
    plain = [figure.title for figure in figures(rows_with(extra=False))]
    assert "Entropy" not in plain and "Reward components" not in plain


def test_kl_to_the_reference_shares_the_kl_plot():
    rows = [{"step": s, "train/kl_ref": 0.1 * s} for s in range(1, 4)]
    assert [figure.title for figure in figures(rows)] == ["KL divergence"]


def test_evaluation_table_has_intervals():
    header, table = evaluations(rows_with())
    assert header == ["step", "episodes", "reward"]
    assert table[0][0] == "4" and table[0][2] == f"0.5 ± {1.96 * 0.2 / 5:.2g}"


def test_summary_headlines():
    facts = dict(summary(rows_with()))
    assert facts["last step"] == "8" and facts["best eval reward"] == "1"


def write_run(folder, rows, config=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if config:
        (folder / "config.yaml").write_text(config)
    return folder


def test_report_page_is_self_contained_and_escapes_config(tmp_path):
    run = write_run(tmp_path / "run", rows_with(), config="env:\n  id: <script>x</script>\n")
    page = build_report(run).read_text(encoding="utf-8")
    assert page.count("<img") == 7 and "<script" not in page.replace("&lt;script", "")
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "http://" not in page and "https://" not in page


@pytest.mark.slow
def test_report_of_the_trainers_real_output(tmp_path):
    from envalign.training.config import load_config
    from envalign.training.trainer import train

    config = load_config(
        "examples/configs/arithmetic_tiny_cpu.yaml",
        [
            f"run.output_dir={tmp_path / 'run'}",
            "run.steps=3",
            "run.eval_every=3",
            "run.eval_episodes=4",
            "run.checkpoint_every=0",
            "run.tensorboard=false",
            "run.progress=false",
        ],
    )
    train(config)
    page = build_report(tmp_path / "run", config="examples/configs/arithmetic_tiny_cpu.yaml")
    text = page.read_text(encoding="utf-8")
    assert "Reward" in text and "Throughput" in text and "name: tiny-random" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "holds no metrics"), ("{oops\n", "is not JSON"), ('{"x": 1}\n', "no integer 'step'")],
)
def test_bad_metrics_say_what_is_wrong(tmp_path, content, message):
    (tmp_path / "metrics.jsonl").write_text(content)
    with pytest.raises(UnreadableInput, match=message):
        read_run(tmp_path)


def test_a_folder_without_metrics_is_named(tmp_path):
    with pytest.raises(UnreadableInput, match="has no metrics.jsonl"):
        read_run(tmp_path)
    with pytest.raises(UnreadableInput, match="No run folder"):
        read_run(tmp_path / "nope")

"""Links into the viewer: compact seed lists and percent-encoded fragments."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from envalign.training.view.episodes_page import page_data
from envalign.training.view.links import seed_ranges, viewer_link


def test_seeds_become_ranges():
    assert seed_ranges([7, 1, 2, 3, 3, 9, 10]) == "1-3,7,9-10"
    assert seed_ranges([5]) == "5"
    assert seed_ranges([]) == ""


def test_a_link_carries_every_filter_encoded():
    link = viewer_link(
        "runs/episodes.html#episode=3",
        env_id="envalign/Ultimatum-v0",
        seeds=[1, 2, 4],
        policies={"responder": "hf:./my model&co"},
        any_policy=["fair"],
        episode=12,
    )
    split = urlsplit(link)
    assert split.path == "runs/episodes.html"
    assert " " not in link and "+" not in link and link.count("#") == 1
    assert parse_qsl(split.fragment) == [
        ("env", "envalign/Ultimatum-v0"),
        ("seed", "1-2,4"),
        ("policy.responder", "hf:./my model&co"),
        ("policy", "fair"),
        ("episode", "12"),
    ]
    assert viewer_link("episodes.html") == "episodes.html"


def test_the_page_holds_each_episodes_policies_for_the_link_filters():
    record = {
        "env_id": "envalign/Ultimatum-v0",
        "seed": 1,
        "agents": ["proposer", "responder"],
        "policies": {"proposer": "fair", "responder": "random"},
        "turns": [],
        "returns": {"proposer": 1.0, "responder": 0.0},
    }
    assert page_data([record, {**record, "policies": None}], frames=0)["policies"] == [
        {"proposer": "fair", "responder": "random"},
        {},
    ]

"""``envalign models list|pull`` against a temporary cache."""

from __future__ import annotations

import json

from envalign.cli import main


def test_list_shows_cached_models_and_presets_to_pull(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ENVALIGN_HOME", str(tmp_path))
    assert main(["models", "list"]) == 0
    assert "envalign models pull smollm2-135m-instruct" in capsys.readouterr().out
    folder = tmp_path / "models" / "smollm2-135m-instruct"
    folder.mkdir(parents=True)
    (folder / "envalign-model.json").write_text(json.dumps({"name": "smollm2-135m-instruct"}))
    assert main(["models", "list"]) == 0
    assert "not pulled" not in capsys.readouterr().out


def test_pull_of_a_cached_model_is_instant_and_prints_its_folder(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ENVALIGN_HOME", str(tmp_path))
    folder = tmp_path / "models" / "smollm2-135m-instruct"
    folder.mkdir(parents=True)
    (folder / "envalign-model.json").write_text("{}")
    assert main(["models", "pull"]) == 0
    assert capsys.readouterr().out.strip() == str(folder)


def test_unknown_preset_is_a_one_line_error(capsys):
    assert main(["models", "pull", "llama-9000"]) == 2
    assert "Presets: smollm2-135m-instruct" in capsys.readouterr().err

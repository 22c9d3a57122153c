import pytest

from envalign.sandbox import choose


def test_default_is_docker_when_an_engine_answers(monkeypatch) -> None:
    created = []
    monkeypatch.setattr(choose, "docker_available", lambda: True)
    import envalign.sandbox.docker as docker_module

    monkeypatch.setattr(docker_module, "DockerSandbox", lambda **kw: created.append(kw) or "docker")
    assert choose.default_sandbox() == "docker"


def test_falls_back_to_local_with_a_warning(monkeypatch) -> None:
    from envalign.sandbox import local

    monkeypatch.setattr(choose, "docker_available", lambda: False)
    monkeypatch.setattr(local, "_WARNED", False)
    with pytest.warns(RuntimeWarning, match="LOCAL"):
        box = choose.default_sandbox(bubblewrap=False)
    try:
        assert isinstance(box, local.LocalSandbox)
    finally:
        box.close()

import threading
import time

import pytest

from envalign import __version__
from envalign.envs.errors import ConfigError
from envalign.sandbox import image


def test_default_tag_carries_the_version() -> None:
    assert image.default_image() == f"envalign-sandbox:{__version__}-{image.IMAGE_REVISION}"


def test_prepare_rootfs_adds_the_user_and_work_dir(tmp_path, monkeypatch) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tmp_path / "etc/group").write_text("root:x:0:\n")
    monkeypatch.setattr(image.os, "chown", lambda *args: None)
    image._prepare_rootfs(tmp_path)
    assert "sandbox:x:1000:1000" in (tmp_path / "etc/passwd").read_text()
    assert "sandbox:x:1000:" in (tmp_path / "etc/group").read_text()
    assert (tmp_path / "work").is_dir()


@pytest.mark.docker
def test_build_is_idempotent_fast_and_safe_in_parallel(sandbox_image) -> None:
    tags = []
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda: tags.append(image.build_image(quiet=True)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tags == [sandbox_image] * 3
    assert time.monotonic() - started < 10


@pytest.mark.docker
def test_image_has_the_tools(box) -> None:
    result = box.run(
        "python3 --version && sqlite3 --version && bash --version | head -1 "
        "&& ls --version | head -1",
        language="bash",
    )
    assert result.exit_code == 0
    assert "Python 3" in result.stdout and "coreutils" in result.stdout


def test_unknown_method_fails_clearly() -> None:
    with pytest.raises(ConfigError, match="debootstrap"):
        image.build_image("x:y", method="nope", quiet=True)

"""The Docker engine that `make test` ensures: a container with no network runs and answers."""

import pytest

from envalign.sandbox.image import default_image, docker_client, image_exists

pytestmark = pytest.mark.docker


def test_a_container_without_network_runs_the_sandbox_image():
    client = docker_client()
    assert image_exists(client, default_image()), "make test builds the image before the suite"
    script = (
        "import os, socket\n"
        "print('hello from', os.uname().sysname, sorted(os.listdir('/sys/class/net')))\n"
        "try:\n"
        "    socket.create_connection(('192.0.2.1', 80), timeout=2)\n"
        "    print('network: reachable')\n"
        "except OSError as error:\n"
        "    print('network: unreachable')\n"
    )
    output = client.containers.run(
        default_image(),
        ["python3", "-c", script],
        network_mode="none",
        remove=True,
        labels={"envalign.test": "engine-smoke"},
    ).decode()
    assert "hello from Linux ['lo']" in output
    assert "network: unreachable" in output

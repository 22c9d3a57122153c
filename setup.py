"""Map the repository's top-level folders onto the ``envalign`` namespace.

Each folder is one room of the package (see DESIGN.md). Subpackages are discovered per folder so that a
nested package (``envs/social``) is in the wheel, not only importable from an editable install.
"""

from setuptools import find_namespace_packages, setup

ROOMS = {
    "envalign": "envalign",
    "envalign.envs": "envs",
    "envalign.agents": "agents",
    "envalign.training": "training",
    "envalign.sandbox": "sandbox",
}


def room_packages() -> list[str]:
    packages = []
    for name, folder in ROOMS.items():
        packages.append(name)
        subpackages = find_namespace_packages(where=folder, exclude=["*__pycache__*"])
        packages += [f"{name}.{sub}" for sub in subpackages]
    return packages


setup(package_dir=ROOMS, packages=room_packages())

"""The lock files stay in step with pyproject.toml, and the deploy files with the tree.

``requirements.txt`` (what a deploy installs: Python buildpacks, the Dockerfile) and
``requirements-test.txt`` (what CI installs) are compiled from pyproject.toml; their
headers say the command. A dependency added or narrowed in pyproject without compiling
again fails here, offline, before any deploy does.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def pins(lock: str) -> dict[str, Version]:
    """``name -> version`` of each ``name==version`` line; each must carry hashes."""
    text = (ROOT / lock).read_text(encoding="utf-8")
    found = {}
    for entry in re.split(r"\n(?=[A-Za-z0-9])", text):
        if match := PIN.match(entry):
            assert "--hash=sha256:" in entry, f"{lock}: {match[1]} has no hash"
            found[canonicalize_name(match[1])] = Version(match[2])
    return found


def wanted(extra: str | None = None) -> list[Requirement]:
    declared = PROJECT["optional-dependencies"][extra] if extra else PROJECT["dependencies"]
    return [Requirement(line) for line in declared]


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        ("requirements.txt", wanted()),
        ("requirements-test.txt", wanted() + wanted("test")),
    ],
)
def test_every_dependency_is_pinned_within_its_range(lock, requirements):
    pinned = pins(lock)
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{lock} lacks {name}: compile it again (see its header)"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{lock} pins {name}=={pinned[name]}, outside {requirement.specifier}: "
            "compile it again (see its header)"
        )


def test_ci_tests_what_a_deploy_runs():
    deployed, tested = pins("requirements.txt"), pins("requirements-test.txt")
    assert {name: tested.get(name) for name in deployed} == deployed


def test_the_runtime_is_the_one_pyproject_and_the_image_name():
    version = (ROOT / ".python-version").read_text(encoding="utf-8").strip()
    assert PROJECT["requires-python"] == f">={version}"
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert f"FROM python:{version}-slim" in dockerfile


def test_everything_the_dockerfile_copies_exists():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = [
        source
        for line in dockerfile.splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for source in line.split()[1:-1]
        if not source.startswith("--")
    ]
    assert "requirements.txt" in copied
    assert [source for source in copied if not (ROOT / source).exists()] == []


def test_the_image_runs_as_a_user_not_root():
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")

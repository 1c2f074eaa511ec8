"""`conductor agents [NAME...]`: the agent profiles, whether each is installed, its version."""

from __future__ import annotations

from conductor.errors import NotARepositoryError
from conductor.executors.profiles import find
from conductor.project import find_root
from conductor.runner.install.agents import AgentsReport, agents


def run(names: list[str]) -> AgentsReport:
    try:
        root = find_root()
    except NotARepositoryError:
        root = None  # outside a repository: the built-in profiles
    for name in names:
        find(name, root)  # an unknown name is an error that lists the known ones
    return agents(root, names or None)

"""`conductor init [NAME]`: create a project NAME, or set up Conductor in the current repository."""

from __future__ import annotations

from conductor.runner.install.setup import InitResult, existing_repo, new_project


def run(name: str | None) -> InitResult:
    return new_project(name) if name else existing_repo()

"""An agent's own git inside the sandbox: it works on the worktree as in any clone, sees the
repository's branches and tags but not Conductor's refs, and whatever it writes (commits,
branches, tags, stashes, the index) stays in its private git directory."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from conductor.models.event import EventType
from conductor.sandbox.confinement import Confinement, launch
from tests.conftest import NO_SANDBOX, PYTHON, git
from tests.scenario import Project

pytestmark = pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox: {NO_SANDBOX}")

AGENT = """
set -e
echo "status: $(git status --porcelain | wc -l)"
echo "describe: $(git describe --tags)"
echo "origin: $(git rev-parse --abbrev-ref origin/HEAD)"
echo "branches: $(git branch --format='%(refname:short)' | sort | tr '\\n' ' ')"
echo "conductor refs: $(git for-each-ref refs/conductor | wc -l)"
echo "log: $(git log --oneline | wc -l)"
echo agent > agent.txt
git add agent.txt
git commit -q -m "the agent's commit"
git branch agent-branch
git tag agent-tag
echo more >> agent.txt
git stash -q
git stash list | wc -l
echo "done"
"""


def refs(root: Path) -> str:
    return git(root, "for-each-ref", "--format=%(objectname) %(refname)")


def test_an_agents_git_works_and_writes_nothing_outside_its_step(repo: Path, tmp_path: Path) -> None:
    default = git(repo, "branch", "--show-current").strip()
    git(repo, "tag", "-a", "v1", "-m", "release")
    git(repo, "branch", "feature")
    git(repo, "pack-refs", "--all")
    git(repo, "branch", "loose")  # one loose ref beside the packed ones
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    git(repo, "update-ref", "refs/conductor/plans/secret", "HEAD")
    head = git(repo, "rev-parse", "HEAD").strip()
    (repo / ".git" / "refs" / "heads" / "feature.lock").write_text(head + "\n")  # a ref being written
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "conductor/plan/main", str(worktree))
    admin = Path(git(worktree, "rev-parse", "--absolute-git-dir").strip())
    index_before, refs_before = (admin / "index").read_bytes(), refs(repo)
    confinement = Confinement(workspace=worktree, repo_root=repo, git_dir=repo / ".git", isolated=True)

    with launch(confinement, AGENT, env=dict(os.environ)) as prepared:
        proc = subprocess.run(
            prepared.argv, cwd=worktree, capture_output=True, text=True, check=False, **prepared.options()
        )

    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr, proc.stderr
    lines = proc.stdout.splitlines()
    branches = sorted(["conductor/plan/main", "feature", "loose", default])
    assert lines[:6] == [
        "status: 0",
        "describe: v1",
        "origin: origin/main",
        f"branches: {' '.join(branches)} ",
        "conductor refs: 0",
        "log: 1",
    ]
    assert lines[-2:] == ["1", "done"]
    # the step's work is the files: the commit, branch, tag and stash stayed in the sandbox
    assert (worktree / "agent.txt").read_text() == "agent\n"
    assert refs(repo) == refs_before
    assert (admin / "index").read_bytes() == index_before
    assert git(worktree, "status", "--porcelain") == "?? agent.txt\n"


# What an agent's tools read of its git without git: GitPython parses packed-refs and the index
# itself (aider), pygit2 is libgit2. Run in the sandbox at each step of a fork, after Conductor
# has committed earlier steps (and split the worktree's index).
PROBE = """
import subprocess, sys
from pathlib import Path
step = sys.argv[1]
status = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True)
assert status.returncode == 0 and status.stdout == "", ("git status", status.returncode, status.stderr)
import git
repo = git.Repo(".")
names = {ref.path for ref in repo.refs}
assert "refs/tags/v1" in names and "refs/tags/light" in names, names
assert not any(name.startswith("refs/conductor/") for name in names), names
assert repo.tags["v1"].tag is not None and repo.tags["v1"].commit.hexsha == repo.git.rev_parse("v1^{}")
entries = {path for path, _ in repo.index.entries}
assert set(Path(".").glob("*.txt")) <= {Path(p) for p in entries}, entries
assert not repo.is_dirty(untracked_files=True)
import pygit2
lib = pygit2.Repository(".")
assert lib.status() == {}, lib.status()
assert "refs/tags/v1" in lib.references and len(lib.index) == len(entries)
Path(step + ".txt").write_text(step + "\\n")
print("probe ok", step, len(entries))
"""


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_an_agents_tools_read_its_git_at_every_step_of_a_fork(proj: Project, tmp_path: Path, run_cli) -> None:
    git(proj.root, "tag", "-a", "v1", "-m", "release")
    git(proj.root, "pack-refs", "--all")
    git(proj.root, "tag", "light")  # loose, beside the packed annotated tag
    probe = tmp_path / "probe.py"  # outside the repository: the sandbox hides the checkout
    probe.write_text(PROBE)
    steps = [
        {"title": f"Step {n}", "instruction": f"write step_00{n}.txt", "allowed_files": [f"step_00{n}.txt"]}
        for n in (1, 2, 3)
    ]
    plan = proj.plan(steps)
    command = f'{shlex.quote(PYTHON)} {shlex.quote(str(probe))} "$CONDUCTOR_STEP"'

    result = run_cli("build", "--plan", plan, "--exec", command, "--yes")

    assert result.code == 0, result.out + result.err
    events = proj.events()
    completed = [e.step for e in events if e.type is EventType.TASK_COMPLETED]
    assert completed == ["step_001", "step_002", "step_003"]
    admin = Path(git(proj.worktree(), "rev-parse", "--absolute-git-dir").strip())
    assert list(admin.glob("sharedindex.*")), "the worktree's index was split after the first steps"
    for n in (1, 3):
        explanation = proj.record(f"completed/step_00{n}.explanation.md")
        assert f"probe ok step_00{n}" in explanation, explanation


def test_an_agent_cannot_write_the_worktrees_own_index_through_its_copy(repo: Path, tmp_path: Path) -> None:
    """The private git directory's files are copies: writing into them (not as git does, by a
    rename) changes nothing of the repository's."""
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "conductor/plan/main", str(worktree))
    admin = Path(git(worktree, "rev-parse", "--absolute-git-dir").strip())
    before = (admin / "index").read_bytes()
    confinement = Confinement(workspace=worktree, repo_root=repo, git_dir=repo / ".git", isolated=True)
    script = 'd=$(sed -n "s/^gitdir: //p" .git); printf garbage > "$d/index"; printf garbage >> "$d/index"'
    with launch(confinement, script, env=dict(os.environ)) as prepared:
        proc = subprocess.run(
            prepared.argv, cwd=worktree, capture_output=True, check=False, **prepared.options()
        )
    assert proc.returncode == 0, proc.stderr
    assert (admin / "index").read_bytes() == before

"""Setting a project up (`conductor init [NAME]`): a new project, or Conductor in the current
repository.

With NAME: a new directory with `git init`, the default policy, `.conductor/.gitignore` and a
first commit. Without NAME: add whichever of those files are missing to the current
repository, touching no existing file and no history (so running it twice changes nothing).
The policy's rules about a directory (the seed's `/core`, `migrations/*`) are active only
when the repository has that directory; otherwise they stay in the file as commented examples.
The values it shows are the defaults of models/defaults.py, filled in where the template says
`{default:KEY}`.
The git CLI does the repository work, so the user's git config (default branch, templates,
hooks, signing) applies as it would to their own commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from conductor import resources
from conductor.errors import ConductorError
from conductor.gitcli import git, git_text
from conductor.ledger.identity import who_commits
from conductor.models.defaults import DEFAULTS, shown
from conductor.project import IGNORE_FILE, POLICY_FILE, find_root


@dataclass
class InitResult:
    """What `init` did: the repository it set up (created or not), the files written or kept."""

    root: Path
    created_repo: bool
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    commit: str | None = None
    identity_fallback: str = ""  # who the first commit is by, when git has no identity (or half)
    name: str = ""  # NAME as given, for the `cd` hint


def template(name: str) -> str:
    return resources.text(f"templates/{name}")


_CONDITIONAL = re.compile(r"^(?P<indent>\s*)(?P<rule>- .*?)\s+# if (?P<dir>\S+/) exists$", re.MULTILINE)
_DEFAULT = re.compile(r"\{default:(?P<key>[a-z_]+\.[a-z_]+)\} *(?P<comment>#.*)?$", re.MULTILINE)
COMMENT_COLUMN = 28  # where the template's comments after a value begin


def with_defaults(text: str) -> str:
    """`text` with each `{default:KEY}` replaced by that setting's default as the policy file
    writes it, the comment after it kept in its column."""

    def fill(match: re.Match[str]) -> str:
        value = shown(DEFAULTS[match["key"]])
        if not match["comment"]:
            return value
        line = match.string[match.string.rfind("\n", 0, match.start()) + 1 : match.start()] + value
        return value + " " * max(2, COMMENT_COLUMN - len(line)) + match["comment"]

    return _DEFAULT.sub(fill, text)


def policy_text(root: Path) -> str:
    """The policy template for the repository at `root`: a rule marked `# if DIR/ exists` is
    kept when `root` has DIR, and commented out (an example, saying why) when it does not."""

    def render(match: re.Match[str]) -> str:
        indent, rule, directory = match["indent"], match["rule"], match["dir"]
        if (root / directory).is_dir():
            return f"{indent}{rule}"
        return f"{indent}# {rule}  (an example: this repository has no {directory})"

    return _CONDITIONAL.sub(render, with_defaults(template("policy.yaml")))


def _write_missing(root: Path, result: InitResult) -> None:
    for rel, name in ((POLICY_FILE, "policy.yaml"), (IGNORE_FILE, "gitignore")):
        target = root / rel
        if target.exists() or target.is_symlink():
            result.kept.append(rel)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        text = policy_text(root) if name == "policy.yaml" else template(name)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
        result.written.append(rel)


def new_project(name: str) -> InitResult:
    root = Path(name).resolve()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ConductorError(
            f"{name} already exists and is not an empty directory",
            hint="choose another NAME, or run `conductor init` inside an existing repository",
        )
    root.mkdir(parents=True, exist_ok=True)
    git(["init", "--quiet", str(root)])
    result = InitResult(root=root, created_repo=True, name=name)
    _write_missing(root, result)
    identity = who_commits(root)
    result.identity_fallback = "{} <{}>".format(*identity.pair) if identity.missing else ""
    git(["add", "--", *result.written], cwd=root)
    git(["commit", "--quiet", "--no-verify", "-m", "Set up Conductor"], cwd=root, env=identity.git_env())
    result.commit = git_text(["rev-parse", "HEAD"], cwd=root)
    return result


def existing_repo() -> InitResult:
    root = find_root()
    result = InitResult(root=root, created_repo=False)
    _write_missing(root, result)
    return result

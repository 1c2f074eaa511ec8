"""A hostile agent writes for the user's terminal, through the real CLI: escape sequences (OSC 52
clipboard, OSC 8 links, titles, screen clears, DCS/APC/PM/SOS strings), 8-bit C1 controls,
carriage returns, bidi overrides and rich markup, in its explanation, what its process printed,
the verify output, its summary, its file names and its worker's name. Whatever Conductor
prints of them — text or --json — is text: none reaches stdout or stderr as control, and the
JSON still holds the agent's exact strings."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from conductor.executors.queue import Queue
from tests.conftest import PYTHON, Result, conductor_bin, git, run_process, wait_until
from tests.scenario import Project

ESCAPES = (
    "\x1b]52;c;cHduZWQ=\x07"  # OSC 52: write the clipboard (BEL-terminated)
    "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\"  # OSC 8: a link (ST-terminated)
    "\x1b]0;pwned title\x07\x1b]2;pwned too\x1b\\"  # window titles
    "\x1b[2J\x1b[H\x1b[31m"  # CSI: clear the screen, home, red
    "\x1bP+q544e\x1b\\\x1b_apc\x1b\\\x1b^pm\x1b\\\x1bXsos\x1b\\"  # DCS, APC, PM, SOS strings
    "\x9b2J\x9d0;c1 title\x9c"  # the same as 8-bit C1 controls
    "\x08\x7f\x00\rforged line"  # backspace, DEL, NUL, a carriage return over the line
)
BIDI = "access\u202e // check if admin \u2066\u2069\u202a\u202b\u202c\u202d\u2067\u2068 done"
MARKUP = "[bold red]markup[/bold red] [link=https://evil.example]x[/link]"
EVIL = ESCAPES + BIDI + MARKUP
PRINTABLE = BIDI + MARKUP  # what a summary may hold: no control characters (docs/security.md)
EVIL_NAME = "notes\u202etxt.md"  # a bidi override in a file name that is stored
CONTROL_NAME = "evil\x1b]0;title\x07.md"  # a file name the ledger refuses: shown in the rejection
WORKER_NAME = "evil\x1b]52;c;cHduZWQ=\x07\u202e\x9b2J[bold]w[/bold]"
BIDI_NAME = (
    "evil\u202e [bold red]w[/bold red] \u2066x\u2069"  # a name a claim may have: no control characters
)

# What must never reach a terminal: ESC (every CSI, OSC, DCS, APC, PM and SOS sequence starts
# with it), BEL (ends an OSC), C0 controls but tab and newline, DEL, C1, bidi controls.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
OWN_STYLES = re.compile("\x1b\\[(?:1|22|31|32|36|39)m")  # bold, red, green, cyan and their ends

AGENT = """
import json, os, sys
from pathlib import Path

EVIL, PRINTABLE = {evil!r}, {printable!r}
task = json.loads(Path(os.environ["CONDUCTOR_TASK_FILE"]).read_text())
step, attempt = task["task_id"], task["attempt"]
out = Path(os.environ["CONDUCTOR_RESULT_DIR"])
print(EVIL, flush=True)
print(EVIL, file=sys.stderr, flush=True)
changed = ["check.py"]
failing = attempt == 1
Path("check.py").write_text(f"import sys\\nprint({{EVIL!r}})\\nprint({{EVIL!r}}, file=sys.stderr)\\n"
                            f"sys.exit({{int(failing and step == 'step_001')}})\\n")
if step == "step_002":
    name = {control!r} if failing else {name!r}
    Path(name).write_text(EVIL + "\\n")  # binary to git: it holds a NUL
    Path("escapes.txt").write_text(EVIL.replace("\\x00", "") + "\\n")  # text: its lines in the diff
    changed += ["escapes.txt"]
    changed += [] if failing else [name]  # the refused one is found in the change
(out / f"{{step}}.explanation.md").write_text(EVIL + "\\n")
result = {{"task_id": step, "attempt": attempt, "status": "completed", "files_changed": changed,
          "summary": "did it " + PRINTABLE, "agent": "agent " + PRINTABLE.replace("[", "(")[:60]}}
(out / f"{{step}}.result.json").write_text(json.dumps(result))
"""


def hostile(proj: Project) -> str:
    """The hostile agent, committed (a command runs in the fork's worktree), as --exec CMD."""
    source = AGENT.format(evil=EVIL, printable=PRINTABLE, control=CONTROL_NAME, name=EVIL_NAME)
    (proj.root / "agent.py").write_text(source, encoding="utf-8")
    git(proj.root, "add", "agent.py")
    git(proj.root, "commit", "-q", "-m", "the agent")
    return f"{PYTHON} agent.py"


STEPS = [
    {
        "title": "Write check.py",
        "instruction": "Write check.py",
        "allowed_files": ["check.py"],
        "verify": [f"{PYTHON} check.py"],  # prints EVIL; fails the first attempt
    },
    {
        "title": "Write notes " + PRINTABLE,  # a planner's (a model's) text is shown as text, too
        "instruction": "Write notes " + EVIL,
        "allowed_files": ["**"],
        "verify": [f"{PYTHON} check.py"],
    },
]


def assert_shown_as_text(result: Result, *, where: str) -> None:
    for stream, text in (("stdout", result.out), ("stderr", result.err)):
        if "--color" in where:  # Conductor's own colours are the escapes it may print
            text = OWN_STYLES.sub("", text)
        found = FORBIDDEN.search(text)
        if found is not None:
            context = text[max(0, found.start() - 80) : found.end() + 80]
            pytest.fail(f"{where}: {found.group()!r} reached {stream}: {context!r}")


def walk_strings(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for key, value in data.items() for s in (*walk_strings(key), *walk_strings(value))]
    if isinstance(data, list):
        return [s for item in data for s in walk_strings(item)]
    return []


BUILDS: dict[str, Result] = {}
"""What the build of the attacked project printed (it is built once per test process)."""


@pytest.fixture
def attacked(prebuilt, run_cli) -> tuple[Project, str, Result]:
    """A copy of a plan the hostile agent did: step_001 accepted after its verify failed,
    step_002 after its file name was refused; and what its build printed."""

    def make(proj: Project) -> None:
        BUILDS["attacked"] = run_cli("build", "--plan", proj.plan(STEPS), "--exec", hostile(proj), "--yes")
        assert BUILDS["attacked"].code == 0, BUILDS["attacked"].err

    proj = prebuilt("attacked", make)
    return proj, proj.only_plan(), BUILDS["attacked"]


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_what_an_agent_wrote_reaches_the_terminal_as_text(
    attacked: tuple[Project, str, Result], run_cli
) -> None:
    _, plan, built = attacked
    assert_shown_as_text(built, where="build")
    assert "added notes\\u202etxt.md" in built.err  # the file name, in the progress lines, shown

    for args in (
        ("explain", "step_001"),
        ("explain", "step_002"),
        ("status",),
        ("status", "--all"),
        ("events",),
        ("events", "--limit", "50", "--oldest-first"),
        ("compare", plan),
        ("diff", f"{plan}/main", "--stat"),
        ("diff", f"{plan}/main"),
        ("diff", f"{plan}/main", "--color"),
        ("diff", f"{plan}/main", "--stat", "--color"),
        ("verify", plan),
    ):
        shown = run_cli(*args)
        assert shown.code == 0, (args, shown.err)
        assert_shown_as_text(shown, where=" ".join(args))

    first = run_cli("explain", "step_001").out
    # every place the agent wrote is shown, its escapes visible: the explanation, what its
    # process printed, the verify output
    assert first.count("\\x1b]52;c;cHduZWQ=\\x07") >= 3 and "\\x9b2J" in first and "\\x08\\x7f\\x00" in first
    assert "[bold red]markup[/bold red]" in first and "access\\u202e // check if admin" in first
    second = run_cli("explain", "step_002").out
    assert "evil\\x1b]0;title\\x07.md" in second  # the refused file name, shown escaped
    colored = run_cli("diff", f"{plan}/main", "--color").out
    assert "\x1b[32m+" in colored  # Conductor's own colour still works: the only escapes
    assert "\\x1b]52;c;cHduZWQ=\\x07" in colored
    assert "\\x1b[2J" in colored  # the agent's own, shown as text


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_the_pull_request_text_is_shown_as_text(
    attacked: tuple[Project, str, Result], run_cli, tmp_path: Path
) -> None:
    """`conductor pr` to a remote that is not GitHub writes the body to a file and prints it."""
    proj, plan, _ = attacked
    git(tmp_path, "init", "-q", "--bare", str(tmp_path / "remote.git"))
    git(proj.root, "remote", "add", "origin", str(tmp_path / "remote.git"))
    pr = run_cli("pr", plan)
    assert pr.code == 0, pr.err
    assert_shown_as_text(pr, where="pr")
    body = (proj.root / ".git" / "conductor" / "pr" / f"{plan}.md").read_text(encoding="utf-8")
    assert FORBIDDEN.search(body) is None  # the Markdown, too: GitHub does not warn of bidi text there
    assert "Write notes access\\u202e // check if admin" in body


def test_json_output_is_data_the_terminal_does_not_act_on(
    attacked: tuple[Project, str, Result], run_cli
) -> None:
    _, plan, _ = attacked
    explained = run_cli("explain", "step_001", "--json")
    assert_shown_as_text(explained, where="explain --json")
    data = json.loads(explained.out)
    # the JSON decodes to exactly what the agent wrote
    assert EVIL + "\n" in [a.get("explanation") for a in data["attempts"]]
    assert any(EVIL in s for s in walk_strings(data["attempts"][1]["output"]))
    for args in (
        ("explain", "step_002", "--json"),
        ("status", "--json"),
        ("status", "--all", "--json"),
        ("compare", plan, "--json"),
        ("diff", f"{plan}/main", "--json"),
    ):
        shown = run_cli(*args)
        assert shown.code == 0, (args, shown.err)
        assert_shown_as_text(shown, where=" ".join(args))
        json.loads(shown.out)
    diffed = json.loads(run_cli("diff", f"{plan}/main", "--json").out)
    assert EVIL_NAME in [f["path"] for f in diffed["files"]]
    events = run_cli("events", "--json")
    assert_shown_as_text(events, where="events --json")
    summaries = [json.loads(line)["summary"] for line in events.out.splitlines()]
    assert "accepted: Write notes " + PRINTABLE in summaries


def test_an_error_quoting_an_agents_text_is_shown_as_text(
    attacked: tuple[Project, str, Result], run_cli
) -> None:
    _, plan, _ = attacked
    missing = run_cli("diff", f"{plan}/x\x1b]52;c;aGk=\x07\u202e")  # the error names the fork
    assert missing.code == 1
    assert_shown_as_text(missing, where="diff PLAN/FORK (an error)")
    assert "x\\x1b]52;c;aGk=\\x07\\u202e" in missing.err
    usage = run_cli("events", "--type", "\x1b[2Jnope")
    assert usage.code == 2
    assert_shown_as_text(usage, where="a usage error")


def hostile_claim(queue: Queue, attempt: int, claim: dict[str, object]) -> None:
    """Claim attempt `attempt` of the only step as a hostile worker would: its own worker.json."""
    wanted = f"/step_001/{attempt}/task"
    wait_until(lambda: any(r.endswith(wanted) for r in queue.listing()), timeout=60, what=f"task {attempt}")
    ((task_ref, task),) = ((r, c) for r, c in queue.listing().items() if r.endswith(wanted))
    queue.fetch(task_ref)
    commit = queue.commit({"worker.json": json.dumps(claim).encode()}, parent=task, message="claimed\n")
    assert queue.create(task_ref.removesuffix("task") + "claim", commit, requires={task_ref: task})


@pytest.mark.slow  # a coordinator in a process of its own, waiting for a worker
def test_a_workers_name_is_shown_as_text(proj: Project, tmp_path: Path) -> None:
    """`conductor worker` refuses such a name; a hostile worker pushes its claims itself: one
    with escape sequences in its name, one with a bidi override and markup."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(proj.root, "remote", "add", "origin", str(remote))
    git(proj.root, "push", "-q", "origin", "HEAD")
    clone = tmp_path / "worker"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    step = {
        "title": "Write a.txt",
        "instruction": "Write a.txt",
        "allowed_files": ["a.txt"],
        "timeout_seconds": 4,
    }
    plan = proj.plan([step], policy={"behavior": {"max_attempts": 2}})
    coordinator = subprocess.Popen(
        [conductor_bin(), "build", "--plan", plan, "--remote", "origin", "--yes"],
        cwd=proj.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        queue = Queue(clone, "origin")
        hostile_claim(queue, 1, {"name": WORKER_NAME, "host": WORKER_NAME, "claimed_at": time.time()})
        hostile_claim(queue, 2, {"name": BIDI_NAME, "host": "h\u202e", "claimed_at": time.time()})
        out, err = coordinator.communicate(timeout=90)
    finally:
        coordinator.kill()
    assert coordinator.returncode == 1, err  # nobody did the step: failed, never a crash
    assert_shown_as_text(Result(coordinator.returncode, out, err), where="build --remote")
    assert "claimed by worker evil\\u202e [bold red]w[/bold red] \\u2066x\\u2069" in err  # shown as text
    worker = [conductor_bin(), "worker", "--remote", "origin", "--exec", "true", "--once"]
    honest = run_process(*worker, "--name", WORKER_NAME, cwd=clone)
    assert honest.code == 1 and "name" in honest.err  # refused, and the refusal shown as text
    assert_shown_as_text(honest, where="conductor worker --name")

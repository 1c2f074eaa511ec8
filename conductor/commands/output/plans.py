"""Plans, forks, steps and points as the commands show them: their JSON (contract.py) and their
text — and the report of a plan after a run (build, fork, resume, revise, approve, reject)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from conductor.report import Report
from conductor.runner.logs.approval import decide_options

if TYPE_CHECKING:
    from conductor.commands.output import contract as c
    from conductor.runner.plan.launch import PlanRun
    from conductor.runner.views.point import Point
    from conductor.runner.views.status import ForkView, PlanView, StepView


def step_json(step: StepView) -> c.Step:
    confidence = cast("c.Confidence | None", step.confidence)
    return {
        "step": step.step,
        "state": cast("c.StepState", step.state),
        "attempt": step.attempt,
        "confidence": confidence,
    }


def fork_json(fork: ForkView) -> c.Fork:
    return {
        "fork": fork.fork,
        "state": cast("c.ForkState", fork.state),
        "branch": fork.branch,
        "last_event": fork.last_event,
        "updated_at": fork.updated_at,
        "steps": [step_json(step) for step in fork.steps],
    }


def plan_json(plan: PlanView) -> c.Plan:
    out: c.Plan = {
        "plan": plan.plan,
        "goal": plan.goal,
        "state": cast("c.PlanState", plan.state),
        "created_at": plan.created_at,
        "origin": plan.origin,
        "hint": plan.hint,
        "archived": plan.archived,
        "forks": [fork_json(fork) for fork in plan.forks],
    }
    if plan.error is not None:
        out["error"] = plan.error
    return out


def step_text(step: StepView) -> str:
    """`completed`, `completed (attempt 2)`, `awaiting approval`, `repair scheduled (attempt 3)`."""
    name = step.state.replace("_", " ")
    if step.attempt is not None and (step.attempt > 1 or step.state == "repair_scheduled"):
        return f"{name} (attempt {step.attempt})"
    return name


def point_json(point: Point) -> c.Point:
    return {
        "point": point.label,
        "plan": point.plan,
        "fork": point.fork,
        "step": point.step,
        "commit": point.commit,
        "record": point.record,
    }


def when(time: str) -> str:
    """A recorded time as the text shows it: `2026-12-01 10:31:07` (UTC, as recorded)."""
    return f"{time[:10]} {time[11:19]}".strip()


def decide(plan: str, fork: str, step: str, *, several: bool) -> str:
    """The line that says how to decide a step waiting for approval (naming the fork when the
    plan has `several`: --plan alone is refused there)."""
    where = decide_options(plan, fork, several=several)
    return f"Decide: conductor approve {step} {where}  (or: conductor reject {step} {where})"


def run_json(run: PlanRun) -> c.PlanRun:
    return {
        "plan": run.plan,
        "state": cast("c.PlanState", run.state),
        "base": run.base,
        "forks": [fork_json(fork) for fork in run.forks],
    }


def run_text(run: PlanRun) -> str:
    lines = [f"plan {run.plan}: {run.state}"]
    for fork in run.forks:
        lines.append(f"  fork {fork.fork} [{fork.state}] branch {fork.branch}")
        lines.extend(f"    {step.step}: {step_text(step)}" for step in fork.steps)
    several = len(run.forks) > 1
    if run.state == "completed" and several and run.review is None:
        lines.append(
            f"Compare the forks: conductor compare {run.plan}  (then: conductor adopt {run.plan}/FORK)"
        )
    elif run.state == "completed":
        chosen = [f for f in run.forks if f.fork == run.review] or run.forks
        branch = chosen[0].branch if chosen else ""
        lines.append(f"Review: git log --stat {run.base[:12]}..{branch}")
        lines.append(f"        (or push {branch} and open a pull request)")
    elif run.state == "halted":
        waiting = [
            (fork.fork, step.step)
            for fork in run.forks
            for step in fork.steps
            if step.state == "awaiting_approval"
        ]
        lines.extend(decide(run.plan, fork_id, step_id, several=several) for fork_id, step_id in waiting)
        if not waiting:
            lines.append(f"Continue with: conductor resume {run.plan}")
    pick = " --fork <fork>" if several else ""
    lines.append(
        f"Details: conductor explain <step> --plan {run.plan}{pick}; conductor events --plan {run.plan}"
    )
    return "\n".join(lines)


@dataclass
class RunReport(Report):
    """A plan after a run: its state and each fork's, with the steps."""

    run: PlanRun

    @property
    def exit_code(self) -> int:
        return 0 if self.run.state == "completed" else 1

    def to_json(self) -> c.PlanRun:
        return run_json(self.run)

    def render(self) -> str:
        return run_text(self.run)

"""A task as a prompt: what an agent (a model, a CLI agent's profile) is told of one step — the
instruction, the plan's goal and strategy, the files it may change, the constraints, the verify
commands, the steps before it, lessons, and why the previous attempt was rejected."""

from __future__ import annotations

from conductor.models.task import TaskFile


def brief(task: TaskFile) -> str:
    context = task.context
    lines = [
        f"Task {task.task_id} (attempt {task.attempt}): {task.instruction}",
        f"Goal of the whole plan: {context.goal}" if context.goal else "",
        f"Strategy: {context.strategy}" if context.strategy else "",
        f"You may change only: {', '.join(task.allowed_files)}",
        "Constraints:\n" + "\n".join(f"- {c}" for c in task.constraints) if task.constraints else "",
        "These commands will verify your change:\n" + "\n".join(f"- {c}" for c in task.verify)
        if task.verify
        else "",
    ]
    if context.previous_steps:
        before = (
            f"({context.earlier_steps} earlier steps are done and not listed)\n"
            if context.earlier_steps
            else ""
        )
        lines.append(
            "Steps already done:\n"
            + before
            + "\n".join(f"- {p.task_id} {p.title}: {p.status}. {p.summary}" for p in context.previous_steps)
        )
    if context.lessons:
        lines.append(
            "Lessons from earlier runs in this repository:\n" + "\n".join(f"- {x}" for x in context.lessons)
        )
    if context.repair is not None:
        repair = context.repair
        lines.append(
            f"Your previous attempt ({repair.attempt}) was rejected — {repair.failure}: {repair.reason}\n"
            f"Recovery: {repair.hint}\nRejected change: {repair.rejected_diff or 'none'}"
            + ("\nEvidence:\n" + "\n".join(repair.evidence) if repair.evidence else "")
        )
    return "\n\n".join(line for line in lines if line)

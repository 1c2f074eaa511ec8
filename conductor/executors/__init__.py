"""Executors: whatever turns a task file into a change and a result file.

All of them speak only the file contract (docs/protocol.md): the task is in the mailbox, the
change is made in the workspace, the result and explanation files come back in the mailbox.
Conductor verifies what they did; it never trusts what they say.
"""

"""The sandbox: what a process Conductor starts for a step — an executor's command, a verify
command, a worker's command — may see and change (docs/security.md).

    confinement.py  the rules for one step, and how a process is launched under them
    bwrap.py        bubblewrap: the worktree and a private temp dir writable, the rest of the
                    system read-only, the user's checkout and .git hidden, a PID namespace
    overlay.py      a layered worktree's layers, mounted for one process before bubblewrap starts
    gitview.py      a private git directory, so the agent's own git keeps working
    reaper.py       without bubblewrap: a subreaper that kills what a command leaves running
    fingerprint.py  without bubblewrap (and for agents outside Conductor): what the step must
                    not change, checked and restored afterwards
"""

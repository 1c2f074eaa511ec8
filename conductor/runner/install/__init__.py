"""Setting Conductor up in a repository: `init`, the git hooks, and the agent profiles a
project can use. Imports no other room."""

"""Publishing a finished fork: adopt (fast-forward, merge or squash into a branch) and pull
requests (the steps, the description, the GitHub client). Above fork/, views/, place/, logs/."""

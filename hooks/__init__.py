"""Native git hook scripts, shipped inside the package as conductor._hooks."""

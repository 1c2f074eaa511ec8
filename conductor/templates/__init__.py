"""Files Conductor writes into projects: the default policy and .conductor/.gitignore."""

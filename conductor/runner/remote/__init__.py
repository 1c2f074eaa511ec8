"""The worker: the other end of the remote executor, doing queued steps for plans run on
other machines. Above place/."""

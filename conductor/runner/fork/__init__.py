"""One fork's run: the `Fork` (context.py) and the `ForkRunner` loop, and the phases of a step in
the order it meets them — reconcile, hand out, inspect, judge, accept (attest) or fail — with
the pure modules that shape what they record, and the change of executor. Above place/ and logs/."""

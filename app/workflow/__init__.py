"""Everything that touches SpiffWorkflow: definitions, running, persistence, lanes, timers.

Nothing outside this package imports SpiffWorkflow.
"""

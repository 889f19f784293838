"""Per-camera analytics pipelines and their supervisor.

Motion gate, detector, tracker, rules and ANPR run in worker processes that
speak only bus contracts.
"""

"""Per-camera analytics pipelines (motion gate, detector, tracker, rules, ANPR) and their supervisor."""

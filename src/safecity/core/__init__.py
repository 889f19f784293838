"""Settings, logging, clock and ids, base errors and secrets; imports nothing else of safecity."""

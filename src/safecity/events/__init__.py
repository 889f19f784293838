"""Events: plate reads and rule events stored and searched, hotlists matched, alerts raised."""

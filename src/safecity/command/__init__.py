"""Command and control: the alert queue, incidents, dispatch of field units, KPIs."""

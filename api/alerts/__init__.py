"""Alerts: one alert per vehicle (plate, list, entry) within the list's grouping window."""

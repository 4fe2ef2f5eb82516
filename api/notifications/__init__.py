"""Outbound notifications on the API: webhook target administration and the delivery log."""

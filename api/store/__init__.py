"""Where the API keeps hits, acknowledgements, the audit log and camera activity."""

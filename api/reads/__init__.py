"""Investigative search of the read archive (routes and models; the archive is `api.archive`)."""

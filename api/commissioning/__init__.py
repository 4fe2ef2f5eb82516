"""Commissioning: a camera's evidence judged against the connection standard's criteria."""

"""The control-room console: sessions for browsers, and the static page served at `/console/`."""

"""Reports over stored hits (`GET /v1/reports/hits`)."""

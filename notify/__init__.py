"""`anpr notify`: outbound webhook delivery of hits, from the hits topic with its own group."""

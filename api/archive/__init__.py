"""The read archive: every read of the reads topic kept in the store for investigative search.

It lives inside `api/` because it shares the API's database, migrations and settings; it never
imports `ingest/` or `matcher/`. `anpr archive` runs only the archive consumer; `anpr run` and
`anpr api` with the embedded bus compose it next to the API.
"""

"""The load simulator behind `anpr simulate`: a fleet of cameras (`fleet`) reading plates of five
countries (`plates`) with OCR noise (`noise`), the traffic they see (`traffic`), demo hotlists
(`hotlists`) and set-up through the API (`provision`), an open-model schedule (`schedule`) sent
by `sender` (httpx or the minimal `rawhttp` client), the hit stream followed over SSE (`sse`) and
the hits owed counted (`feed`, `tally`), a summary at the end (`summary`). `simulate` runs it.

Shipped with the service (the image has it), so `anpr simulate` works wherever `anpr` does.
It talks to the gateway and the API over HTTP only: it imports the kernel (`anpr`), never a
service. The benchmark harness (`benchmarks/`, not shipped) drives it.
"""

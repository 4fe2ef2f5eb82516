"""The hotlist matcher: a pure matching core and, around it, the Kafka loop.

The core (no I/O): `index` (`HotlistIndex`: lists, generations, changes), `lookup` (matching one
read), `table` (the plate table keyed by OCR skeleton), `ocr` (skeletons and variant codes),
`fuzzy` (edit distance one), `patterns` (Aho-Corasick over pattern anchors), `rules`
(country/zones/validity), `matches` (`Match`), `hits` (`build_hit`), `testing` (factories).
"""

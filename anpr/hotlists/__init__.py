"""Hotlists: the model, upload parsing, the wire form on `anpr.hotlists.v1`, the fold of that
compacted topic (`HotlistBook`) and the planner of writes. Pure: no I/O.

One package rather than one module so each part stays small; import from `anpr.hotlists`.
"""

from anpr.hotlists.book import (
    EntriesChanged,
    HotlistBook,
    ListChange,
    ListConfigChanged,
    ListRemoved,
    ListReplaced,
    Retain,
)
from anpr.hotlists.model import (
    MIN_PATTERN_LITERALS,
    PRIORITY_MAX,
    PRIORITY_MIN,
    Entry,
    EntrySpec,
    ListConfig,
    MatchMode,
)
from anpr.hotlists.parse import (
    LineError,
    collect,
    iter_entries_ndjson,
    parse_entries_ndjson,
    parse_entry_list,
    parse_entry_obj,
)
from anpr.hotlists.parse_csv import CSV_COLUMNS, iter_entries_csv, parse_entries_csv
from anpr.hotlists.plan import (
    Plan,
    Record,
    next_version,
    plan_delete_entry,
    plan_delete_list,
    plan_put_config,
    plan_replace_entries,
    plan_upsert_entries,
    stream_replace_entries,
)
from anpr.hotlists.wire import (
    EntryDecoder,
    config_fields,
    decode_entry,
    decode_list_config,
    encode_entry,
    encode_list_config,
    entry_fields,
    entry_key,
    list_key,
    split_key,
)

__all__ = [
    "CSV_COLUMNS",
    "MIN_PATTERN_LITERALS",
    "PRIORITY_MAX",
    "PRIORITY_MIN",
    "EntriesChanged",
    "Entry",
    "EntryDecoder",
    "EntrySpec",
    "HotlistBook",
    "LineError",
    "ListChange",
    "ListConfig",
    "ListConfigChanged",
    "ListRemoved",
    "ListReplaced",
    "MatchMode",
    "Plan",
    "Record",
    "Retain",
    "collect",
    "config_fields",
    "decode_entry",
    "decode_list_config",
    "encode_entry",
    "encode_list_config",
    "entry_fields",
    "entry_key",
    "iter_entries_csv",
    "iter_entries_ndjson",
    "list_key",
    "next_version",
    "parse_entries_csv",
    "parse_entries_ndjson",
    "parse_entry_list",
    "parse_entry_obj",
    "plan_delete_entry",
    "plan_delete_list",
    "plan_put_config",
    "plan_replace_entries",
    "plan_upsert_entries",
    "split_key",
    "stream_replace_entries",
]

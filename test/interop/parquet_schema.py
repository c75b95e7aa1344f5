"""Prints a Parquet file's schema as pyarrow reads it, as JSON: for every column (nested ones as
dotted paths, list elements as `.element`, map keys and values as `.key` / `.value`), whether it is
required, its Iceberg field id (None when absent) and its Arrow type.

  parquet_schema.py <file.parquet>
"""
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def columns(field, prefix=""):
    name = f"{prefix}{field.name}"
    meta = field.metadata or {}
    field_id = meta.get(b"PARQUET:field_id")
    yield {"path": name, "required": not field.nullable, "field_id": int(field_id) if field_id is not None else None, "type": str(field.type)}
    t = field.type
    if pa.types.is_struct(t):
        for i in range(t.num_fields):
            yield from columns(t.field(i), f"{name}.")
    elif pa.types.is_map(t):
        yield from columns(t.key_field, f"{name}.")
        yield from columns(t.item_field, f"{name}.")
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        yield from columns(t.value_field, f"{name}.")


schema = pq.ParquetFile(sys.argv[1]).schema_arrow
print(json.dumps([c for f in schema for c in columns(f)]))

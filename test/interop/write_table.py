"""Changes a Tributary lake table with pyiceberg, as another engine committing to it would.

  write_table.py <lake root dir> <namespace.table> <operation> '<json arguments>'

pyiceberg has no catalog for the file-system convention Tributary's lake uses (what Spark and Trino
call a Hadoop catalog: metadata/v<N>.metadata.json plus metadata/version-hint.text), so HadoopCatalog
below is that convention on top of pyiceberg's own commit machinery (MetastoreCatalog: requirements
checked, updates applied by pyiceberg, its snapshot ids, manifests and manifest lists); only the
naming and the exclusive create of the next version are ours.

Operations (pyiceberg 0.12's public API unless said otherwise):
  append     {"rows": [...], "merge": false}  table.append (merge: manifest merging on, so pyiceberg
                                               rewrites the existing manifests into its own)
  delete     {"filter": "id == 3"}             table.delete: copy-on-write (0.12 writes no delete files)
  overwrite  {"filter": "...", "rows": [...]}  table.overwrite: delete by filter, then append
  rewrite    {}                                 rewrite_data_files-style: every live row rewritten into
                                               new files, the old ones (and their deletes) dropped, in
                                               one snapshot. pyiceberg 0.12 has no rewrite_data_files
                                               and cannot summarize a `replace` snapshot, so this is
                                               its overwrite producer with the same rows
  expire     {"older_than_ms": N} | {"ids": [...]}   table.maintenance.expire_snapshots()
  tag        {"name": "t", "snapshot_id": N}   table.manage_snapshots().create_tag
  add_column {"name": "c"}                     table.update_schema().add_column: an optional string

Rows are JSON objects; timestamp fields are ISO 8601 strings. Prints
{"metadata": <new metadata file>, "snapshots": [ids the operation added]} with ids as JSON integers.
"""
import datetime
import json
import os
import re
import sys

from pyiceberg.catalog import MetastoreCatalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError
from pyiceberg.serializers import FromInputFile
from pyiceberg.table import CommitTableResponse, Table
from pyiceberg.types import StringType, TimestampType, TimestamptzType

VERSION = re.compile(r"^v(\d+)\.metadata\.json$")


class HadoopCatalog(MetastoreCatalog):
    """Tables at <warehouse>/<namespace>/<name>, versions as v<N>.metadata.json (file:// only)."""

    def __init__(self, warehouse: str):
        super().__init__("hadoop", warehouse=warehouse)
        self.warehouse = warehouse

    def _dir(self, identifier):
        namespace, name = self.identifier_to_tuple(identifier)
        return os.path.join(self.warehouse, namespace, name)

    def _latest(self, table_dir):
        meta = os.path.join(table_dir, "metadata")
        versions = [int(m.group(1)) for f in os.listdir(meta) if (m := VERSION.match(f))] if os.path.isdir(meta) else []
        if not versions:
            return None
        v = max(versions)
        while os.path.exists(os.path.join(meta, f"v{v + 1}.metadata.json")):
            v += 1
        return v

    def load_table(self, identifier):
        table_dir = self._dir(identifier)
        version = self._latest(table_dir)
        if version is None:
            raise NoSuchTableError(str(identifier))
        location = os.path.join(table_dir, "metadata", f"v{version}.metadata.json")
        io = self._load_file_io(location=location)
        return Table(self.identifier_to_tuple(identifier), FromInputFile.table_metadata(io.new_input(location)), location, io, self)

    def commit_table(self, table, requirements, updates):
        current = self.load_table(table.name())
        staged = self._update_and_stage_table(current, table.name(), requirements, updates)
        version = int(VERSION.match(os.path.basename(current.metadata_location)).group(1)) + 1
        path = os.path.join(os.path.dirname(current.metadata_location), f"v{version}.metadata.json")
        text = staged.metadata.model_dump_json(exclude_none=True).encode()
        try:
            # The next version exists only if this create made it: never overwrite another writer's.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError as e:
            raise CommitFailedException(f"{path} exists: another writer committed first") from e
        with os.fdopen(fd, "wb") as f:
            f.write(text)
        with open(os.path.join(os.path.dirname(path), "version-hint.text"), "w") as f:
            f.write(str(version))
        return CommitTableResponse(metadata=staged.metadata, metadata_location=path)

    def _unsupported(self, *args, **kwargs):
        raise NotImplementedError("the test catalog only loads and commits existing tables")

    create_table = register_table = drop_table = rename_table = _unsupported
    create_namespace = drop_namespace = list_tables = list_namespaces = _unsupported
    load_namespace_properties = update_namespace_properties = _unsupported
    list_views = drop_view = view_exists = load_view = create_view = register_view = _unsupported


def arrow_rows(table, rows):
    """JSON rows as an Arrow table of the table's schema (timestamps from ISO strings)."""
    schema = table.schema()
    converted = []
    for r in rows:
        out = dict(r)
        for f in schema.fields:
            if isinstance(f.field_type, (TimestampType, TimestamptzType)) and isinstance(out.get(f.name), str):
                out[f.name] = datetime.datetime.fromisoformat(out[f.name].replace("Z", "+00:00"))
        converted.append(out)
    import pyarrow as pa

    return pa.Table.from_pylist(converted, schema=schema.as_arrow())


def rewrite(table):
    """Every live row into new data files, committed as one snapshot of main that drops the old ones."""
    import itertools

    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    tasks = list(table.scan().plan_files())
    df = table.scan().to_arrow()
    with table.transaction() as tx:
        with tx.update_snapshot().overwrite() as producer:
            for task in tasks:
                producer.delete_data_file(task.file)
            for f in _dataframe_to_data_files(io=table.io, df=df, table_metadata=tx.table_metadata, write_uuid=producer.commit_uuid, counter=itertools.count(0)):
                producer.append_data_file(f)


def main():
    root, name, op = sys.argv[1], sys.argv[2], sys.argv[3]
    args = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    catalog = HadoopCatalog(root)
    table = catalog.load_table(name)
    before = {s.snapshot_id for s in table.metadata.snapshots}
    if op == "append":
        if args.get("merge"):
            with table.transaction() as tx:
                tx.set_properties({"commit.manifest-merge.enabled": "true", "commit.manifest.min-count-to-merge": "2"})
            table = catalog.load_table(name)
        table.append(arrow_rows(table, args["rows"]))
    elif op == "delete":
        table.delete(args["filter"])
    elif op == "overwrite":
        table.overwrite(arrow_rows(table, args["rows"]), overwrite_filter=args["filter"])
    elif op == "rewrite":
        rewrite(table)
    elif op == "expire":
        expire = table.maintenance.expire_snapshots()
        if "ids" in args:
            expire = expire.by_ids([int(i) for i in args["ids"]])
        else:
            expire = expire.older_than(datetime.datetime.fromtimestamp(args["older_than_ms"] / 1000, tz=datetime.timezone.utc))
        expire.commit()
    elif op == "tag":
        table.manage_snapshots().create_tag(int(args["snapshot_id"]), args["name"]).commit()
    elif op == "add_column":
        with table.update_schema() as update:
            update.add_column(args["name"], StringType())
    else:
        sys.exit(f"unknown operation {op}")
    table = catalog.load_table(name)
    added = [s.snapshot_id for s in table.metadata.snapshots if s.snapshot_id not in before]
    print(json.dumps({"metadata": table.metadata_location, "snapshots": added}))


if __name__ == "__main__":
    main()

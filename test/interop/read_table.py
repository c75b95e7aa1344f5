"""Reads a Tributary lake table with real third-party readers and prints JSON on stdout.

  read_table.py pyiceberg <metadata.json | table dir> [--snapshot-id N | --ref NAME]
      rows of the snapshot via pyiceberg StaticTable.from_metadata(...).scan(...).to_arrow()
  read_table.py pyiceberg-raw <metadata.json | table dir> [--snapshot-id N | --ref NAME]
      the same rows in Iceberg's physical terms, exact and independent of Python's datetime range:
      int and long, dates (days), times and timestamps (microseconds) as decimal text, decimals
      as text with their scale, floats as repr ('nan', 'inf', '-0.0'), bytes as hex
  read_table.py pyiceberg-files <metadata.json> [--snapshot-id N]
      pyiceberg's scan plan: data files with the delete files it applies to each
  read_table.py duckdb-iceberg <metadata.json | table dir> [--snapshot-id N]
      rows via DuckDB's own iceberg extension: iceberg_scan(...) (loaded from the
      duckdb-extension-iceberg wheel, since DuckDB cannot download extensions here)
  read_table.py pyiceberg-snapshots <metadata.json>
      {"<snapshot id>": rows} for every snapshot the metadata lists (one process for all of them)
  read_table.py duckdb-iceberg-snapshots <metadata.json>
      {"<snapshot id>": rows} via iceberg_scan for every snapshot the metadata lists
  read_table.py duckdb <plan.json>
      rows via DuckDB (python): the plan lists data files, delete files and the columns by field
      id; deletes are applied by (file, position) like the runtime's SQL view
  read_table.py duckdb-plans <plans.json>
      {"<key>": rows} for a JSON object of such plans
  read_table.py parquet-schema <file.parquet>
      the Parquet schema (names, field ids, types) as DuckDB sees it

Tables on s3:// are read through pyiceberg's S3 FileIO, configured from the environment:
TRIBUTARY_S3_ENDPOINT (an S3-compatible server; path-style addressing unless
TRIBUTARY_S3_FORCE_PATH_STYLE=false), TRIBUTARY_S3_REGION or AWS_REGION (default us-east-1),
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.

Rows are printed as a JSON array of objects; values are made JSON-safe (dates and timestamps as
ISO strings, decimals as strings, bytes as hex).
"""
import datetime
import decimal
import json
import sys


def jsonable(v):
    # The runtime's canonical forms: timestamps with 6 fraction digits ('Z' when zoned), times too.
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            return v.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return v.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, datetime.time):
        return v.strftime("%H:%M:%S.%f")
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v


def raw_rows(table):
    """Arrow columns as exact text: temporal columns through their integer storage (BC dates and
    years after 9999 included), so nothing goes through Python's datetime or float formatting."""
    import pyarrow as pa

    def raw(v):
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, decimal.Decimal):
            return format(v, "f")
        if isinstance(v, (bytes, bytearray)):
            return bytes(v).hex()
        if isinstance(v, list):
            return [raw(x) for x in v]
        return v

    columns = {}
    for name in table.column_names:
        col = table.column(name)
        t = col.type
        if pa.types.is_date32(t):
            col = col.cast(pa.int32())
        elif pa.types.is_time(t) or pa.types.is_timestamp(t):
            col = col.cast(pa.int64())
        columns[name] = [raw(v) for v in col.to_pylist()]
    return [{n: columns[n][i] for n in table.column_names} for i in range(table.num_rows)]


def args_after(argv):
    out = {}
    i = 0
    while i < len(argv):
        if argv[i] in ("--snapshot-id", "--ref"):
            out[argv[i][2:]] = argv[i + 1]
            i += 2
        else:
            i += 1
    return out


def fileio_properties():
    import os

    env = os.environ
    props = {"s3.region": env.get("TRIBUTARY_S3_REGION") or env.get("AWS_REGION") or "us-east-1"}
    if env.get("TRIBUTARY_S3_ENDPOINT"):
        props["s3.endpoint"] = env["TRIBUTARY_S3_ENDPOINT"]
        if env.get("TRIBUTARY_S3_FORCE_PATH_STYLE", "true").lower() != "false":
            props["s3.force-virtual-addressing"] = "false"
    for var, prop in (("AWS_ACCESS_KEY_ID", "s3.access-key-id"), ("AWS_SECRET_ACCESS_KEY", "s3.secret-access-key"), ("AWS_SESSION_TOKEN", "s3.session-token")):
        if env.get(var):
            props[prop] = env[var]
    return props


def pyiceberg_scan(location, opts):
    from pyiceberg.table import StaticTable

    table = StaticTable.from_metadata(location, properties=fileio_properties())
    scan = table.scan()
    if "snapshot-id" in opts:
        scan = table.scan(snapshot_id=int(opts["snapshot-id"]))
    elif "ref" in opts:
        scan = table.scan().use_ref(opts["ref"])
    return scan


def duckdb_with_iceberg():
    import glob
    import os

    import duckdb
    import duckdb_extension_avro
    import duckdb_extension_httpfs
    import duckdb_extension_iceberg

    con = duckdb.connect()
    # httpfs: what ATTACH … (TYPE iceberg, ENDPOINT …) speaks to a REST catalog with.
    for module in (duckdb_extension_httpfs, duckdb_extension_avro, duckdb_extension_iceberg):
        path = glob.glob(os.path.join(os.path.dirname(module.__file__), "extensions", "*", "*.duckdb_extension"))[0]
        con.execute(f"LOAD '{path}'")
    return con


def duckdb_plan(plan):
    import duckdb

    names = [c["name"] for c in plan["columns"]]
    if not plan["data"]:
        return []
    con = duckdb.connect()
    schema = "MAP {" + ", ".join(f"{c['id']}: {{name: '{c['name']}', type: '{c['type']}', default_value: NULL}}" for c in plan["columns"]) + "}"
    cols = ", ".join(f'd."{c["name"]}"' for c in plan["columns"])
    files = "[" + ", ".join(f"'{p}'" for p in plan["data"]) + "]"
    sql = f"SELECT {cols} FROM read_parquet({files}, filename=true, file_row_number=true, schema={schema}) d"
    if plan["deletes"]:
        dels = "[" + ", ".join(f"'{p}'" for p in plan["deletes"]) + "]"
        sql += f" ANTI JOIN (SELECT regexp_replace(file_path, '^file://', '') AS file_path, pos FROM read_parquet({dels})) x ON x.file_path = d.filename AND x.pos = d.file_row_number"
    return [jsonable(dict(zip(names, r))) for r in con.execute(sql).fetchall()]


def main():
    mode, target = sys.argv[1], sys.argv[2]
    opts = args_after(sys.argv[3:])
    if mode == "pyiceberg":
        rows = pyiceberg_scan(target, opts).to_arrow().to_pylist(maps_as_pydicts="strict")
        print(json.dumps([jsonable(r) for r in rows]))
    elif mode == "pyiceberg-raw":
        print(json.dumps(raw_rows(pyiceberg_scan(target, opts).to_arrow())))
    elif mode == "pyiceberg-files":
        tasks = pyiceberg_scan(target, opts).plan_files()
        print(json.dumps([{"file": t.file.file_path, "records": t.file.record_count, "deletes": sorted(d.file_path for d in t.delete_files)} for t in tasks]))
    elif mode == "duckdb-iceberg":
        con = duckdb_with_iceberg()
        params = f", snapshot_from_id={int(opts['snapshot-id'])}" if "snapshot-id" in opts else ""
        cur = con.execute(f"SELECT * FROM iceberg_scan('{target}'{params})")
        names = [d[0] for d in cur.description]
        print(json.dumps([jsonable(dict(zip(names, r))) for r in cur.fetchall()]))
    elif mode == "pyiceberg-snapshots":
        from pyiceberg.table import StaticTable

        table = StaticTable.from_metadata(target, properties=fileio_properties())
        out = {}
        for snapshot in table.metadata.snapshots:
            rows = table.scan(snapshot_id=snapshot.snapshot_id).to_arrow().to_pylist(maps_as_pydicts="strict")
            out[str(snapshot.snapshot_id)] = [jsonable(r) for r in rows]
        print(json.dumps(out))
    elif mode == "duckdb-iceberg-snapshots":
        with open(target) as f:
            ids = [s["snapshot-id"] for s in json.load(f).get("snapshots", [])]
        con = duckdb_with_iceberg()
        out = {}
        for sid in ids:
            cur = con.execute(f"SELECT * FROM iceberg_scan('{target}', snapshot_from_id={int(sid)})")
            names = [d[0] for d in cur.description]
            out[str(sid)] = [jsonable(dict(zip(names, r))) for r in cur.fetchall()]
        print(json.dumps(out))
    elif mode == "duckdb":
        with open(target) as f:
            print(json.dumps(duckdb_plan(json.load(f))))
    elif mode == "duckdb-plans":
        with open(target) as f:
            plans = json.load(f)
        print(json.dumps({key: duckdb_plan(plan) for key, plan in plans.items()}))
    elif mode == "parquet-schema":
        import duckdb

        rows = duckdb.connect().execute(f"SELECT name, field_id, type, logical_type, repetition_type FROM parquet_schema('{target}')").fetchall()
        print(json.dumps([dict(zip(["name", "field_id", "type", "logical_type", "repetition"], r)) for r in rows]))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()

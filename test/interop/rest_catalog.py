"""Reads a Tributary lake through the Iceberg REST catalog it serves, with real clients, and prints
JSON on stdout.

  rest_catalog.py pyiceberg <catalog uri> <plan.json>
      pyiceberg's RestCatalog: list namespaces and tables, load each table of the plan and scan it
  rest_catalog.py duckdb <catalog uri> <plan.json>
      DuckDB's iceberg extension: ATTACH '' AS lake (TYPE iceberg, ENDPOINT <uri>, ...), SHOW ALL
      TABLES, and SELECT * FROM lake."<namespace>"."<table>" [AT (VERSION => <snapshot id>)]

plan.json: {"token": "<bearer token>" | null, "nested": true | absent,
            "reads": [{"namespace": "..." | ["level", ...], "table": "...", "snapshot_id": N | null, "ref": "..." | null}]}
A namespace of several levels is read as pyiceberg's tuple of them and as DuckDB's schema of them
joined by dots (lake."user-profiles.v2"."profiles"). "nested" lists the namespaces below the top
level too (pyiceberg: list_namespaces(parent); DuckDB lists them itself).
DuckDB has no syntax for a branch or tag: a read of a ref is an error there (read at the ref's
snapshot id instead, which pyiceberg's "refs" output gives).

Output: {"tables": [[namespace, table], ...], "refs": {"<ns>.<table>": {"<ref>": snapshot id}} (pyiceberg),
         "reads": [rows | {"error": "..."}, ...]}
Rows are JSON objects, values made JSON-safe as read_table.py does.
"""
import json
import sys

from read_table import duckdb_with_iceberg, jsonable


def levels(namespace):
    return tuple(namespace) if isinstance(namespace, list) else (namespace,)


def with_pyiceberg(uri, plan):
    from pyiceberg.catalog.rest import RestCatalog

    # Without a token pyiceberg would send "Authorization: Bearer None", which the catalog refuses.
    auth = {"token": plan["token"]} if plan.get("token") else {"auth": {"type": "noop"}}
    catalog = RestCatalog("tributary", uri=uri, **auth)
    namespaces = catalog.list_namespaces()
    if plan.get("nested"):
        namespaces = namespaces + [child for ns in namespaces for child in catalog.list_namespaces(ns)]
    tables = [list(t) for ns in namespaces for t in catalog.list_tables(ns)]
    refs, reads = {}, []
    for read in plan["reads"]:
        try:
            table = catalog.load_table((*levels(read["namespace"]), read["table"]))
            refs[f'{read["namespace"]}.{read["table"]}'] = {name: ref.snapshot_id for name, ref in table.metadata.refs.items()}
            if read.get("snapshot_id") is not None:
                scan = table.scan(snapshot_id=int(read["snapshot_id"]))
            elif read.get("ref"):
                scan = table.scan().use_ref(read["ref"])
            else:
                scan = table.scan()
            reads.append([jsonable(r) for r in scan.to_arrow().to_pylist(maps_as_pydicts="strict")])
        except Exception as e:  # the test compares the error too
            reads.append({"error": f"{type(e).__name__}: {e}"})
    return {"tables": tables, "refs": refs, "reads": reads}


def with_duckdb(uri, plan):
    con = duckdb_with_iceberg()
    if plan.get("token"):
        con.execute("CREATE SECRET catalog_token (TYPE iceberg, TOKEN ?)", [plan["token"]])
        con.execute(f"ATTACH '' AS lake (TYPE iceberg, ENDPOINT '{uri}', SECRET catalog_token)")
    else:
        con.execute(f"ATTACH '' AS lake (TYPE iceberg, ENDPOINT '{uri}', AUTHORIZATION_TYPE 'none')")
    tables = [[r[1], r[2]] for r in con.execute("SHOW ALL TABLES").fetchall() if r[0] == "lake"]
    reads = []
    for read in plan["reads"]:
        try:
            if read.get("ref"):
                raise ValueError("DuckDB has no syntax to read a branch or tag")
            at = f" AT (VERSION => {int(read['snapshot_id'])})" if read.get("snapshot_id") is not None else ""
            cur = con.execute(f'SELECT * FROM lake."{".".join(levels(read["namespace"]))}"."{read["table"]}"{at}')
            names = [d[0] for d in cur.description]
            reads.append([jsonable(dict(zip(names, r))) for r in cur.fetchall()])
        except Exception as e:
            reads.append({"error": f"{type(e).__name__}: {e}"})
    return {"tables": tables, "refs": {}, "reads": reads}


def main():
    client, uri, plan_file = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(plan_file) as f:
        plan = json.load(f)
    out = with_pyiceberg(uri, plan) if client == "pyiceberg" else with_duckdb(uri, plan) if client == "duckdb" else sys.exit(f"unknown client {client}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""Confluent's Python client (confluent-kafka) against Tributary: the schema registry REST API, the
Avro serializer / deserializer, and a DeserializingConsumer on a real Kafka broker.

Reads one JSON request on stdin and prints one JSON answer on stdout, so the tests state their
expectations in TypeScript. Values that JSON has no type for are tagged, both ways, so a test can
give fastavro the Python types it writes and check the exact types it reads: {"$bytes": base64},
{"$decimal": "12.50"}, {"$date": ...}, {"$time": ...}, {"$datetime": isoformat}, {"$uuid": ...}.

    registry_client.py client       {url, user_info?, subject, schema, compatible, incompatible}
    registry_client.py refused      {url, user_info?, subject, schema}
    registry_client.py serialize    {url, topic, schema, records}
    registry_client.py deserialize  {url, topic, values: [base64 | null]}
    registry_client.py consume      {bootstrap, url, topic, group, count, timeout_s, key?: "string" | "avro"}
"""

import base64
import datetime
import decimal
import json
import sys
import time
import uuid

from confluent_kafka import DeserializingConsumer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext, StringDeserializer


def tagged(value):
    if isinstance(value, dict):
        return {k: tagged(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [tagged(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, decimal.Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"$date": value.isoformat()}
    if isinstance(value, datetime.time):
        return {"$time": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    return value


def untagged(value):
    """The Python value a tagged JSON value stands for (what fastavro expects to write)."""
    if isinstance(value, list):
        return [untagged(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            [(tag, text)] = value.items()
            parse = {
                "$bytes": base64.b64decode,
                "$decimal": decimal.Decimal,
                "$datetime": datetime.datetime.fromisoformat,
                "$date": datetime.date.fromisoformat,
                "$time": datetime.time.fromisoformat,
                "$uuid": uuid.UUID,
            }.get(tag)
            if parse is not None:
                return parse(text)
        return {k: untagged(v) for k, v in value.items()}
    return value


def registry_error(call):
    """The HTTP status and Confluent error code a client call fails with."""
    try:
        call()
    except SchemaRegistryError as e:
        return {"status": e.http_status_code, "error_code": e.error_code}
    raise AssertionError("expected a SchemaRegistryError")


def conf(req):
    """The client's configuration: basic auth with basic.auth.user.info ("user:password") when given."""
    return {"url": req["url"], **({"basic.auth.user.info": req["user_info"]} if "user_info" in req else {})}


def client(req):
    c = SchemaRegistryClient(conf(req))
    subject = req["subject"]
    avro = lambda text: Schema(text, "AVRO")
    out = {}
    out["id"] = c.register_schema(subject, avro(req["schema"]))
    out["id_again"] = c.register_schema(subject, avro(req["schema"]))
    out["schema_by_id"] = json.loads(c.get_schema(out["id"]).schema_str)
    found = c.lookup_schema(subject, avro(req["schema"]))
    out["lookup"] = {"id": found.schema_id, "subject": found.subject, "version": found.version}
    out["compatible"] = c.test_compatibility(subject, avro(req["compatible"]))
    out["incompatible"] = c.test_compatibility(subject, avro(req["incompatible"]))
    out["register_incompatible"] = registry_error(lambda: c.register_schema(subject, avro(req["incompatible"])))
    out["id_v2"] = c.register_schema(subject, avro(req["compatible"]))
    latest = c.get_latest_version(subject)
    out["latest"] = {"id": latest.schema_id, "version": latest.version, "schema": json.loads(latest.schema.schema_str)}
    out["version_1"] = c.get_version(subject, 1).schema_id
    out["versions"] = c.get_versions(subject)
    out["subjects"] = c.get_subjects()
    out["global_level"] = c.get_compatibility()
    c.set_compatibility(subject_name=subject, level="FULL")
    out["subject_level"] = c.get_compatibility(subject)
    out["unknown_subject"] = registry_error(lambda: c.get_latest_version(subject + "-nobody"))
    out["unknown_id"] = registry_error(lambda: c.get_schema(987654321))
    out["deleted_version"] = c.delete_version(subject, 2)
    out["versions_after_delete"] = c.get_versions(subject)
    out["deleted_subject"] = c.delete_subject(subject)
    out["deleted_permanently"] = c.delete_subject(subject, permanent=True)
    return out


def refused(req):
    """What the writes answer with these credentials (or none), and whether reads still work."""
    c = SchemaRegistryClient(conf(req))
    subject = req["subject"]
    return {
        "register": registry_error(lambda: c.register_schema(subject, Schema(req["schema"], "AVRO"))),
        "set_compatibility": registry_error(lambda: c.set_compatibility(level="NONE")),
        "delete_subject": registry_error(lambda: c.delete_subject(subject)),
        "subjects": answer_or_error(c.get_subjects),
    }


def answer_or_error(call):
    try:
        return call()
    except SchemaRegistryError as e:
        return {"status": e.http_status_code, "error_code": e.error_code}


def serialize(req):
    c = SchemaRegistryClient({"url": req["url"]})
    serializer = AvroSerializer(c, req["schema"])
    ctx = SerializationContext(req["topic"], MessageField.VALUE)
    return [base64.b64encode(serializer(untagged(r), ctx)).decode() for r in req["records"]]


def deserialize(req):
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": req["url"]}))
    ctx = SerializationContext(req["topic"], MessageField.VALUE)
    return [None if v is None else tagged(deserializer(base64.b64decode(v), ctx)) for v in req["values"]]


def consume(req):
    registry = SchemaRegistryClient({"url": req["url"]})
    consumer = DeserializingConsumer(
        {
            "bootstrap.servers": req["bootstrap"],
            "group.id": req["group"],
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "key.deserializer": AvroDeserializer(registry) if req.get("key") == "avro" else StringDeserializer("utf_8"),
            "value.deserializer": AvroDeserializer(registry),
        }
    )
    consumer.subscribe([req["topic"]])
    records = []
    deadline = time.monotonic() + req["timeout_s"]
    try:
        while len(records) < req["count"] and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                raise RuntimeError(str(msg.error()))
            records.append({"partition": msg.partition(), "offset": msg.offset(), "key": tagged(msg.key()), "value": tagged(msg.value())})
    finally:
        consumer.close()
    return records


if __name__ == "__main__":
    command = sys.argv[1]
    request = json.load(sys.stdin)
    answer = {"client": client, "refused": refused, "serialize": serialize, "deserialize": deserialize, "consume": consume}[command](request)
    json.dump(answer, sys.stdout)

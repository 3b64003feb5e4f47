"""A new ONNX file from an old one, new bytes for some weights and new metadata, without the
`onnx` package (the device has onnxruntime only); and a weight's bytes read by its name.

An ONNX file is one protobuf ModelProto. Its metadata (`metadata_props`, field 14) are
top-level fields, so they can be dropped and written again without touching the rest; a
weight of the same shape is the same number of raw float32 bytes inside the graph, so it can
be replaced in place without changing any length prefix. onnxruntime then loads the result
like any exported model, and the reader checks it as it checks every model.
"""

from __future__ import annotations

METADATA_FIELD = 14  # ModelProto.metadata_props: repeated StringStringEntryProto
GRAPH_FIELD = 7  # ModelProto.graph
INITIALIZER_FIELD = 5  # GraphProto.initializer: repeated TensorProto
TENSOR_NAME, TENSOR_RAW_DATA = 8, 9  # TensorProto.name, TensorProto.raw_data
LENGTH_DELIMITED = 2


class EditError(Exception):
    """The file is not a protobuf this module can rewrite, or a weight was not found once."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 63:
            raise EditError("truncated or malformed protobuf varint")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | LENGTH_DELIMITED) + _encode_varint(len(payload)) + payload


def top_level_fields(data: bytes) -> list[tuple[int, bytes]]:
    """(field number, the field's whole encoding) for each top-level field, in order."""
    fields, pos = [], 0
    while pos < len(data):
        start = pos
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == LENGTH_DELIMITED:
            length, pos = _varint(data, pos)
            pos += length
        elif wire == 5:
            pos += 4
        else:
            raise EditError(f"unsupported protobuf wire type {wire}")
        if pos > len(data):
            raise EditError("truncated protobuf field")
        fields.append((number, data[start:pos]))
    return fields


def _payload(encoded: bytes) -> bytes:
    """The contents of one length-delimited field, given its whole encoding."""
    _, pos = _varint(encoded, 0)
    length, pos = _varint(encoded, pos)
    return encoded[pos : pos + length]


def initializers(model: bytes, names: set[str]) -> dict[str, bytes]:
    """The raw bytes of the graph's initializers called `names` (stored as raw_data)."""
    found: dict[str, bytes] = {}
    for number, encoded in top_level_fields(model):
        if number != GRAPH_FIELD:
            continue
        for field, entry in top_level_fields(_payload(encoded)):
            if field != INITIALIZER_FIELD:
                continue
            fields = top_level_fields(_payload(entry))
            parts = {n: _payload(e) for n, e in fields if n in (TENSOR_NAME, TENSOR_RAW_DATA)}
            name = parts.get(TENSOR_NAME, b"").decode(errors="replace")
            if name in names and TENSOR_RAW_DATA in parts:
                found[name] = parts[TENSOR_RAW_DATA]
    missing = names - found.keys()
    if missing:
        raise EditError(f"no initializer with raw data called {', '.join(sorted(missing))}")
    return found


def rewrite(
    model: bytes, replacements: list[tuple[bytes, bytes]], metadata: dict[str, str]
) -> bytes:
    """The model with each (old, new) byte string replaced (each must occur exactly once, with
    equal lengths) and its metadata replaced by `metadata`."""
    body = bytearray()
    for number, encoded in top_level_fields(model):
        if number != METADATA_FIELD:
            body += encoded
    for old, new in replacements:
        if len(old) != len(new):
            raise EditError("a replacement must keep the weight's size")
        count = body.count(old)
        if count != 1:
            raise EditError(f"the weights to replace occur {count} times in the model, not once")
        at = body.find(old)
        body[at : at + len(old)] = new
    for key, value in metadata.items():
        entry = _field(1, key.encode()) + _field(2, value.encode())
        body += _field(METADATA_FIELD, entry)
    return bytes(body)

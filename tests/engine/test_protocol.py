"""The worker's replies are plain data: arrays rebuilt from bytes, nothing executable, everything capped."""
import json
import struct

import numpy as np
import pytest

from autograder import protocol


def roundtrip(value):
    return protocol.decode(protocol.encode(value)[4:])


def test_nested_values_and_arrays_survive_a_round_trip():
    value = {"a": [1, 2.5, "x", None, True], "b": np.arange(6, dtype=np.float32).reshape(2, 3), "c": {"d": np.int64(3)}}
    out = roundtrip(value)
    assert out["a"] == [1, 2.5, "x", None, True]
    assert out["b"].dtype == np.float32 and out["b"].shape == (2, 3)
    np.testing.assert_array_equal(out["b"], value["b"])
    assert int(out["c"]["d"]) == 3


def test_zero_dimensional_arrays_keep_their_shape():
    assert roundtrip(np.float32(2.0)).shape == ()
    assert roundtrip(np.asarray(1.5)).shape == ()


def test_non_finite_floats_travel_as_arrays_not_as_json_constants():
    out = roundtrip([float("nan"), float("inf")])
    assert np.isnan(out[0]) and np.isinf(out[1])


def test_rebuilt_arrays_are_plain_ndarrays_even_from_subclasses():
    class Lying(np.ndarray):
        def __eq__(self, other):
            return True

    out = roundtrip(np.zeros(3).view(Lying))
    assert type(out) is np.ndarray


def test_object_arrays_are_refused():
    with pytest.raises(protocol.ProtocolError):
        protocol.encode(np.array([object()], dtype=object))


def _frame(header: dict, payload: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack(">I", len(raw)) + raw + payload


@pytest.mark.parametrize(
    "header, payload",
    [
        ({"body": {"__array__": 0}, "arrays": [{"dtype": "|O", "shape": [1], "offset": 0, "nbytes": 8}]}, b"\0" * 8),
        ({"body": {"__array__": 0}, "arrays": [{"dtype": "<f8", "shape": [4], "offset": 0, "nbytes": 32}]}, b"\0" * 8),
        ({"body": {"__array__": 3}, "arrays": []}, b""),
        ({"body": {"__class__": "os.system"}, "arrays": []}, b""),
        ({"body": 1, "arrays": "nope"}, b""),
    ],
    ids=["object dtype", "payload shorter than shape", "dangling array reference", "unknown object", "bad layout"],
)
def test_malformed_frames_are_rejected(header, payload):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(_frame(header, payload))


def test_json_nan_constants_are_rejected():
    raw = b'{"body": NaN, "arrays": []}'
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(struct.pack(">I", len(raw)) + raw)


def test_deep_nesting_is_rejected():
    body = "[" * 100 + "]" * 100
    raw = ('{"body": %s, "arrays": []}' % body).encode()
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(struct.pack(">I", len(raw)) + raw)


def test_oversized_frames_are_refused_before_reading_them(monkeypatch):
    import os

    r, w = os.pipe()
    os.write(w, struct.pack(">I", protocol.MAX_FRAME_BYTES + 1))
    with pytest.raises(protocol.ProtocolError):
        protocol.read_frame(r)
    os.close(r)
    os.close(w)

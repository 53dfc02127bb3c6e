"""A reply frame never makes the trusted side allocate more than it received, and no write to a
worker blocks past its deadline.

Each array spec of a frame must start where the previous one ends (the first at 0) and the
specs together must be exactly the payload, so no two arrays share bytes; each array may be
referred to once. Writes take the same deadline as reads: a worker that stopped reading its
request pipe costs a timeout, never a grader blocked forever.
"""
from __future__ import annotations

import json
import os
import struct
import time
import tracemalloc

import numpy as np
import pytest

from autograder import protocol
from autograder.sandbox.client import Session, WorkerLost

MB = 1024 * 1024


def frame_body(body, specs, payload: bytes) -> bytes:
    """What ``decode`` reads: header length, JSON header, raw bytes (no outer length word)."""
    header = json.dumps({"body": body, "arrays": specs}).encode()
    return struct.pack(">I", len(header)) + header + payload


def d(**fields) -> dict:
    """A mapping as frames spell it."""
    return {"__dict__": [[k, v] for k, v in fields.items()]}


def spec(offset: int, nbytes: int, dtype: str = "|u1") -> dict:
    return {"dtype": dtype, "shape": [nbytes // np.dtype(dtype).itemsize], "offset": offset, "nbytes": nbytes}


def roundtrip(value):
    return protocol.decode(protocol.encode(value)[4:])


# --------------------------------------------------------------------------- honest frames


def test_honest_frames_still_round_trip_with_many_arrays_and_empty_ones():
    value = {
        "a": [np.arange(5, dtype=np.int64), np.zeros((0, 3)), np.float32(1.5)],
        "b": {"c": np.ones((2, 2), dtype=np.bool_), "d": "Nguyễn"},
        "e": [np.full(3, i, dtype=np.int16) for i in range(50)],
    }
    out = roundtrip(value)
    np.testing.assert_array_equal(out["a"][0], value["a"][0])
    assert out["a"][1].shape == (0, 3) and out["a"][2].shape == ()
    assert out["b"]["c"].dtype == np.bool_ and out["b"]["d"] == "Nguyễn"
    assert [int(x[0]) for x in out["e"]] == list(range(50))


def test_encode_lays_arrays_out_contiguously_in_order():
    parts = protocol.encode_parts({"x": [np.arange(3.0), np.zeros(0), np.arange(7, dtype=np.int32), np.ones((2, 2))]})
    total, header_len = struct.unpack(">II", bytes(parts[0][:8]))
    header = json.loads(bytes(parts[0][8 : 8 + header_len]))
    end = 0
    for s in header["arrays"]:
        assert s["offset"] == end
        end += s["nbytes"]
    assert end == sum(len(memoryview(p).cast("B")) for p in parts[1:])
    assert total == 4 + header_len + end


def test_arrays_rebuilt_by_decode_own_their_memory():
    out = roundtrip({"a": np.arange(4.0)})
    assert out["a"].flags.owndata and out["a"].flags.writeable


def test_the_only_array_of_a_frame_read_from_a_channel_is_the_received_buffer_itself():
    """No copy of a matrix sent alone (it would double 30.5 MiB at 5g.2's peak); arrays that
    share a frame are copies, so a small one never keeps a big one's bytes alive."""
    read, write = os.pipe()
    try:
        protocol.write_frame(write, {"A": np.arange(6.0).reshape(2, 3)})
        alone = protocol.read_frame(read)["A"]
        protocol.write_frame(write, {"A": np.arange(6.0), "n": np.int64(3)})
        shared = protocol.read_frame(read)
    finally:
        os.close(read)
        os.close(write)
    assert type(alone) is np.ndarray and alone.flags.writeable and not alone.flags.owndata
    assert alone.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert shared["A"].flags.owndata and shared["n"].flags.owndata


def test_encoding_and_decoding_leave_no_reference_cycle_behind():
    """A cycle would keep every array of a frame alive until the next gc pass (the grader and
    the workers run with a frozen, rarely collected heap): 61 MB more at each 5g.2 call."""
    import gc

    gc.collect()
    gc.disable()
    try:
        body = protocol.encode({"a": [np.arange(3.0), {"b": np.ones(2)}], "c": "x"})
        protocol.decode(body[4:])
        assert gc.collect() == 0
    finally:
        gc.enable()


# --------------------------------------------------------------------------- hostile layouts


@pytest.mark.parametrize(
    "specs, payload, body",
    [
        ([spec(0, 16), spec(0, 16)], 16, [{"__array__": 0}, {"__array__": 1}]),
        ([spec(0, 16), spec(8, 8)], 16, [{"__array__": 0}, {"__array__": 1}]),
        ([spec(8, 8), spec(0, 8)], 16, [{"__array__": 0}, {"__array__": 1}]),
        ([spec(4, 12)], 16, {"__array__": 0}),
        ([spec(0, 8), spec(12, 4)], 16, [{"__array__": 0}, {"__array__": 1}]),
        ([spec(0, 32)], 16, {"__array__": 0}),
        ([spec(0, 8), spec(8, 16)], 16, [{"__array__": 0}, {"__array__": 1}]),
        ([spec(0, 8)], 16, {"__array__": 0}),
    ],
    ids=["repeated", "overlapping", "out of order", "not starting at 0", "gap", "past the payload", "sum past the payload", "payload left over"],
)
def test_array_specs_that_overlap_repeat_reorder_or_miss_the_payload_are_refused(specs, payload, body):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(frame_body(body, specs, b"\0" * payload))


def test_an_array_referred_to_twice_is_refused():
    body = d(ok=True, value=[{"__array__": 0}, {"__array__": 0}])
    with pytest.raises(protocol.ProtocolError, match="more than once"):
        protocol.decode(frame_body(body, [spec(0, 1024)], b"\0" * 1024))


def test_a_boolean_is_not_an_array_reference():
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(frame_body({"__array__": True}, [spec(0, 0), spec(0, 8)], b"\0" * 8))


def test_the_red_team_frame_128_specs_over_the_same_8_mb_allocates_nothing_big():
    payload = b"\0" * (8 * MB)
    specs = [{"dtype": "<f8", "shape": [MB], "offset": 0, "nbytes": 8 * MB}] * 128
    body = d(ok=True, value=[{"__array__": i} for i in range(128)])
    data = frame_body(body, specs, payload)
    tracemalloc.start()
    try:
        with pytest.raises(protocol.ProtocolError, match="overlap"):
            protocol.decode(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 * MB, f"refusing the frame allocated {peak} bytes"


def test_128_references_to_one_array_are_refused_before_127_copies():
    body = d(ok=True, value=[{"__array__": 0}] * 128)
    data = frame_body(body, [{"dtype": "<f8", "shape": [MB], "offset": 0, "nbytes": 8 * MB}], b"\0" * (8 * MB))
    tracemalloc.start()
    try:
        with pytest.raises(protocol.ProtocolError, match="more than once"):
            protocol.decode(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * MB, f"refusing the frame allocated {peak} bytes"


def test_decoding_an_honest_frame_allocates_about_its_payload_size():
    value = {"ok": True, "value": [np.ones(MB // 8 * 2, dtype=np.float64) for _ in range(8)]}  # 8 arrays of 2 MB
    data = protocol.encode(value)[4:]
    tracemalloc.start()
    try:
        out = protocol.decode(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(out["value"]) == 8
    assert peak <= 1.1 * len(data) + 1 * MB, f"decoding {len(data)} bytes allocated {peak} bytes"


# --------------------------------------------------------------------------- write deadlines


def test_a_large_frame_to_a_pipe_nobody_reads_times_out_at_its_deadline():
    read_end, write_end = os.pipe()
    try:
        message = {"probe": "x", "args": {"big": np.zeros(4 * MB, dtype=np.uint8)}}
        started = time.monotonic()
        with pytest.raises(protocol.ChannelTimeout):
            protocol.write_frame(write_end, message, deadline=started + 0.5)
        elapsed = time.monotonic() - started
        assert 0.4 <= elapsed < 3.0, elapsed
        assert os.get_blocking(write_end), "the descriptor is left as it was found (blocking)"
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_write_with_a_deadline_completes_when_the_reader_keeps_up():
    import threading

    read_end, write_end = os.pipe()
    received = bytearray()

    def drain():
        while True:
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                return
            received.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        protocol.write_frame(write_end, {"a": np.arange(MB, dtype=np.int64)}, deadline=time.monotonic() + 30)
    finally:
        os.close(write_end)
        reader.join(10)
        os.close(read_end)
    out = protocol.decode(bytes(received[4:]))
    assert out["a"][-1] == MB - 1


class _NoSandbox:
    def _close(self, pid):  # pragma: no cover - not reached
        raise AssertionError


def test_a_session_whose_worker_stopped_reading_is_lost_with_a_timeout_and_never_reused():
    request_r, request_w = os.pipe()
    reply_r, reply_w = os.pipe()
    try:
        session = Session(_NoSandbox(), pid=0, request_fd=request_w, reply_fd=reply_r)
        started = time.monotonic()
        with pytest.raises(WorkerLost) as lost:
            session.call("1c.loss", {"pred": np.zeros(4 * MB, dtype=np.uint8)}, started + 0.5)
        assert lost.value.reason == "timeout"
        assert time.monotonic() - started < 3.0
        assert session.lost is lost.value
        pending = len(os.read(request_r, 8 * MB))  # part of the frame was written ...
        assert 0 < pending < 4 * MB
        with pytest.raises(WorkerLost):  # ... so the pipe is never written to again
            session.call("1c.loss", {}, time.monotonic() + 5)
        os.set_blocking(request_r, False)
        with pytest.raises(BlockingIOError):
            os.read(request_r, 1)
    finally:
        for fd in (request_r, request_w, reply_r, reply_w):
            os.close(fd)


def test_strings_of_a_reply_are_cleaned_on_arrival():
    request_r, request_w = os.pipe()
    reply_r, reply_w = os.pipe()
    try:
        session = Session(_NoSandbox(), pid=0, request_fd=request_w, reply_fd=reply_r)
        protocol.write_frame(reply_w, {"ok": True, "value": {"name\x1b[8m": ["Nguyễn \ud800", "\x1b]8;;http://x\x1b\\link"], "n": 3}})
        value = session.call("x", {}, time.monotonic() + 5)
        assert value == {"name\\x1b[8m": ["Nguyễn \ufffd", "\\x1b]8;;http://x\\x1b\\link"], "n": 3}
        protocol.write_frame(reply_w, {"ok": False, "error": {"type": "ValueError", "message": "bad \ud800 \u202e", "traceback": "x\r\ny"}})
        from autograder.sandbox.client import StudentRaised

        with pytest.raises(StudentRaised) as raised:
            session.call("x", {}, time.monotonic() + 5)
        assert raised.value.info["message"] == "bad \ufffd \\u202e"
        assert raised.value.info["traceback"] == "x\ny"
        json.dumps(raised.value.info).encode("utf-8")
    finally:
        for fd in (request_r, request_w, reply_r, reply_w):
            os.close(fd)


def test_a_call_with_big_arguments_lets_go_of_them_once_sent_and_keeps_none_for_the_diagnosis():
    """5g.2's n x n matrices: while the worker computes, the trusted side holds no copy of what it
    sent (the caller hands its matrix over), and the trace never keeps it."""
    import weakref

    from autograder import rubric as rubric_mod
    from autograder.checks.context import TRACE_BYTES, Ctx

    request_r, request_w = os.pipe()
    reply_r, reply_w = os.pipe()
    alive_while_waiting = []

    class Watched(np.ndarray):
        pass

    big = np.zeros(TRACE_BYTES // 8 + 1).view(Watched)
    gone = weakref.ref(big)

    def reply_when_read():
        protocol.read_frame(request_r)
        waited = time.monotonic() + 5  # the sender may still be returning from its last write
        while gone() is not None and time.monotonic() < waited:
            time.sleep(0.01)
        alive_while_waiting.append(gone() is not None)
        protocol.write_frame(reply_w, {"ok": True, "value": {"n": 1}})

    import threading

    try:
        session = Session(_NoSandbox(), pid=0, request_fd=request_w, reply_fd=reply_r)
        check = rubric_mod.load(rubric_mod.default_path()).by_id()["5g.2"]
        ctx = Ctx(check, lambda: session, time.monotonic() + 30)
        worker = threading.Thread(target=reply_when_read)
        worker.start()
        box = [big]
        del big
        value = ctx.call("5e.normalize", A=box.pop(), optional=True)  # not inside assert: pytest would keep the argument
        assert value == {"n": 1}
        worker.join(10)
        assert alive_while_waiting == [False]
        assert ctx.trace[-1].args is None
        small = ctx
        worker = threading.Thread(target=lambda: (protocol.read_frame(request_r), protocol.write_frame(reply_w, {"ok": True, "value": 2})))
        worker.start()
        assert small.call("5g.stochastic", M=np.ones(3)) == 2
        worker.join(10)
        assert small.trace[-1].args["M"].tolist() == [1.0, 1.0, 1.0]  # small calls are kept whole
    finally:
        for fd in (request_r, request_w, reply_r, reply_w):
            os.close(fd)

"""Plain-data frames exchanged with the sandboxed worker.

A frame is ``u32 length | u32 header length | JSON header | raw array bytes``.
Arrays travel as raw buffers of an allow-listed dtype, so decoding never runs
code: the trusted side rebuilds a plain ``ndarray`` from bytes and checks the
declared shape against the payload. Nothing is ever unpickled.
"""
from __future__ import annotations

import json
import math
import os
import select
import struct
import time
from typing import Any

import numpy as np

MAX_FRAME_BYTES = 64 * 1024 * 1024
MAX_HEADER_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 32
MAX_ARRAYS = 4096
ALLOWED_DTYPES = ("<f4", "<f8", "<i8", "<i4", "<i2", "|i1", "|u1", "|b1")

_LEN = struct.Struct(">II")


class ProtocolError(Exception):
    """A frame that is malformed, too large, or holds a value outside the allow-list."""


class ChannelClosed(ProtocolError):
    """The other end closed the pipe before a whole frame arrived."""


class ChannelTimeout(ProtocolError):
    """No whole frame arrived before the deadline."""


def encode_parts(message: Any) -> list:
    """The frame of ``message`` as a list of buffers (length words + header, then each array's bytes), uncopied."""
    arrays: list[dict] = []
    chunks: list = []
    offset = 0

    def walk(value: Any, depth: int) -> Any:
        nonlocal offset
        if depth > MAX_DEPTH:
            raise ProtocolError("value nested too deeply")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) < 2**53:
                return value
            value = float(value)
        if isinstance(value, float):
            if math.isfinite(value):
                return value
            value = np.asarray(value, dtype=np.float64)
        if isinstance(value, dict):
            return {"__dict__": [[str(k), walk(v, depth + 1)] for k, v in value.items()]}
        if isinstance(value, (list, tuple)):
            return [walk(v, depth + 1) for v in value]
        array = np.require(np.asarray(value), requirements="C")
        if array.dtype.kind == "b":
            array = array.astype("|b1")
        elif array.dtype.kind == "f" and array.dtype.itemsize not in (4, 8):
            array = array.astype("<f8")
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
        dtype = array.dtype.str
        if dtype not in ALLOWED_DTYPES:
            raise ProtocolError(f"arrays of dtype {array.dtype} cannot be sent")
        if type(array) is not np.ndarray:
            array = np.array(array, subok=False)
        raw = memoryview(array).cast("B") if array.nbytes else b""
        arrays.append({"dtype": dtype, "shape": list(array.shape), "offset": offset, "nbytes": array.nbytes})
        chunks.append(raw)
        offset += array.nbytes
        if len(arrays) > MAX_ARRAYS:
            raise ProtocolError("too many arrays in one frame")
        return {"__array__": len(arrays) - 1}

    try:
        body = walk(message, 0)
    finally:
        walk = None  # the recursive closure is a reference cycle: it would keep every array alive until a gc pass
    header = json.dumps({"body": body, "arrays": arrays}, allow_nan=False).encode()
    if len(header) > MAX_HEADER_BYTES:
        raise ProtocolError("frame header too large")
    total = len(header) + offset
    if total + 4 > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {total} bytes exceeds the {MAX_FRAME_BYTES}-byte cap")
    return [_LEN.pack(total + 4, len(header)) + header, *chunks]


def encode(message: Any) -> bytes:
    """Serialise nested dicts/lists of JSON scalars and arrays into one frame."""
    return b"".join(encode_parts(message))


def round_trip(message: Any) -> Any:
    """``message`` as the other end of a channel would decode it: fresh, plain, owned arrays
    (the in-process session and the diagnosis' replays stand in for a worker with it)."""
    return decode(encode(message)[4:])


def write_parts(fd: int, parts: list, deadline: float | None = None) -> None:
    """Write a frame's buffers; with ``deadline`` (a ``time.monotonic()`` value), give up then.

    Without a deadline the write blocks for as long as the reader takes. With one, ``fd`` is
    non-blocking for the duration and ``ChannelTimeout`` is raised when the deadline passes
    with bytes still unwritten (a reader that stopped reading): part of the frame may then
    have been written, so the channel must not be used again.
    """
    if deadline is None:
        for part in parts:
            view = memoryview(part).cast("B")
            while view:
                view = view[os.write(fd, view):]
        return
    was_blocking = os.get_blocking(fd)
    if was_blocking:
        os.set_blocking(fd, False)
    try:
        for part in parts:
            view = memoryview(part).cast("B")
            while view:
                try:
                    view = view[os.write(fd, view[: 1 << 20]):]
                    continue
                except BlockingIOError:
                    pass
                wait = deadline - time.monotonic()
                if wait <= 0:
                    raise ChannelTimeout("timed out writing to the worker (it stopped reading)")
                _, ready, _ = select.select([], [fd], [], wait)
                if not ready and time.monotonic() >= deadline:
                    raise ChannelTimeout("timed out writing to the worker (it stopped reading)")
    finally:
        if was_blocking:
            try:
                os.set_blocking(fd, True)
            except OSError:
                pass


def _reject_constant(name: str) -> Any:
    raise ProtocolError(f"non-standard JSON constant {name}")


def decode(payload: bytes) -> Any:
    """Rebuild a message from a frame body (everything after the length word)."""
    if len(payload) < 4:
        raise ProtocolError("truncated frame")
    (header_len,) = struct.unpack(">I", payload[:4])
    if header_len > MAX_HEADER_BYTES or header_len > len(payload) - 4:
        raise ProtocolError("bad header length")
    try:
        header = json.loads(payload[4 : 4 + header_len].decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"bad header: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("arrays"), list):
        raise ProtocolError("bad header layout")
    data = memoryview(payload)[4 + header_len :]
    specs = header["arrays"]
    if len(specs) > MAX_ARRAYS:
        raise ProtocolError("too many arrays")
    # Every spec is checked before any array is built: laid end to end from offset 0, in
    # order, together exactly the payload. No two specs share bytes, so the arrays built
    # (each at most once, when the body refers to it) never add up to more than was received.
    layout = []
    end = 0
    for spec in specs:
        dtype, shape, offset, nbytes = _check_spec(spec)
        if offset != end:
            raise ProtocolError("array specs overlap, repeat or leave gaps (each must start where the previous one ends)")
        end = offset + nbytes
        if end > len(data):
            raise ProtocolError("array specs exceed the payload")
        layout.append((dtype, shape, offset, nbytes))
    if end != len(data):
        raise ProtocolError("the payload holds bytes no array spec accounts for")
    used: set[int] = set()

    def walk(value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError("value nested too deeply")
        if isinstance(value, list):
            return [walk(v, depth + 1) for v in value]
        if isinstance(value, dict):
            if set(value) == {"__array__"} and isinstance(value["__array__"], int) and not isinstance(value["__array__"], bool):
                index = value["__array__"]
                if not 0 <= index < len(layout):
                    raise ProtocolError("array reference out of range")
                if index in used:
                    raise ProtocolError("an array is referred to more than once")
                used.add(index)
                return _build_array(layout[index], data, alone=len(layout) == 1)
            if set(value) == {"__dict__"} and isinstance(value["__dict__"], list):
                out = {}
                for item in value["__dict__"]:
                    if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
                        raise ProtocolError("bad dict entry")
                    out[item[0]] = walk(item[1], depth + 1)
                return out
            raise ProtocolError("unexpected object in frame")
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise ProtocolError("unexpected value in frame")

    try:
        return walk(header.get("body"), 0)
    finally:
        walk = None  # as in encode_parts: else the cycle keeps the received bytes until a gc pass


def _check_spec(spec: Any) -> tuple[str, list[int], int, int]:
    """(dtype, shape, offset, nbytes) of a well-formed array spec whose size matches its shape."""
    if not isinstance(spec, dict):
        raise ProtocolError("bad array spec")
    dtype, shape, offset, nbytes = (spec.get(k) for k in ("dtype", "shape", "offset", "nbytes"))
    if not isinstance(dtype, str) or dtype not in ALLOWED_DTYPES:
        raise ProtocolError(f"dtype {dtype!r} is not allowed")
    if not (isinstance(shape, list) and len(shape) <= 8 and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**31 for n in shape)):
        raise ProtocolError("bad array shape")
    if not (isinstance(offset, int) and isinstance(nbytes, int) and not isinstance(offset, bool) and not isinstance(nbytes, bool) and 0 <= offset and 0 <= nbytes):
        raise ProtocolError("bad array extent")
    count = 1
    for n in shape:
        count *= n
    if count * np.dtype(dtype).itemsize != nbytes:
        raise ProtocolError("array size does not match its payload")
    return dtype, shape, offset, nbytes


def _build_array(spec: tuple[str, list[int], int, int], data: memoryview, alone: bool = False) -> np.ndarray:
    """A plain, writable ndarray of the declared type (its bytes are counted once, by the layout check in ``decode``).

    The only array of a frame read from a channel is a view of the received buffer (a
    bytearray, which nothing else holds):
    a copy would briefly double it (61 MiB for a 2000 x 2000 matrix). Arrays that share a
    frame are copies, so that a small one never keeps a big neighbour's bytes alive.
    """
    dtype, shape, offset, nbytes = spec
    array = np.frombuffer(data[offset : offset + nbytes], dtype=np.dtype(dtype)).reshape(shape)
    return array if alone and not data.readonly else array.copy()


def write_frame(fd: int, message: Any, deadline: float | None = None) -> None:
    """Encode and write one frame; ``deadline`` as in ``write_parts``."""
    write_parts(fd, encode_parts(message), deadline)


def read_frame(fd: int, deadline: float | None = None) -> Any:
    """Read and decode one frame; ``deadline`` is a ``time.monotonic()`` value."""
    head = _read_exact(fd, 4, deadline)
    (total,) = struct.unpack(">I", head)
    if total < 4 or total > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {total} bytes exceeds the cap")
    return decode(_read_exact(fd, total, deadline))


def _read_exact(fd: int, count: int, deadline: float | None) -> bytearray:
    buffer = bytearray(count)
    view = memoryview(buffer)
    got = 0
    while got < count:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise ChannelTimeout("timed out waiting for the worker")
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                raise ChannelTimeout("timed out waiting for the worker")
        n = os.readv(fd, [view[got : got + (1 << 20)]])
        if not n:
            raise ChannelClosed("the worker closed its channel")
        got += n
    view.release()
    return buffer

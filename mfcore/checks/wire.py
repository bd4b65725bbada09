"""A safe wire format for the homework checks: problems to the student's process, results back.

While a homework is graded, the student's code runs in a sandbox and the comparison with the reference runs
in the grading process (``course/judge.py``).  What crosses between them is *data only*: this module turns
the few types the checks use (numbers, strings, lists, dicts, numpy arrays, :class:`~mfcore.Ratings`,
:class:`~mfcore.Compressed`, numpy random generators, pandas DataFrames) into bytes and back, without pickle,
so decoding can never run code, and with limits on size and nesting, so it cannot exhaust the grader.

    blob = dumps({"P": P, "data": data})
    obj = loads(blob, max_bytes=64 << 20)

Layout: ``MAGIC``, an 8-byte little-endian header length, a JSON header (the object tree, with arrays
replaced by references), then the raw array buffers.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np

from ..data import Compressed, Ratings, Truth

MAGIC = b"MFCW1\n"
MAX_BYTES = 64 << 20            # default cap of one message: 64 MiB
MAX_DEPTH = 32
MAX_NODES = 200_000
_KINDS = set("biufcU")          # booleans, integers, floats, complex, unicode strings: never object or void
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


class WireError(ValueError):
    """A value cannot be sent, or a message is malformed or too large."""


# --------------------------------------------------------------------------------------------- encoding
def dumps(obj) -> bytes:
    """Encode ``obj`` (see the module docstring for the supported types)."""
    arrays: list[np.ndarray] = []
    tree = _enc(obj, arrays, 0)
    specs, offset = [], 0
    for arr in arrays:
        specs.append({"dtype": arr.dtype.str, "shape": list(arr.shape), "offset": offset, "nbytes": arr.nbytes})
        offset += arr.nbytes
    header = json.dumps({"tree": tree, "arrays": specs}, allow_nan=False).encode()
    return b"".join([MAGIC, struct.pack("<Q", len(header)), header, *(a.tobytes() for a in arrays)])


def _array_ref(value, arrays) -> dict:
    arr = np.asarray(value)
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(str) if all(isinstance(v, str) for v in arr.ravel()) else arr.astype(float)
        except (TypeError, ValueError):
            raise WireError(f"an array of Python objects (dtype object, shape {arr.shape}) cannot be sent: "
                            "use numbers or strings") from None
    if arr.dtype.kind not in _KINDS or arr.dtype.fields is not None:
        raise WireError(f"arrays of dtype {arr.dtype} cannot be sent: use numbers or strings")
    arrays.append(arr if arr.flags.c_contiguous else arr.copy(order="C"))   # (ascontiguousarray makes 0-d 1-d)
    return {"t": "array", "i": len(arrays) - 1}


def _enc(obj, arrays, depth):
    if depth > MAX_DEPTH:
        raise WireError(f"the value is nested more than {MAX_DEPTH} levels deep")
    d = depth + 1
    if obj is None or isinstance(obj, (bool, str)):
        return {"t": "v", "v": obj}
    if isinstance(obj, int):
        return {"t": "v", "v": int(obj)}
    if isinstance(obj, float):
        return {"t": "float", "v": repr(obj)} if not math.isfinite(obj) else {"t": "v", "v": obj}
    if isinstance(obj, (np.ndarray, np.generic)):
        ref = _array_ref(obj, arrays)
        return ref if isinstance(obj, np.ndarray) else {"t": "scalar", "i": ref["i"]}
    if isinstance(obj, (list, tuple)):
        return {"t": "list" if isinstance(obj, list) else "tuple", "v": [_enc(x, arrays, d) for x in obj]}
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise WireError("only dicts with string keys can be sent")
        return {"t": "dict", "v": {k: _enc(v, arrays, d) for k, v in obj.items()}}
    if isinstance(obj, Ratings):
        fields = {"users": obj.users, "items": obj.items, "ratings": obj.ratings, "n_users": obj.n_users,
                  "n_items": obj.n_items, "user_ids": obj.user_ids, "item_ids": obj.item_ids}
        if obj.truth is not None:
            t = obj.truth
            fields["truth"] = {"P": t.P, "Q": t.Q, "rank": int(t.rank), "noise": float(t.noise),
                               "noise_rmse": float(t.noise_rmse)}
        return {"t": "ratings", "v": _enc(fields, arrays, d)}
    if isinstance(obj, Compressed):
        return {"t": "compressed", "v": _enc({"indptr": obj.indptr, "index": obj.index, "values": obj.values,
                                              "order": obj.order}, arrays, d)}
    if isinstance(obj, np.random.Generator):
        state = obj.bit_generator.state
        if state.get("bit_generator") not in _BIT_GENERATORS:
            raise WireError(f"random generators of type {state.get('bit_generator')} cannot be sent")
        return {"t": "rng", "v": _enc(state, arrays, d)}
    if _is_frame(obj):
        cols = [str(c) if not isinstance(c, (int, float)) else c for c in obj.columns]
        return {"t": "frame", "columns": _enc(cols, arrays, d),
                "data": [_array_ref(obj[c].to_numpy(), arrays) for c in obj.columns],
                "index": _array_ref(obj.index.to_numpy(), arrays)}
    raise WireError(f"a value of type {type(obj).__name__} cannot be sent to the grader: return numbers, "
                    "numpy arrays, lists, tuples or dicts of them")


def _is_frame(obj) -> bool:
    mod = type(obj).__module__ or ""
    return mod.startswith("pandas") and type(obj).__name__ == "DataFrame"


# --------------------------------------------------------------------------------------------- decoding
def loads(blob: bytes, max_bytes: int = MAX_BYTES):
    """Decode a message written by :func:`dumps`; :class:`WireError` on anything malformed or too large."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise WireError("a message must be bytes")
    blob = bytes(blob)
    if len(blob) > max_bytes:
        raise WireError(f"the message is {len(blob)} bytes, more than the limit of {max_bytes}")
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 8:
        raise WireError("not a message of this wire format")
    (hlen,) = struct.unpack("<Q", blob[len(MAGIC):len(MAGIC) + 8])
    start = len(MAGIC) + 8
    if hlen > len(blob) - start:
        raise WireError("truncated header")
    try:
        header = json.loads(blob[start:start + hlen].decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"unreadable header: {exc}") from None
    payload = memoryview(blob)[start + hlen:]
    if not isinstance(header, dict) or not isinstance(header.get("arrays"), list):
        raise WireError("malformed header")
    arrays = [_read_array(spec, payload) for spec in header["arrays"]]
    counter = [0]
    return _dec(header.get("tree"), arrays, 0, counter)


def _read_array(spec, payload) -> np.ndarray:
    try:
        dtype = np.dtype(str(spec["dtype"]))
        shape = tuple(int(s) for s in spec["shape"])
        offset, nbytes = int(spec["offset"]), int(spec["nbytes"])
    except (KeyError, TypeError, ValueError) as exc:
        raise WireError(f"malformed array description: {exc}") from None
    if dtype.kind not in _KINDS or dtype.fields is not None or dtype.hasobject:
        raise WireError(f"arrays of dtype {dtype} are not accepted")
    if any(s < 0 for s in shape) or offset < 0 or nbytes != math.prod(shape) * dtype.itemsize:
        raise WireError("inconsistent array size")
    if offset + nbytes > len(payload):
        raise WireError("truncated array data")
    return np.frombuffer(payload[offset:offset + nbytes], dtype=dtype).reshape(shape).copy()


def _dec(node, arrays, depth, counter):
    counter[0] += 1
    if depth > MAX_DEPTH or counter[0] > MAX_NODES:
        raise WireError("the message is nested too deeply or has too many parts")
    if not isinstance(node, dict) or "t" not in node:
        raise WireError("malformed value")
    t, d = node["t"], depth + 1
    if t == "v":
        v = node.get("v")
        if v is not None and not isinstance(v, (bool, int, float, str)):
            raise WireError("malformed plain value")
        return v
    if t == "float":
        return float(str(node.get("v")))
    if t in ("array", "scalar"):
        i = node.get("i")
        if not isinstance(i, int) or not 0 <= i < len(arrays):
            raise WireError("bad array reference")
        return arrays[i] if t == "array" else arrays[i].reshape(()).item()
    if t in ("list", "tuple"):
        items = [_dec(x, arrays, d, counter) for x in _typed(node.get("v"), list)]
        return items if t == "list" else tuple(items)
    if t == "dict":
        return {str(k): _dec(v, arrays, d, counter) for k, v in _typed(node.get("v"), dict).items()}
    if t == "ratings":
        f = _dec(node.get("v"), arrays, d, counter)
        truth = None
        if f.get("truth") is not None:
            tr = f["truth"]
            truth = Truth(np.asarray(tr["P"]), np.asarray(tr["Q"]), int(tr["rank"]), float(tr["noise"]),
                          float(tr["noise_rmse"]))
        return Ratings(f["users"], f["items"], f["ratings"], f["n_users"], f["n_items"], f["user_ids"],
                       f["item_ids"], truth)
    if t == "compressed":
        f = _dec(node.get("v"), arrays, d, counter)
        return Compressed(f["indptr"], f["index"], f["values"], f["order"])
    if t == "rng":
        state = _dec(node.get("v"), arrays, d, counter)
        name = state.get("bit_generator") if isinstance(state, dict) else None
        if name not in _BIT_GENERATORS:
            raise WireError(f"unknown random generator {name!r}")
        bitgen = getattr(np.random, name)()
        bitgen.state = state
        return np.random.Generator(bitgen)
    if t == "frame":
        import pandas as pd

        cols = _dec(node.get("columns"), arrays, d, counter)
        data = [_dec(x, arrays, d, counter) for x in _typed(node.get("data"), list)]
        index = _dec(node.get("index"), arrays, d, counter)
        if len(cols) != len(data):
            raise WireError("malformed table")
        return pd.DataFrame(dict(zip(cols, data)), index=index)
    raise WireError(f"unknown value type {t!r}")


def _typed(value, kind):
    if not isinstance(value, kind):
        raise WireError("malformed container")
    return value

#!/usr/bin/python3
"""Check binary attention exports (src/export/binary.ts) with numpy, independently of the TypeScript reader.

    /usr/bin/python3 scripts/check_binary_export.py [--npy DIR] [--safetensors FILE]

DIR is a folder written by writeNpy (attentions.npy, scores.npy, inspection.json); FILE a .safetensors file
written by writeSafetensors (its sidecar is FILE minus .safetensors plus .json). The npy files go through
numpy.load; the safetensors file through struct + json + numpy.frombuffer, and also through
safetensors.numpy.load_file when that package is installed (Debian 12 has no python3-safetensors).

For every pair (attentions, scores) of shape [layers', heads', n, n] it checks: float32, shapes agree with
the sidecar, masked scores are exactly -inf and only there have weight 0 unless the softmax underflows,
every row over its unmasked keys sums to 1 within 1e-5, and the weights are softmax(scores) within 1e-5.
Prints one line starting with OK, or exits non-zero naming the first failure.
The functions are importable, e.g. from gen_fixtures.py: check_npy_dir(path), check_safetensors(path).
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

TOL = 1e-5


class CheckError(Exception):
    pass


def require(condition, message):
    if not condition:
        raise CheckError(message)


def check_pair(weights, scores, sidecar, where):
    """Checks one [layers', heads', n, n] pair; returns (rows checked, masked cells, worst row-sum error)."""
    require(weights.dtype == np.float32 and scores.dtype == np.float32, "%s: dtype %s/%s, expected float32" % (where, weights.dtype, scores.dtype))
    require(weights.ndim == 4 and weights.shape == scores.shape, "%s: shapes %s and %s" % (where, weights.shape, scores.shape))
    layers, heads, n, n2 = weights.shape
    require(n == n2, "%s: last two axes differ: %s" % (where, weights.shape))
    require(list(weights.shape) == list(sidecar["shape"]), "%s: shape %s, sidecar says %s" % (where, weights.shape, sidecar["shape"]))
    require(len(sidecar["layers"]) == layers and len(sidecar["heads"]) == heads, "%s: sidecar layers/heads do not match the shape" % where)

    require(not np.isnan(scores).any() and not np.isposinf(scores).any(), "%s: scores hold NaN or +inf" % where)
    require(np.isfinite(weights).all(), "%s: weights are not all finite" % where)
    masked = np.isneginf(scores)
    require((weights[masked] == 0).all(), "%s: a masked (-inf) score has a non-zero weight" % where)
    require((~masked).any(axis=-1).all(), "%s: a row has every key masked" % where)

    s = scores.astype(np.float64)
    row_max = np.where(masked, -np.inf, s).max(axis=-1, keepdims=True)
    # A zero weight on an unmasked key is fine only where exp(score - max) underflows float32.
    zero_unmasked = (weights == 0) & ~masked
    require((s - row_max)[zero_unmasked].max(initial=-np.inf) < -80, "%s: zero weight on an unmasked key whose score is not far below the row max" % where)

    sums = np.where(masked, 0.0, weights.astype(np.float64)).sum(axis=-1)
    sum_err = float(np.abs(sums - 1).max()) if sums.size else 0.0
    require(sum_err <= TOL, "%s: a row over its unmasked keys sums to 1 +- %.3g (tolerance %g)" % (where, sum_err, TOL))

    e = np.where(masked, 0.0, np.exp(np.where(masked, 0.0, s - row_max)))
    softmax = e / e.sum(axis=-1, keepdims=True)
    soft_err = float(np.abs(softmax - weights).max()) if weights.size else 0.0
    require(soft_err <= TOL, "%s: weights differ from softmax(scores) by %.3g" % (where, soft_err))
    return layers * heads * n, int(masked.sum()), max(sum_err, soft_err)


def check_npy_dir(folder):
    with open(os.path.join(folder, "inspection.json"), encoding="utf-8") as f:
        sidecar = json.load(f)
    arrays = {}
    for name in ("attentions", "scores"):
        path = os.path.join(folder, sidecar["files"][name])
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            require(version in ((1, 0), (2, 0)), "%s: NPY version %s" % (path, version))
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            header = read_header(f)  # (shape, fortran_order, dtype)
            require(f.tell() % 64 == 0, "%s: data starts at byte %d, not 64-aligned" % (path, f.tell()))
            require(header[1] is False and header[2] == np.dtype("<f4"), "%s: header %s" % (path, header))
        arrays[name] = np.load(path, allow_pickle=False)
    return arrays, sidecar, check_pair(arrays["attentions"], arrays["scores"], sidecar, folder)


def read_safetensors_plain(path):
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    require(length % 8 == 0, "%s: header length %d is not a multiple of 8" % (path, length))
    header = json.loads(raw[8:8 + length].decode("utf-8"))
    data = raw[8 + length:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    end = 0
    for name, entry in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, stop = entry["data_offsets"]
        require(entry["dtype"] == "F32" and begin == end, "%s: %s is %s at %d (expected F32 at %d)" % (path, name, entry["dtype"], begin, end))
        tensors[name] = np.frombuffer(data[begin:stop], dtype="<f4").reshape(entry["shape"])
        end = stop
    require(end == len(data), "%s: data section has %d bytes, tensors cover %d" % (path, len(data), end))
    require(list(tensors) == ["attentions", "scores"], "%s: tensors in data order: %s" % (path, list(tensors)))
    return tensors, metadata


def check_safetensors(path):
    tensors, metadata = read_safetensors_plain(path)
    with open(os.path.splitext(path)[0] + ".json", encoding="utf-8") as f:
        sidecar = json.load(f)
    require(json.loads(metadata["inspection"]) == sidecar, "%s: __metadata__.inspection differs from the .json sidecar" % path)
    note = "safetensors package absent"
    try:
        from safetensors.numpy import load_file
    except ImportError:
        load_file = None
    if load_file is not None:
        loaded = load_file(path)
        for name in ("attentions", "scores"):
            require(np.array_equal(loaded[name], tensors[name]), "%s: safetensors.numpy disagrees on %s" % (path, name))
        note = "safetensors.numpy agrees"
    return tensors, sidecar, check_pair(tensors["attentions"], tensors["scores"], sidecar, path), note


def describe(name, shape, stats):
    rows, masked, err = stats
    return "%s %s: %d rows sum to 1, %d masked -inf, max err %.2g" % (name, tuple(shape), rows, masked, err)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--npy", metavar="DIR")
    parser.add_argument("--safetensors", metavar="FILE")
    args = parser.parse_args(argv)
    if not args.npy and not args.safetensors:
        parser.error("give --npy DIR, --safetensors FILE or both")
    parts = []
    try:
        npy = st = None
        if args.npy:
            npy = check_npy_dir(args.npy)
            parts.append(describe("npy", npy[0]["attentions"].shape, npy[2]))
        if args.safetensors:
            st = check_safetensors(args.safetensors)
            parts.append(describe("safetensors", st[0]["attentions"].shape, st[2]) + " (" + st[3] + ")")
        # The same selection written both ways must hold the same bits.
        if npy and st and (npy[1]["layers"], npy[1]["heads"]) == (st[1]["layers"], st[1]["heads"]):
            for name in ("attentions", "scores"):
                require(np.array_equal(npy[0][name], st[0][name]), "npy and safetensors differ on %s" % name)
            parts.append("npy == safetensors")
    except (CheckError, OSError, KeyError, ValueError) as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    print("OK " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Rewrites a TensorFlow Lite model whose weights are float16 constants
(DEQUANTIZE of a float16 constant, or of a DENSIFY of a sparse one) into the
same model with float32 constant weights, for executors that take neither
(Debian's Arm NN 22 wants a convolution's weights in its own constant tensor).

usage: tflite_f32_weights.py [--keep-weights] [--legacy-resize] [--int8-weights] IN.tflite OUT.tflite
Prints how many chains it rewrote. Exits 3 when there is nothing to rewrite,
or a layout this script does not patch. --legacy-resize also clears
RESIZE_BILINEAR's half_pixel_centers, which Arm NN 22's parser ignores (it
resizes the legacy way whatever the flag says), so that an executor that
honours it can be compared on the same arithmetic; --keep-weights applies
only that change. --int8-weights also turns the int8 or uint8 constants
that float operators read (dynamic-range "hybrid" models such as Ultralytics'
yolov8n_int8 export, which Arm NN 22's CpuRef refuses) into float32
constants, scale * (q - zero_point) per channel of quantized_dimension.

The file is patched in place and grows at its end: each weight tensor gets its
float32 data in a new vector appended to the file (FlatBuffers offsets point
forward, so appended data can be referenced from anywhere before it), its type
byte becomes FLOAT32 and its sparsity field is dropped from its vtable; the
readers of each DEQUANTIZE output read the weight tensor instead; and the
DEQUANTIZE and DENSIFY operators leave the operator vector, which is compacted
in place. Sparse tensors are densified here, independently of vigil's loader:
the walk over TFLite's SparsityParameters is written from the schema.
"""
import struct
import sys

import numpy as np

DEQUANTIZE, RESIZE_BILINEAR, DENSIFY = 6, 23, 124
FLOAT32, FLOAT16, UINT8, INT8 = 0, 1, 3, 9


class Fb:
    def __init__(self, data):
        self.d = bytearray(data)

    def u32(self, p):
        return struct.unpack_from("<I", self.d, p)[0]

    def i32(self, p):
        return struct.unpack_from("<i", self.d, p)[0]

    def table(self, p):
        vt = p - self.i32(p)
        return p, vt, struct.unpack_from("<H", self.d, vt)[0]

    def field(self, t, i):
        p, vt, vl = t
        slot = 4 + 2 * i
        if slot + 2 > vl:
            return None
        off = struct.unpack_from("<H", self.d, vt + slot)[0]
        return p + off if off else None

    def scalar(self, t, i, fmt, default):
        f = self.field(t, i)
        return struct.unpack_from(fmt, self.d, f)[0] if f is not None else default

    def ref(self, t, i):
        f = self.field(t, i)
        return f + self.u32(f) if f is not None else None

    def vec_pos(self, t, i):
        """(position of the length field, length) of vector field i, or (None, 0)."""
        p = self.ref(t, i)
        return (p, self.u32(p)) if p is not None else (None, 0)

    def tables(self, t, i):
        p, n = self.vec_pos(t, i)
        return [self.table(p + 4 + 4 * k + self.u32(p + 4 + 4 * k)) for k in range(n)]

    def ints(self, t, i, fmt="<i"):
        p, n = self.vec_pos(t, i)
        size = struct.calcsize(fmt)
        return [struct.unpack_from(fmt, self.d, p + 4 + size * k)[0] for k in range(n)]

    def append_vector(self, payload, align=16):
        while (len(self.d) + 4) % align:
            self.d.append(0)
        at = len(self.d)
        self.d += struct.pack("<I", len(payload)) + payload
        while len(self.d) % 4:
            self.d.append(0)
        return at


def index_vector(fb, dm, type_field, field):
    kind = fb.scalar(dm, type_field, "<B", 0)
    vt = fb.ref(dm, field)
    if vt is None:
        return None
    fmt = {1: "<i", 2: "<H", 3: "<B"}[kind]
    return fb.ints(fb.table(vt), 0, fmt)


def densify(fb, sp, shape, values):
    """Dense numpy array of the given shape from a SparsityParameters table and the stored values."""
    trav = fb.ints(sp, 0)
    block_map = fb.ints(sp, 1)
    dims = fb.tables(sp, 2)
    rank = len(shape)
    block = {}
    for j, d in enumerate(block_map):
        block[d] = rank + j
    level_of = {e: l for l, e in enumerate(trav)}
    size = list(shape) + [0] * len(block_map)
    for d, e in block.items():
        bs = fb.scalar(dims[level_of[e]], 1, "<i", 0)
        size[e] = bs
        size[d] = shape[d] // bs
    out = np.zeros(shape, dtype=values.dtype)
    coord = [0] * len(trav)

    def walk(level, pos):
        if level == len(trav):
            idx = []
            for d in range(rank):
                c = coord[d]
                if d in block:
                    c = c * size[block[d]] + coord[block[d]]
                idx.append(c)
            out[tuple(idx)] = values[pos]
            return
        dm, e = dims[level], trav[level]
        if fb.scalar(dm, 0, "<b", 0) == 0:
            for i in range(size[e]):
                coord[e] = i
                walk(level + 1, pos * size[e] + i)
        else:
            seg = index_vector(fb, dm, 2, 3)
            ind = index_vector(fb, dm, 4, 5)
            for k in range(seg[pos], seg[pos + 1]):
                coord[e] = ind[k]
                walk(level + 1, k)

    walk(0, 0)
    return out


def legacy_resize(fb, ops, op_code):
    """Clears half_pixel_centers (ResizeBilinearOptions field 3) of every RESIZE_BILINEAR; returns how many."""
    count = 0
    for o in ops:
        if op_code(o) != RESIZE_BILINEAR or fb.ref(o, 4) is None:
            continue
        f = fb.field(fb.table(fb.ref(o, 4)), 3)
        if f is not None and fb.d[f]:
            fb.d[f] = 0
            count += 1
    return count


def int8_weights(fb, tensors, buffers, ops, op_code, writer, buffer_users):
    """Float32 data for every int8/uint8 constant that an operator with a float32 output reads; returns how many."""
    done = set()
    for o in ops:
        if op_code(o) == DEQUANTIZE:
            continue
        outs = fb.ints(o, 2)
        if not outs or fb.scalar(tensors[outs[0]], 1, "<b", 0) != FLOAT32:
            continue
        for x in fb.ints(o, 1):
            if x < 0 or x in done or x in writer:
                continue
            t = tensors[x]
            kind = fb.scalar(t, 1, "<b", 0)
            if kind not in (INT8, UINT8):
                continue
            b = fb.scalar(t, 2, "<I", 0)
            data_field = fb.field(buffers[b], 0)
            if data_field is None:
                continue
            if buffer_users[b] != 1:
                sys.exit(f"tensor {x}: buffer {b} is shared; not patched")
            q = fb.ref(t, 4)
            if q is None:
                sys.exit(f"tensor {x}: int8 constant without quantization; not patched")
            qt = fb.table(q)
            p, n = fb.vec_pos(qt, 2)
            scale = np.array([struct.unpack_from("<f", fb.d, p + 4 + 4 * k)[0] for k in range(n)], dtype=np.float64)
            zp = np.array(fb.ints(qt, 3, "<q") or [0] * n, dtype=np.float64)
            axis = fb.scalar(qt, 6, "<i", 0)
            shape = fb.ints(t, 0)
            dpos, dlen = fb.vec_pos(buffers[b], 0)
            values = np.frombuffer(bytes(fb.d[dpos + 4:dpos + 4 + dlen]), dtype=np.int8 if kind == INT8 else np.uint8)
            values = values.astype(np.float64).reshape(shape)
            bshape = [1] * len(shape)
            if n > 1:
                bshape[axis] = n
            real = (values - zp.reshape(bshape)) * scale.reshape(bshape)
            at = fb.append_vector(real.astype("<f4").tobytes())
            struct.pack_into("<I", fb.d, data_field, at - data_field)
            struct.pack_into("<b", fb.d, fb.field(t, 1), FLOAT32)
            done.add(x)
    return len(done)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    keep_weights = "--keep-weights" in sys.argv
    src, dst = args[:2]
    with open(src, "rb") as f:
        fb = Fb(f.read())
    model = fb.table(fb.u32(0))
    codes = [max(fb.scalar(c, 0, "<b", 0), fb.scalar(c, 3, "<i", 0)) for c in fb.tables(model, 1)]
    buffers = fb.tables(model, 4)
    sg = fb.tables(model, 2)[0]
    tensors = fb.tables(sg, 0)
    ops_pos, n_ops = fb.vec_pos(sg, 3)
    ops = fb.tables(sg, 3)

    def op_code(o):
        return codes[fb.scalar(o, 0, "<I", 0)]

    def io(o, i):
        return fb.ints(o, i)

    buffer_users = {}
    for t in tensors:
        b = fb.scalar(t, 2, "<I", 0)
        buffer_users[b] = buffer_users.get(b, 0) + 1
    writer = {}
    for k, o in enumerate(ops):
        for t in io(o, 2):
            writer[t] = k

    resized = legacy_resize(fb, ops, op_code) if "--legacy-resize" in sys.argv else 0
    hybrid = int8_weights(fb, tensors, buffers, ops, op_code, writer, buffer_users) if "--int8-weights" in sys.argv else 0
    removed, redirect, vtables = set(), {}, set()
    for k, o in enumerate(ops):
        if keep_weights or op_code(o) != DEQUANTIZE:
            continue
        x, y = io(o, 1)[0], io(o, 2)[0]
        chain = [k]
        if x in writer and op_code(ops[writer[x]]) == DENSIFY:
            chain.append(writer[x])
            x = io(ops[writer[x]], 1)[0]
        t = tensors[x]
        if fb.scalar(t, 1, "<b", 0) != FLOAT16 or x in writer:
            continue
        b = fb.scalar(t, 2, "<I", 0)
        data_field = fb.field(buffers[b], 0)
        if buffer_users[b] != 1 or data_field is None:
            sys.exit(f"tensor {x}: buffer {b} is shared or empty; not patched")
        shape = fb.ints(t, 0)
        dpos, dlen = fb.vec_pos(buffers[b], 0)
        values = np.frombuffer(bytes(fb.d[dpos + 4:dpos + 4 + dlen]), dtype="<f2").astype("<f4")
        sp = fb.ref(t, 6)
        dense = densify(fb, fb.table(sp), shape, values) if sp is not None else values.reshape(shape)
        at = fb.append_vector(dense.astype("<f4").tobytes())
        struct.pack_into("<I", fb.d, data_field, at - data_field)
        struct.pack_into("<b", fb.d, fb.field(t, 1), FLOAT32)
        if sp is not None:
            vtables.add(t[1])
        redirect[y] = x
        removed.update(chain)
    if not removed and not hybrid and not (keep_weights and resized):
        sys.exit(3)
    # Sparse tensors share vtables, so their sparsity fields are dropped only once every one has been read.
    for vt in vtables:
        struct.pack_into("<H", fb.d, vt + 4 + 2 * 6, 0)
    # Readers of a DEQUANTIZE output read the weight tensor itself.
    for k, o in enumerate(ops):
        p, n = fb.vec_pos(o, 1)
        for i in range(n):
            t = fb.i32(p + 4 + 4 * i)
            if t in redirect:
                struct.pack_into("<i", fb.d, p + 4 + 4 * i, redirect[t])
    # Compact the operator vector in place: offsets must stay forward.
    keep = [ops[k][0] for k in range(n_ops) if k not in removed]
    for i, target in enumerate(keep):
        slot = ops_pos + 4 + 4 * i
        if target <= slot:
            sys.exit(3)
        struct.pack_into("<I", fb.d, slot, target - slot)
    struct.pack_into("<I", fb.d, ops_pos, len(keep))
    with open(dst, "wb") as f:
        f.write(fb.d)
    print(f"{len(redirect)} float16 weight chains rewritten, {len(removed)} operators removed, "
          f"{resized} resizes made legacy, {hybrid} int8 weights made float32")


if __name__ == "__main__":
    main()

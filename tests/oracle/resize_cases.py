#!/usr/bin/python3
"""Writes tests/nn/onnx_resize_ort.h: ONNX Runtime's Resize outputs for every
coordinate_transformation_mode (linear and nearest) and nearest_mode, on
small single-channel images of odd size ratios, which test_onnx_ops.c
compares vigil's reference and XNNPACK kernels with; and (ort_resize_ext_cases,
test_resize_pad.c) cubic interpolation (cubic_coeff_a, exclude_outside),
explicit scales that are not out / in, and tf_crop_and_resize with its roi and
extrapolation_value; and (ort_resize_legacy_cases) Resize-10 and Upsample-9
models with scales, which test_resize_pad.c loads through the ONNX loader.
Rerun only to change the cases:
/usr/bin/python3 tests/oracle/resize_cases.py  (onnx.helper and numpy,
and tests/oracle/node_modules/onnxruntime-node)."""
import os, subprocess, sys, tempfile, json
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
COORDS = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn']
NEAREST = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil']
SIZES = [((5, 7), (3, 4)), ((3, 4), (7, 9)), ((4, 6), (8, 3)), ((3, 3), (1, 2))]


def cases():
    for coord in COORDS:
        yield ('linear', coord, None)
        for nm in NEAREST:
            yield ('nearest', coord, nm)


def run(ih, iw, oh, ow, tmp):
    x = ((np.arange(ih * iw, dtype=np.float32) * 7) % 11 * 0.5 - 1.25).reshape(1, 1, ih, iw)
    nodes, outs = [], []
    sizes = numpy_helper.from_array(np.array([1, 1, oh, ow], dtype=np.int64), 'sizes')
    for k, (mode, coord, nm) in enumerate(cases()):
        attrs = dict(mode=mode, coordinate_transformation_mode=coord)
        if nm:
            attrs['nearest_mode'] = nm
        nodes.append(helper.make_node('Resize', ['x', '', '', 'sizes'], [f'y{k}'], **attrs))
        outs.append(helper.make_tensor_value_info(f'y{k}', TensorProto.FLOAT, [1, 1, oh, ow]))
    g = helper.make_graph(nodes, 'resize', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 1, ih, iw])],
                          outs, [sizes])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
    m.ir_version = 7
    path = os.path.join(tmp, 'm.onnx')
    onnx.save(m, path)
    np.save(os.path.join(tmp, 'x.npy'), x)
    subprocess.run(['node', os.path.join(HERE, 'ort_run.mjs'), path, os.path.join(tmp, 'x.npy'), tmp], check=True)
    return x, [np.load(os.path.join(tmp, f'{k}.npy')) for k in range(len(nodes))]


# The extended cases: (mode, coord, nearest_mode, cubic_coeff_a, exclude_outside).
EXT_MODES = [('cubic', c, None, -0.75, 0) for c in COORDS] + [
    ('cubic', 'half_pixel', None, -0.5, 1), ('cubic', 'align_corners', None, -0.5, 1),
    ('cubic', 'asymmetric', None, -0.6, 1)]
# Explicit scales whose output size (the product, truncated) is not scale * in.
SCALES = [((5, 7), (0.7, 0.6)), ((3, 4), (2.5, 2.3)), ((4, 6), (1.9, 0.55)), ((3, 3), (0.4, 0.8))]
SCALE_MODES = [('linear', c, None, -0.75, 0) for c in COORDS] + \
    [('nearest', c, nm, -0.75, 0) for c in COORDS for nm in NEAREST] + [('cubic', c, None, -0.75, 0) for c in COORDS] + \
    [('cubic', 'half_pixel', None, -0.5, 1)]
# tf_crop_and_resize: (roi h start, w start, h end, w end), sizes, extrapolation_value.
CROPS = [((0.2, 0.1, 0.9, 0.8), (5, 7), (4, 5), 10.0), ((-0.25, 0.3, 1.2, 0.6), (4, 6), (6, 3), -3.5),
         ((0.5, 0.0, 0.5, 1.0), (3, 4), (1, 5), 0.0)]
CROP_MODES = [('linear', 'tf_crop_and_resize', None, -0.75, 0)] + \
    [('nearest', 'tf_crop_and_resize', nm, -0.75, 0) for nm in NEAREST] + \
    [('cubic', 'tf_crop_and_resize', None, -0.75, 0), ('cubic', 'tf_crop_and_resize', None, -0.5, 1)]
MODE_IDS = {'nearest': 0, 'linear': 1, 'cubic': 2}
COORD_IDS = {c: i + 1 for i, c in enumerate(COORDS + ['tf_crop_and_resize'])}  # nn_resize_coord order


def ext_groups():
    """(ih, iw, [(mode tuple, scales or None, sizes or None, roi or None, extrapolation)])"""
    for (ih, iw), (oh, ow) in SIZES:
        yield ih, iw, [(m, None, (oh, ow), None, 0.0) for m in EXT_MODES]
    for (ih, iw), sc in SCALES:
        yield ih, iw, [(m, sc, None, None, 0.0) for m in SCALE_MODES]
    for roi, (ih, iw), (oh, ow), ev in CROPS:
        yield ih, iw, [(m, None, (oh, ow), roi, ev) for m in CROP_MODES]


def run_ext(ih, iw, items, tmp):
    x = ((np.arange(ih * iw, dtype=np.float32) * 7) % 11 * 0.5 - 1.25).reshape(1, 1, ih, iw)
    nodes, outs, inits = [], [], []
    for k, ((mode, coord, nm, a, excl), sc, sz, roi, ev) in enumerate(items):
        attrs = dict(mode=mode, coordinate_transformation_mode=coord)
        if nm:
            attrs['nearest_mode'] = nm
        if mode == 'cubic':
            attrs['cubic_coeff_a'] = a
            attrs['exclude_outside'] = excl
        if roi is not None:
            attrs['extrapolation_value'] = ev
        ins = ['x', '', '', '']
        if roi is not None:
            inits.append(numpy_helper.from_array(np.array([0, 0, roi[0], roi[1], 1, 1, roi[2], roi[3]], dtype=np.float32), f'roi{k}'))
            ins[1] = f'roi{k}'
        if sc is not None:
            inits.append(numpy_helper.from_array(np.array([1, 1, sc[0], sc[1]], dtype=np.float32), f'scales{k}'))
            ins[2] = f'scales{k}'
            ins = ins[:3]
        else:
            inits.append(numpy_helper.from_array(np.array([1, 1, sz[0], sz[1]], dtype=np.int64), f'sizes{k}'))
            ins[3] = f'sizes{k}'
        nodes.append(helper.make_node('Resize', ins, [f'y{k}'], **attrs))
        outs.append(helper.make_tensor_value_info(f'y{k}', TensorProto.FLOAT, None))
    g = helper.make_graph(nodes, 'resize', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 1, ih, iw])],
                          outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
    m.ir_version = 7
    path = os.path.join(tmp, 'm.onnx')
    onnx.save(m, path)
    np.save(os.path.join(tmp, 'x.npy'), x)
    subprocess.run(['node', os.path.join(HERE, 'ort_run.mjs'), path, os.path.join(tmp, 'x.npy'), tmp], check=True)
    return x, [np.load(os.path.join(tmp, f'{k}.npy')) for k in range(len(nodes))]


def ext_table(out, tmp):
    out += ['', '/* mode: 0 nearest, 1 linear, 2 cubic; scale_*: the given scales (0 with sizes); roi: h0, w0, h1, w1. */',
            'typedef struct ort_resize_ext_case {', '\tint mode, coord, nearest, ih, iw, oh, ow;',
            '\tfloat scale_h, scale_w, cubic_a;', '\tint exclude_outside;', '\tfloat roi[4], extrapolation;',
            '\tconst float *x, *y;', '} ort_resize_ext_case;', '']
    table = []
    nearest_ids = {n: i + 1 for i, n in enumerate(NEAREST)}
    f = lambda v: f'{float(v)!r}f'
    for s, (ih, iw, items) in enumerate(ext_groups()):
        x, ys = run_ext(ih, iw, items, tmp)
        out.append(f'static const float ort_ex{s}[] = {{ ' + ', '.join(f(v) for v in x.ravel()) + ' };')
        for k, ((mode, coord, nm, a, excl), sc, sz, roi, ev) in enumerate(items):
            y = ys[k]
            oh, ow = y.shape[2], y.shape[3]
            out.append(f'static const float ort_ey{s}_{k}[] = {{ ' + ', '.join(f(v) for v in y.ravel()) + ' };')
            sh, sw = sc if sc is not None else (0, 0)
            r = roi if roi is not None else (0, 0, 1, 1)
            table.append(f'\t{{ {MODE_IDS[mode]}, {COORD_IDS[coord]}, {nearest_ids.get(nm, 0)}, {ih}, {iw}, {oh}, {ow}, '
                         f'{f(sh)}, {f(sw)}, {f(a)}, {excl}, {{ {", ".join(f(v) for v in r)} }}, {f(ev)}, ort_ex{s}, ort_ey{s}_{k} }}, '
                         f'/* {mode} {coord} {nm or ""} */')
    out.append('')
    out.append('static const ort_resize_ext_case ort_resize_ext_cases[] = {')
    out += table
    out.append('};')


# Resize-10 / Upsample-9 with scales: (op, opset, mode, (ih, iw), (scale_h, scale_w)).
LEGACY = [('Resize', 10, 'nearest', (5, 7), (0.6, 0.7)), ('Resize', 10, 'nearest', (5, 7), (1.5, 2.3)),
          ('Resize', 10, 'nearest', (5, 7), (1.0, 0.5)), ('Resize', 10, 'linear', (5, 7), (0.6, 0.7)),
          ('Resize', 10, 'linear', (4, 6), (1.5, 2.3)), ('Upsample', 9, 'nearest', (3, 4), (1.5, 2.3)),
          ('Upsample', 9, 'linear', (3, 4), (2.0, 3.0)), ('Upsample', 9, 'nearest', (3, 4), (1.0, 2.0))]


def legacy_table(out, tmp):
    out += ['', '/* op: 0 Resize, 1 Upsample; mode: 0 nearest, 1 linear. */', 'typedef struct ort_resize_legacy_case {',
            '\tint op, opset, mode, ih, iw, oh, ow;', '\tfloat scale_h, scale_w;', '\tconst float *x, *y;',
            '} ort_resize_legacy_case;', '']
    table = []
    f = lambda v: f'{float(v)!r}f'
    for k, (op, opset, mode, (ih, iw), (sh, sw)) in enumerate(LEGACY):
        x = ((np.arange(ih * iw, dtype=np.float32) * 7) % 11 * 0.5 - 1.25).reshape(1, 1, ih, iw)
        sc = numpy_helper.from_array(np.array([1, 1, sh, sw], dtype=np.float32), 'scales')
        g = helper.make_graph([helper.make_node(op, ['x', 'scales'], ['y'], mode=mode)], 'legacy',
                              [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 1, ih, iw])],
                              [helper.make_tensor_value_info('y', TensorProto.FLOAT, None)], [sc])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid('', opset)])
        m.ir_version = 7
        path = os.path.join(tmp, 'm.onnx')
        onnx.save(m, path)
        np.save(os.path.join(tmp, 'x.npy'), x)
        subprocess.run(['node', os.path.join(HERE, 'ort_run.mjs'), path, os.path.join(tmp, 'x.npy'), tmp], check=True)
        y = np.load(os.path.join(tmp, '0.npy'))
        out.append(f'static const float ort_lx{k}[] = {{ ' + ', '.join(f(v) for v in x.ravel()) + ' };')
        out.append(f'static const float ort_ly{k}[] = {{ ' + ', '.join(f(v) for v in y.ravel()) + ' };')
        table.append(f'\t{{ {int(op == "Upsample")}, {opset}, {int(mode == "linear")}, {ih}, {iw}, {y.shape[2]}, {y.shape[3]}, '
                     f'{f(sh)}, {f(sw)}, ort_lx{k}, ort_ly{k} }},')
    out += ['', 'static const ort_resize_legacy_case ort_resize_legacy_cases[] = {'] + table + ['};']


def main():
    out = ['/* Generated by tests/oracle/resize_cases.py from ONNX Runtime 1.20.1 (onnxruntime-node): do not edit. */',
           'typedef struct ort_resize_case {', '\tint linear, coord, nearest, ih, iw, oh, ow;',
           '\tconst float *x, *y;', '} ort_resize_case;', '']
    table = []
    coord_ids = {c: i + 1 for i, c in enumerate(COORDS)}  # nn_resize_coord order
    nearest_ids = {n: i + 1 for i, n in enumerate(NEAREST)}  # nn_resize_nearest order
    with tempfile.TemporaryDirectory() as tmp:
        for s, ((ih, iw), (oh, ow)) in enumerate(SIZES):
            x, ys = run(ih, iw, oh, ow, tmp)
            out.append(f'static const float ort_x{s}[] = {{ ' + ', '.join(f'{float(v)!r}f' for v in x.ravel()) + ' };')
            for k, (mode, coord, nm) in enumerate(cases()):
                out.append(f'static const float ort_y{s}_{k}[] = {{ ' + ', '.join(f'{float(v)!r}f' for v in ys[k].ravel()) + ' };')
                table.append(f'\t{{ {int(mode == "linear")}, {coord_ids[coord]}, {nearest_ids.get(nm, 0)}, {ih}, {iw}, {oh}, {ow}, ort_x{s}, ort_y{s}_{k} }}, /* {mode} {coord} {nm or ""} */')
    out.append('')
    out.append('static const ort_resize_case ort_resize_cases[] = {')
    out += table
    out.append('};')
    with tempfile.TemporaryDirectory() as tmp:
        ext_table(out, tmp)
        legacy_table(out, tmp)
    with open(os.path.join(HERE, '..', 'nn', 'onnx_resize_ort.h'), 'w') as f:
        f.write('\n'.join(out) + '\n')


if __name__ == '__main__':
    main()

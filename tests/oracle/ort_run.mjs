#!/usr/bin/env node
// Runs an ONNX model with ONNX Runtime (npm onnxruntime-node, CPU, one
// thread): the independent executor vigil's SavedModel loader is compared
// with on the same network's ONNX original
// (tests/integration/test_savedmodel_oracle.py).
//
// usage: ort_run.mjs MODEL.onnx INPUT.npy OUTDIR [NAME=INPUT.npy ...]
// The first INPUT.npy feeds the model's first input; NAME=FILE feeds the
// input NAME. Inputs are little-endian float32 .npy files in C order. Writes
// every output as OUTDIR/<index>.npy (float32; integer and bool outputs
// converted, exact below 2^24) and OUTDIR/outputs.json: [{name, shape, dtype}]
// with the output's own dtype, in the model's output order.
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';

function usage(msg) {
  if (msg) process.stderr.write(`ort_run: ${msg}\n`);
  process.stderr.write('usage: ort_run.mjs MODEL.onnx INPUT.npy OUTDIR [NAME=INPUT.npy ...]\n');
  process.exit(2);
}

// A float32 .npy file (format 1.0-3.0, '<f4', C order) as {shape, data}.
function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.length < 10 || b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + hlen;
  const header = b.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || descr[1] !== '<f4') throw new Error(`${file}: dtype ${descr && descr[1]}, expected <f4`);
  if (!fortran || fortran[1] !== 'False') throw new Error(`${file}: Fortran order is not read`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const n = dims.reduce((a, c) => a * c, 1);
  if (b.length - start !== n * 4) throw new Error(`${file}: ${b.length - start} data bytes, expected ${n * 4}`);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = b.readFloatLE(start + 4 * i);
  return { shape: dims, data };
}

function writeNpy(file, shape, data) {
  const sh = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${sh}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const h = Buffer.alloc(10);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1;
  h[7] = 0;
  h.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(data.length * 4);
  for (let i = 0; i < data.length; i++) body.writeFloatLE(data[i], 4 * i);
  fs.writeFileSync(file, Buffer.concat([h, Buffer.from(header, 'latin1'), body]));
}

const args = process.argv.slice(2);
if (args.length < 3) usage();
const [model, first, outdir] = args;
try {
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all',
  });
  const feeds = {};
  const put = (name, file) => {
    const { shape, data } = readNpy(file);
    feeds[name] = new ort.Tensor('float32', data, shape);
  };
  put(session.inputNames[0], first);
  for (const a of args.slice(3)) {
    const eq = a.indexOf('=');
    if (eq <= 0) usage(`not NAME=FILE: ${a}`);
    put(a.slice(0, eq), a.slice(eq + 1));
  }
  const results = await session.run(feeds);
  fs.mkdirSync(outdir, { recursive: true });
  const meta = [];
  session.outputNames.forEach((name, i) => {
    const t = results[name];
    // Integer outputs (NonMaxSuppression's int64 indices) go out as float32 too: exact below 2^24.
    const ints = ['int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];
    if (t.type !== 'float32' && !ints.includes(t.type)) throw new Error(`output ${name} is ${t.type}; not written`);
    const data = t.type === 'float32' ? t.data : Float32Array.from(t.data, Number);
    writeNpy(path.join(outdir, `${i}.npy`), t.dims, data);
    meta.push({ name, shape: Array.from(t.dims), dtype: t.type });
  });
  fs.writeFileSync(path.join(outdir, 'outputs.json'), JSON.stringify(meta));
} catch (e) {
  process.stderr.write(`ort_run: ${e.message || e}\n`);
  process.exit(1);
}

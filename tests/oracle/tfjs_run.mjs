#!/usr/bin/env node
// Runs a TensorFlow.js graph model with TensorFlow.js itself: the independent
// executor vigil's TensorFlow.js loader and kernels are compared with
// (tests/integration/test_tfjs_oracle.py). Offline: model.json and its shards
// are read from disk.
//
// usage: tfjs_run.mjs MODEL_JSON INPUT.bin OUTDIR [--backend cpu|wasm]
// Feeds INPUT.bin as float32 in the model's input shape, runs executeAsync,
// and writes output i as OUTDIR/i.bin (raw little-endian values of the
// output's dtype; float32 for every model here) in vigil's order (signature
// outputs sorted by name), plus OUTDIR/outputs.json: [{name, shape, dtype}].
import fs from 'node:fs';
import path from 'node:path';
import { loadModel, run, useBackend } from './tfjs_common.mjs';

function usage(msg) {
  if (msg) process.stderr.write(`tfjs_run: ${msg}\n`);
  process.stderr.write('usage: tfjs_run.mjs MODEL_JSON INPUT.bin OUTDIR [--backend cpu|wasm]\n');
  process.exit(2);
}

const args = process.argv.slice(2);
let backend = 'cpu';
const pos = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--backend' && i + 1 < args.length) backend = args[++i];
  else if (args[i].startsWith('--backend=')) backend = args[i].slice(10);
  else if (args[i].startsWith('--')) usage(`unknown option ${args[i]}`);
  else pos.push(args[i]);
}
if (pos.length !== 3) usage();
const [modelJson, inputPath, outdir] = pos;

try {
  await useBackend(backend);
  const loaded = await loadModel(modelJson);
  const want = loaded.input.shape.reduce((a, b) => a * b, 1);
  const bytes = fs.readFileSync(inputPath);
  if (bytes.length !== want * 4) {
    throw new Error(`${inputPath}: ${bytes.length} bytes, expected ${want * 4} (float32 [${loaded.input.shape}])`);
  }
  const data = new Float32Array(want);
  new Uint8Array(data.buffer).set(bytes);
  const outs = await run(loaded, data);
  fs.mkdirSync(outdir, { recursive: true });
  const desc = [];
  for (let i = 0; i < outs.length; i++) {
    const t = outs[i];
    const values = await t.data();
    const raw = t.dtype === 'bool' ? Uint8Array.from(values) : values;
    fs.writeFileSync(path.join(outdir, `${i}.bin`), Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
    desc.push({ name: loaded.outputs[i].name, shape: t.shape, dtype: t.dtype === 'bool' ? 'uint8' : t.dtype });
    t.dispose();
  }
  fs.writeFileSync(path.join(outdir, 'outputs.json'), JSON.stringify(desc));
  for (const [i, d] of desc.entries()) console.log(`${i}\t${d.name}\t${d.dtype}\t${d.shape.join(',')}`);
} catch (e) {
  process.stderr.write(`tfjs_run: ${modelJson}: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
}

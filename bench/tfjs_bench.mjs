#!/usr/bin/env node
// Inference latency of a TensorFlow.js graph model in TensorFlow.js itself
// (Node, cpu or wasm backend): the peer vigil's engine is measured against in
// bench/tfjs.sh. Times model.executeAsync plus reading the outputs back (the
// outputs must exist as numbers, as vigil's do after nn_model_run), after a
// warm-up. The input is the one `vigil bench` uses (the same xorshift
// sequence), unless --input gives raw float32 bytes.
//
// usage: tfjs_bench.mjs MODEL_JSON [--backend cpu|wasm] [--threads N] [--runs N] [--warmup N] [--input FILE]
// Prints one line: "tfjs MODEL: backend B, threads T, N runs after W warm-up: min X ms  p50 X ms  p90 X ms  mean X ms"
import fs from 'node:fs';
import { loadModel, run, useBackend } from '../tests/oracle/tfjs_common.mjs';
import { benchInput } from './bench_input.mjs';

const args = process.argv.slice(2);
const opt = { backend: 'wasm', threads: 0, runs: 20, warmup: 3, input: null };
let model = null;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const val = () => {
    if (i + 1 >= args.length) throw new Error(`${a} needs a value`);
    return args[++i];
  };
  if (a === '--backend') opt.backend = val();
  else if (a === '--threads') opt.threads = Number(val());
  else if (a === '--runs') opt.runs = Number(val());
  else if (a === '--warmup') opt.warmup = Number(val());
  else if (a === '--input') opt.input = val();
  else if (!a.startsWith('--') && !model) model = a;
  else {
    process.stderr.write(`tfjs_bench: unexpected argument ${a}\n`);
    process.exit(2);
  }
}
if (!model || !(opt.runs >= 1)) {
  process.stderr.write('usage: tfjs_bench.mjs MODEL_JSON [--backend cpu|wasm] [--threads N] [--runs N] [--warmup N] [--input FILE]\n');
  process.exit(2);
}


try {
  const be = await useBackend(opt.backend, { threads: opt.threads });
  const loaded = await loadModel(model);
  const n = loaded.input.shape.reduce((a, b) => a * b, 1);
  let data;
  if (opt.input) {
    const bytes = fs.readFileSync(opt.input);
    if (bytes.length !== n * 4) throw new Error(`${opt.input}: ${bytes.length} bytes, expected ${n * 4}`);
    data = new Float32Array(n);
    new Uint8Array(data.buffer).set(bytes);
  } else {
    data = benchInput(n);
  }
  const once = async () => {
    const outs = await run(loaded, data);
    for (const t of outs) {
      await t.data();
      t.dispose();
    }
  };
  for (let i = 0; i < opt.warmup; i++) await once();
  const lat = [];
  for (let i = 0; i < opt.runs; i++) {
    const t0 = process.hrtime.bigint();
    await once();
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const sorted = [...lat].sort((a, b) => a - b);
  const mean = lat.reduce((a, b) => a + b, 0) / lat.length;
  const f = (x) => x.toFixed(3);
  console.log(`tfjs ${model}: backend ${be.backend}${be.simd ? ' (simd)' : ''}, threads ${be.threads}, ` +
    `${opt.runs} runs after ${opt.warmup} warm-up: min ${f(sorted[0])} ms  ` +
    `p50 ${f(sorted[Math.floor(opt.runs / 2)])} ms  p90 ${f(sorted[Math.floor((opt.runs * 9) / 10)])} ms  mean ${f(mean)} ms`);
} catch (e) {
  process.stderr.write(`tfjs_bench: ${model}: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
}

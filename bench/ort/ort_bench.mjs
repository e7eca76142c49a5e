#!/usr/bin/env node
// ONNX Runtime's latency on an ONNX model (npm onnxruntime-node from
// bench/ort, CPU, one intra-op and one inter-op thread, every graph
// optimisation on): the peer of vigil's engine in bench/onnx_ort.py.
//
// usage: bench/ort/ort_bench.mjs MODEL.onnx [--size WxH]
// The session stays loaded; each line "RUN N W" on standard input times N
// runs after W warm-up runs and answers one line
// "min X ms  p50 X ms  p90 X ms  mean X ms". Every float input gets vigil
// bench's fixed input (bench/bench_input.mjs) in
// the input's own layout; dimensions the model leaves unknown take 1 for the
// batch and the --size for height and width (last two dimensions).
import readline from 'node:readline';
import ort from 'onnxruntime-node';
import { benchInput } from '../bench_input.mjs';

const args = process.argv.slice(2);
let model = null;
let size = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--size' && i + 1 < args.length) {
    const m = /^(\d+)x(\d+)$/.exec(args[++i]);
    if (!m) throw new Error(`--size wants WxH, not ${args[i]}`);
    size = { w: Number(m[1]), h: Number(m[2]) };
  } else if (!model) model = args[i];
  else {
    process.stderr.write('usage: ort_bench.mjs MODEL.onnx [--size WxH]\n');
    process.exit(2);
  }
}


const session = await ort.InferenceSession.create(model, {
  executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all',
  // Older exports list their initializers as graph inputs too, and ORT warns once per initializer.
  logSeverityLevel: 3,
});
const feeds = {};
for (const meta of session.inputMetadata) {
  if (meta.type !== 'float32') throw new Error(`input ${meta.name} is ${meta.type}; only float32 inputs are fed`);
  const shape = meta.shape.map((d, i, all) => {
    if (typeof d === 'number' && d > 0) return d;
    if (i === 0) return 1;
    if (!size) throw new Error(`input ${meta.name} dimension ${i} is unknown: give --size WxH`);
    return i === all.length - 1 ? size.w : size.h;
  });
  feeds[meta.name] = new ort.Tensor('float32', benchInput(shape.reduce((a, b) => a * b, 1)), shape);
}

const rl = readline.createInterface({ input: process.stdin });
process.stdout.write('ready\n');
for await (const line of rl) {
  const m = /^RUN (\d+) (\d+)$/.exec(line.trim());
  if (!m) continue;
  const runs = Number(m[1]);
  for (let i = 0; i < Number(m[2]); i++) await session.run(feeds);
  const lat = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    lat.push(performance.now() - t0);
  }
  lat.sort((a, b) => a - b);
  const mean = lat.reduce((a, b) => a + b, 0) / lat.length;
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))];
  process.stdout.write(`min ${lat[0].toFixed(3)} ms  p50 ${q(0.5).toFixed(3)} ms  p90 ${q(0.9).toFixed(3)} ms  mean ${mean.toFixed(3)} ms\n`);
}

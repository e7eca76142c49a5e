#!/usr/bin/env node
// Runs a TensorFlow.js layers model (model.json + weights.bin, as
// keras_to_tfjs.py writes them from a Keras HDF5 file) with TensorFlow.js's
// Layers API on its plain-JavaScript cpu backend: the independent executor
// vigil's Keras loader is compared with (tests/integration/test_keras_oracle.py).
//
// usage: tfjs_layers_run.mjs MODEL_JSON OUTDIR INPUT.bin...
// Each INPUT.bin is one float32 input in the model's input shape (batch 1);
// all are run as one batch. Writes OUTDIR/i.bin per output (raw little-endian
// float32, all inputs' rows one after the other) and OUTDIR/outputs.json:
// [{name, shape, dtype}].
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs-core');
const layers = require('@tensorflow/tfjs-layers');
require('@tensorflow/tfjs-backend-cpu');
tf.env().set('IS_TEST', true);

// An IOHandler reading the two files from disk (no HTTP, no file:// fetch).
function fileHandler(modelJson) {
  return {
    async load() {
      const json = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
      const buffers = [];
      const specs = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(fs.readFileSync(path.join(path.dirname(modelJson), p)));
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

const args = process.argv.slice(2);
if (args.length < 3) {
  process.stderr.write('usage: tfjs_layers_run.mjs MODEL_JSON OUTDIR INPUT.bin...\n');
  process.exit(2);
}
const [modelJson, outdir, ...inputs] = args;
try {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  await tf.ready();
  const model = await layers.loadLayersModel(fileHandler(modelJson), { strict: true });
  if (model.inputs.length !== 1) throw new Error(`${model.inputs.length} inputs; this runner feeds one`);
  const shape = model.inputs[0].shape.map((d) => (d === null ? 1 : d));
  const per = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(per * inputs.length);
  inputs.forEach((p, i) => {
    const bytes = fs.readFileSync(p);
    if (bytes.length !== per * 4) throw new Error(`${p}: ${bytes.length} bytes, expected ${per * 4} ([${shape}])`);
    new Uint8Array(data.buffer, i * per * 4, per * 4).set(bytes);
  });
  const x = tf.tensor(data, [inputs.length, ...shape.slice(1)], 'float32');
  let outs = model.predict(x);
  if (!Array.isArray(outs)) outs = [outs];
  fs.mkdirSync(outdir, { recursive: true });
  const desc = [];
  for (let i = 0; i < outs.length; i++) {
    const v = await outs[i].data();
    fs.writeFileSync(path.join(outdir, `${i}.bin`), Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    desc.push({ name: model.outputNames ? model.outputNames[i] : model.outputs[i].name, shape: outs[i].shape,
                dtype: 'float32' });
  }
  fs.writeFileSync(path.join(outdir, 'outputs.json'), JSON.stringify(desc));
  for (const [i, d] of desc.entries()) console.log(`${i}\t${d.name}\t${d.dtype}\t${d.shape.join(',')}`);
} catch (e) {
  process.stderr.write(`tfjs_layers_run: ${modelJson}: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
}

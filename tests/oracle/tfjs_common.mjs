// TensorFlow.js in Node, shared by tfjs_run.mjs (the test oracle) and
// bench/tfjs_bench.mjs: picks a backend and loads a graph model (model.json
// and its weight shards) from the local file system, without HTTP.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

// The packages are CommonJS builds for Node; require them from this folder so
// that scripts elsewhere (bench/) find tests/oracle/node_modules.
const require = createRequire(import.meta.url);
export const tf = require('@tensorflow/tfjs-core');
const converter = require('@tensorflow/tfjs-converter');
require('@tensorflow/tfjs-backend-cpu');

// TensorFlow.js logs a hint to install tfjs-node on its first use in Node;
// it is noise here, where the pure-JS and WebAssembly backends are the point.
tf.env().set('IS_TEST', true);

let wasm = null;

// Selects 'cpu' (plain JavaScript) or 'wasm' (XNNPACK compiled to
// WebAssembly; threads: a count, or 0 for the backend's default).
export async function useBackend(name, { threads = 0 } = {}) {
  if (name === 'wasm') {
    if (!wasm) {
      wasm = require('@tensorflow/tfjs-backend-wasm');
      // The .wasm binaries ship inside the package; point the loader at them.
      const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      wasm.setWasmPaths(dist + path.sep);
    }
    if (threads > 0) wasm.setThreadsCount(threads);
  } else if (name !== 'cpu') {
    throw new Error(`unknown backend '${name}' (cpu or wasm)`);
  }
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
  return {
    backend: tf.getBackend(),
    threads: name === 'wasm' ? wasm.getThreadsCount() : 1,
    simd: name === 'wasm' ? await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') : false,
  };
}

// An IOHandler that reads model.json and its weight shards from disk.
function fileHandler(modelJson) {
  return {
    async load() {
      const json = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
      const dir = path.dirname(modelJson);
      const specs = [];
      const buffers = [];
      for (const group of json.weightsManifest || []) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
        modelInitializer: json.modelInitializer,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

// Loads the graph model and describes its input and outputs. Outputs are in
// the order vigil's engine gives them: the signature's outputs sorted by name
// (byte order, as strcmp). Without a signature: the model's own outputs.
export async function loadModel(modelJson) {
  const model = await converter.loadGraphModel(fileHandler(modelJson));
  const json = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  const sig = json.signature || {};
  let outputs;
  if (sig.outputs && Object.keys(sig.outputs).length) {
    outputs = Object.entries(sig.outputs).map(([key, o]) => ({
      key,
      name: o.name || key,
      shape: ((o.tensorShape || {}).dim || []).map((d) => Number(d.size)),
    }));
  } else {
    outputs = model.outputs.map((o) => ({ key: o.name, name: o.name, shape: o.shape }));
  }
  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  outputs.sort((a, b) => cmp(Buffer.from(a.name), Buffer.from(b.name)) || cmp(a.key, b.key));
  const input = model.inputs[0];
  const shape = input.shape.map((d) => (d == null || d < 0 ? 1 : d));
  return { model, input: { name: input.name, shape, dtype: input.dtype }, outputs };
}

// executeAsync warns, on every call, that a model without control flow could
// use execute(); these scripts use executeAsync on purpose (TopKV2 and
// friends may need it), so that one message is dropped.
const warn = console.warn;
console.warn = (...a) => {
  if (typeof a[0] === 'string' && a[0].includes('You can use model.execute() instead')) return;
  warn(...a);
};

// Runs the model on one float32 input; returns the output tensors in
// loadModel's order (the caller disposes them).
export async function run(loaded, data) {
  const x = tf.tensor(data, loaded.input.shape, 'float32');
  try {
    const names = loaded.outputs.map((o) => o.name);
    const out = await loaded.model.executeAsync(x, names);
    return Array.isArray(out) ? out : [out];
  } finally {
    x.dispose();
  }
}

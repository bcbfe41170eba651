// bench/hybrid-ref.mjs - reference outputs of real TFLite (LiteRT compiled
// to WebAssembly, npm @litertjs/core) for the hybrid models, on
// deterministic inputs; writes input_NN.bin / expected_NN.bin (raw
// little-endian float32) as tests/data/hybrid/ holds them.  Not run in CI.
//
// LiteRT's CPU path applies XNNPACK, which takes over fully connected
// layers and 1x1 convolutions with dynamic-range weights and quantizes
// their inputs per row asymmetrically (its qd8 kernels); the other hybrid
// layers run TFLite's own kernels.  @litertjs/core 2.5.3 offers no option
// to turn XNNPACK off (CompileOptions: accelerator, cpuOptions.numThreads).
// bench/hybrid-check compares these outputs with the runtime.
//
// usage (in a scratch directory, never in the repository):
//   npm install @litertjs/core
//   node /path/to/bench/hybrid-ref.mjs MODEL.tflite OUTDIR N
import { loadLiteRt, loadAndCompile, Tensor } from '@litertjs/core';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// LiteRT.js loads its Emscripten glue as a browser script or with a
// worker's importScripts: give Node the worker's way, and the CommonJS
// names the glue expects.
const wasmDir = path.resolve('node_modules/@litertjs/core/wasm');
globalThis.require = createRequire(import.meta.url);
globalThis.__dirname = wasmDir;
globalThis.__filename = wasmDir + '/glue.js';
globalThis.self = globalThis;
globalThis.importScripts = (u) => {
  const f = String(u).startsWith('file:') ? fileURLToPath(String(u)) : String(u);
  vm.runInThisContext(fs.readFileSync(f, 'utf8'), { filename: f });
};

const [model, outdir, nin] = process.argv.slice(2);
await loadLiteRt(wasmDir + '/');
const m = await loadAndCompile(new Uint8Array(fs.readFileSync(model)),
  { accelerator: 'wasm' });
const det = m.getInputDetails()[0];
const shape = Array.from(det.shape);
const n = shape.reduce((a, b) => a * b, 1);
let s = 12345 >>> 0;
// A 32-bit LCG: the same inputs on every run.
function rnd() {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  return (s >>> 8) / 16777216;
}
fs.mkdirSync(outdir, { recursive: true });
for (let v = 0; v < Number(nin); v++) {
  // four input ranges in turn: unit, wide with an offset, tiny, negative
  const amp = [1, 8, 0.05, 30][v % 4];
  const off = [0, -2, 0.01, -20][v % 4];
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = off + amp * (2 * rnd() - 1);
  const t = new Tensor(x, shape);
  const outs = await m.run([t]);
  const o = await outs[0].moveTo('wasm');
  const y = new Float32Array(o.toTypedArray());
  const nn = String(v).padStart(2, '0');
  fs.writeFileSync(`${outdir}/input_${nn}.bin`, Buffer.from(x.buffer));
  fs.writeFileSync(`${outdir}/expected_${nn}.bin`, Buffer.from(y.buffer));
  t.delete();
  o.delete();
}
console.log(`${model}: ${nin} vectors in ${outdir}`);

// tflite-check.mjs - run a .tflite model in LiteRT.js (Google's TFLite
// runtime compiled to WebAssembly, npm package @litertjs/core) under Node
// and print each output as hex, one line per input file: the independent
// reader tools/tflite-check.sh compares tinyedge's runtime against.
//
//   node tflite-check.mjs CACHE MODEL INPUT...
//
// CACHE holds node_modules/@litertjs/core.  The package is made for
// browsers, so two things are supplied here: importScripts() (its loader
// runs the Wasm glue script through it, here with vm, with the require
// and __dirname the glue expects under Node) and, because its
// JavaScript type table lists no int8 although the Wasm runtime has int8
// tensors, a copy of its entry module with the int8 <-> Int8Array mapping
// added.  The runtime itself (the .wasm) is used as shipped.
import {existsSync, readFileSync, writeFileSync} from 'fs';
import {createRequire} from 'module';
import {join} from 'path';
import {fileURLToPath, pathToFileURL} from 'url';
import vm from 'vm';

const [cache, model, ...inputs] = process.argv.slice(2);
if (!cache || !model || inputs.length === 0) {
  console.error('usage: tflite-check.mjs CACHE MODEL INPUT...');
  process.exit(2);
}
const core = join(cache, 'node_modules', '@litertjs', 'core');
const wasm = join(core, 'wasm') + '/';

// The entry module with int8 added (rewritten when the package changes).
const entry = join(cache, 'litert-int8.mjs');
const src = readFileSync(join(core, 'dist', 'index.js'), 'utf8');
const anchor = 'var DATATYPES = Object.freeze([';
if (!src.includes(anchor)) {
  console.error('tflite-check: unexpected @litertjs/core layout');
  process.exit(1);
}
const patched = src.replace(anchor, anchor +
  '\n  {dtype: "int8", typedArrayConstructor: Int8Array,' +
  ' elementType: ElementType.INT8},');
if (!existsSync(entry) || readFileSync(entry, 'utf8') !== patched)
  writeFileSync(entry, patched);

globalThis.self = globalThis;
globalThis.require = createRequire(join(cache, 'package.json'));
globalThis.__dirname = wasm;	// where the Wasm glue looks for its .wasm
globalThis.importScripts = (url) => {
  const f = url.startsWith('file:') ? fileURLToPath(url) : url;
  vm.runInThisContext(readFileSync(f, 'utf8'), {filename: f});
};
const {loadLiteRt, loadAndCompile, Tensor} =
  await import(pathToFileURL(entry).href);

await loadLiteRt(pathToFileURL(wasm).href);
const m = await loadAndCompile(new Uint8Array(readFileSync(model)),
  {accelerator: 'wasm'});
const details = m.getInputDetails();
if (details.length !== 1) {
  console.error('tflite-check: models with one input only');
  process.exit(1);
}
const types = {int8: Int8Array, uint8: Uint8Array, int32: Int32Array,
  float32: Float32Array};
const T = types[details[0].dtype];
for (const f of inputs) {
  const bytes = readFileSync(f);
  const x = new T(bytes.buffer.slice(bytes.byteOffset,
    bytes.byteOffset + bytes.length));
  const t = new Tensor(x, Array.from(details[0].shape));
  const out = await m.run(t);
  const y = out[0].toTypedArray();
  console.log(Buffer.from(y.buffer, y.byteOffset, y.byteLength)
    .toString('hex'));
  t.delete();
  for (const o of out)
    o.delete();
}
process.exit(0);

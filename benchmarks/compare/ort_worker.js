// The ONNX Runtime engine of the comparison harness (same line protocol as ppghr_worker.cpp),
// through the onnxruntime-node package's native binding, called synchronously (the package's
// public run() is that same call behind a Promise and setImmediate). One intra-op and one
// inter-op thread, sequential execution, all graph optimisations.
//   node ort_worker.js NODE_MODULES_DIR
// Besides the networks, "load trivial_<n> DIR" loads DIR/trivial_<n>.onnx (y = x + 1 on the same
// input shape); its time is the binding's per-call overhead, which compare.py subtracts.
'use strict';
const path = require('path');
const fs = require('fs');
const readline = require('readline');

const modules = process.argv[2];
const ort = require(path.join(modules, 'onnxruntime-node'));
const { binding, initOrt } = require(path.join(modules, 'onnxruntime-node', 'dist', 'binding'));
initOrt();

const options = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};
const nets = new Map();

function readF32(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function inputShape(name, n) {
  if (name.startsWith('pulse') || n === 1024) return [1, 4, 256];
  return [1, 1, 200];
}

function handle(line) {
  const [cmd, name, arg] = line.trim().split(/\s+/);
  if (cmd === 'rss') {  // VmHWM / VmRSS: ru_maxrss would include the forked driver's size
    const st = fs.readFileSync('/proc/self/status', 'utf8');
    const kb = (k) => Number((st.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [0, -1])[1]);
    return `rss ${kb('VmHWM')} ${kb('VmRSS')}`;
  }
  if (cmd === 'load') {
    try {
      const s = new binding.InferenceSession();
      s.loadModel(path.join(arg, `${name}.onnx`), options);
      let data;
      if (name.startsWith('trivial_')) data = new Float32Array(Number(name.slice(8)));
      else data = readF32(path.join(arg, `${name}.input.f32`));
      const x = new ort.Tensor('float32', data, inputShape(name, data.length));
      const inName = s.inputMetadata[0].name;
      const outName = s.outputMetadata[0].name;
      const feeds = { [inName]: x };
      const fetches = { [outName]: null };
      s.run(feeds, fetches, {});
      nets.set(name, { s, feeds, fetches, outName });
      return 'ok';
    } catch (e) {
      return `err ${String(e.message).split('\n')[0]}`;
    }
  }
  const n = nets.get(name);
  if (!n) return `err not loaded ${name}`;
  if (cmd === 'out') {
    const y = n.s.run(n.feeds, n.fetches, {})[n.outName];
    return 'out ' + Array.from(y.data, (v) => v.toPrecision(9)).join(' ');
  }
  if (cmd === 'time') {
    const inner = Number(arg) || 1;
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inner; ++i) n.s.run(n.feeds, n.fetches, {});
    const t1 = process.hrtime.bigint();
    const c = process.cpuUsage(c0);  // the whole process (ORT runs in this thread: 1 intra-op thread)
    return `ns ${Number(t1 - t0) / inner} ${((c.user + c.system) * 1000) / inner}`;
  }
  return `err unknown command ${cmd}`;
}

const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on('line', (line) => {
  if (line.trim() === 'quit') {
    rl.close();
    process.exit(0);
  }
  process.stdout.write(handle(line) + '\n');
});

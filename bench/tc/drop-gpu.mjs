// Standalone (npm `webgpu` only): does dawn.node survive the garbage collection of the object that
// `create()` returned while a device made from it is still in use? Found while writing attn-sgmat.mjs:
// with the GPU object dropped, one full GC during a submit loop aborts the process with
// "std::system_error: Invalid argument" or segfaults (SwiftShader, a plain f32 kernel, 2026-12-01:
// drop 3 of 3 crashed, hold 3 of 3 clean; holding only the adapter does not help). The same signature
// as issue 14's subgroup-matrix probe, though that probe keeps its GPU object in a module-level const.
//   node --expose-gc drop-gpu.mjs drop|hold
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const hold = process.argv[2] === 'hold';
let kept = null;
async function getDevice() {
  const gpu = create(['enable-dawn-features=allow_unsafe_apis']);
  if (hold) kept = gpu;
  const adapter = await gpu.requestAdapter();
  return adapter.requestDevice(); // `gpu` is unreachable from here on unless kept
}
const device = await getDevice();
const buf = device.createBuffer({ size: 1 << 16, usage: GPUBufferUsage.STORAGE });
const code = `@group(0) @binding(0) var<storage, read_write> b: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) i: vec3<u32>) { b[i.x] = b[i.x] + 1.0; }`;
const pipe = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
const bind = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
for (let s = 0; s < 20; s++) {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipe);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(256);
  pass.end();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  if (s === 5) {
    globalThis.gc(); // one full collection
    process.stderr.write('full gc done\n');
  }
}
console.log(`clean (GPU object ${kept ? 'kept' : 'dropped'})`);
process.exit(0);

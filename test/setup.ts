/*
 * Runs in every test process before the test file. On a machine with no GPU
 * (a CI box), it points Dawn's Vulkan loader at SwiftShader, the CPU Vulkan that
 * Debian's `chromium` package ships, so the WebGPU tests run everywhere. A driver
 * named in the environment, or a GPU device node (a real GPU), is left alone.
 * Mesa's ICD files alone do not count: CI installs Mesa for Deno's lavapipe,
 * which Dawn rejects, and its hardware ICDs have no hardware behind them there.
 */
import { existsSync, readdirSync } from 'node:fs';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

function hasGpuDevice(): boolean {
  return existsSync('/dev/nvidia0') || (existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD')));
}

if (existsSync(SWIFTSHADER_ICD) && !process.env.VK_DRIVER_FILES && !hasGpuDevice()) {
  process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
}
process.env.XDG_RUNTIME_DIR ??= '/tmp';
// Tests use the built-in tiles, whatever an earlier `bench --tune` saved on this machine.
process.env.WEBGPU_ATTENTION_CACHE ??= '/nonexistent/webgpu-attention-tests/tuning.json';

/*
 * Runs in every test process before the test file. On a machine with no Vulkan
 * driver of its own (a CI box without a GPU), it points Dawn's Vulkan loader at
 * SwiftShader, the CPU Vulkan that Debian's `chromium` package ships, so the
 * WebGPU tests run everywhere. A driver named in the environment, or installed
 * system-wide (a real GPU), is left alone.
 */
import { existsSync, readdirSync } from 'node:fs';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const SYSTEM_ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

function hasSystemVulkanDriver(): boolean {
  return SYSTEM_ICD_DIRS.some((dir) => existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.json')));
}

if (existsSync(SWIFTSHADER_ICD) && !process.env.VK_DRIVER_FILES && !hasSystemVulkanDriver()) {
  process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
}
process.env.XDG_RUNTIME_DIR ??= '/tmp';
// Tests use the built-in tiles, whatever an earlier `bench --tune` saved on this machine.
process.env.WEBGPU_ATTENTION_CACHE ??= '/nonexistent/webgpu-attention-tests/tuning.json';

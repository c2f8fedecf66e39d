#!/usr/bin/env node
/*
 * `npm test` runs this first (pretest). The WebGPU tests need a WebGPU adapter
 * and fail without one, so on a Linux machine with no Vulkan driver at all it
 * installs SwiftShader (a CPU Vulkan driver shipped in Debian's chromium
 * package) and the Vulkan loader, when it can: as root, with apt-get. Anywhere
 * else it says what is missing and leaves the machine alone.
 * Set WEBGPU_ATTENTION_NO_INSTALL=1 to skip.
 */
import { execSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

const hasIcd = ICD_DIRS.some((d) => existsSync(d) && readdirSync(d).some((f) => f.endsWith('.json')));
const hasLoader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib/libvulkan.so.1'].some(existsSync);

if (process.platform !== 'linux' || process.env.WEBGPU_ATTENTION_NO_INSTALL || process.env.VK_ICD_FILENAMES) process.exit(0);
if (hasLoader && (hasIcd || existsSync(SWIFTSHADER))) process.exit(0);

const missing = [!hasLoader && 'the Vulkan loader (libvulkan1)', !hasIcd && !existsSync(SWIFTSHADER) && 'a Vulkan driver'].filter(Boolean);
const canApt = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
if (!canApt) {
  console.error(`WebGPU tests need ${missing.join(' and ')}; on Debian/Ubuntu: sudo apt-get install chromium libvulkan1 (SwiftShader)`);
  process.exit(0); // the WebGPU tests themselves fail and say so
}
console.error(`installing ${missing.join(' and ')}: apt-get install chromium libvulkan1 (SwiftShader, for the WebGPU tests)`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execSync('apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium libvulkan1', { stdio: 'inherit', env });

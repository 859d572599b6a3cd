// A worker on a machine without a GPU must not print Dawn's native "Couldn't load Vulkan" warning
// (a C++ source path from another build machine, which reads like a crash): without a Vulkan
// loader the default backend is not tried, and the reason is said in the worker's own words.
import t from 'tap';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { vulkanLoaderPresent } from '../src/kernels/webgpu/device.ts';

const DEVICE = fileURLToPath(new URL('../src/kernels/webgpu/device.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url));

t.test('vulkanLoaderPresent looks in LD_LIBRARY_PATH', async (t) => {
  if (process.platform !== 'linux') {
    t.pass('not linux: the check assumes the loader is there');
    return;
  }
  const dir = fileURLToPath(new URL('./fixtures-vulkan/', import.meta.url));
  const { mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(`${dir}/libvulkan.so.1`, '');
  t.equal(vulkanLoaderPresent({ LD_LIBRARY_PATH: `/nonexistent:${dir}` }), true, 'a loader in LD_LIBRARY_PATH counts');
});

t.test('opening a hardware adapter without a Vulkan loader prints nothing of Dawn', async (t) => {
  if (vulkanLoaderPresent()) {
    t.comment('this machine has a Vulkan loader: Dawn may print nothing anyway; the quiet path is not exercised here');
    t.pass('skipped: Vulkan loader present');
    return;
  }
  const script = `import { openDevice } from ${JSON.stringify(DEVICE)};
try { await openDevice({ preferHardware: true, allowSoftware: false }); console.log('opened'); }
catch (e) { console.log('refused: ' + e.message); }
process.exit(0);`;
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--no-warnings', '--import', `file://${TSX}`, '--input-type=module', '-e', script], { timeout: 60_000 });
  t.notMatch(stderr, /Couldn't load Vulkan|BackendVk\.cpp/, 'no native Dawn warning on stderr');
  t.equal(stderr.trim(), '', 'stderr is empty');
  t.match(stdout, /no Vulkan loader \(libvulkan\.so\.1\)/, 'the refusal says why, in our words');
});

// Assembles ternlin.wat into ternlin.wasm with wabt (the WebAssembly Binary Toolkit's own
// assembler, an npm devDependency). The .wasm is committed, so running the worker needs no
// assembler; worker/test/cpu-ternlin-wasm.test.ts re-assembles and checks the bytes match.
// Run after editing the .wat: npx tsx worker/src/kernels/wasm/build.ts

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const WAT_URL = new URL('./ternlin.wat', import.meta.url);
export const WASM_URL = new URL('./ternlin.wasm', import.meta.url);

/** The bytes of ternlin.wat assembled (no names section, so the bytes depend on the code only). */
export async function assemble(): Promise<Uint8Array> {
  const wabt = await (await import('wabt')).default();
  const mod = wabt.parseWat('ternlin.wat', readFileSync(WAT_URL, 'utf8'), { simd: true });
  try {
    mod.validate();
    return mod.toBinary({ log: false, write_debug_names: false }).buffer;
  } finally {
    mod.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bytes = await assemble();
  writeFileSync(WASM_URL, bytes);
  console.log(`${fileURLToPath(WASM_URL)}: ${bytes.length} bytes`);
}

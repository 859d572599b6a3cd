// Loads a kernel's WGSL text from the .wgsl file beside it. The text is the pipeline-cache key.

import { readFileSync } from 'node:fs';

export function loadWgsl(name: string): string {
  return readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');
}

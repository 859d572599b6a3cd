// The compute thread's first module (src/train/thread.ts starts it). Plain JavaScript: Node
// loads it without any hook. On Node 20 a worker thread does not run the process's `--import`
// preloads, so tsx's loader of bin/r3mes-worker is not active here; the TypeScript entry is
// imported through tsx's namespaced `tsImport` instead, from the tsx that Node finds beside this
// package (the repository's node_modules, or the one installed with r3mes-worker).
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.entry, import.meta.url);

// r3mes-worker entry point (worker/bin/r3mes-worker runs this file through tsx).
import { main } from './program.ts';

await main(process.argv);
// Every command's work is done when main returns (long-running ones never return). Exit
// explicitly: an open WebGPU device (Dawn) keeps the event loop alive after an error path that
// never reached the backend's close(). stdout/stderr are synchronous for files and pipes here.
process.exit();

// r3mes-worker entry point (worker/bin/r3mes-worker runs this file through tsx).
import { main } from './program.ts';

await main(process.argv);

// A compute thread entry for worker/test/train-thread.test.ts: the real one (src/train/thread-entry.ts)
// behind a listener that kills the thread on some requests (thread-crash-hooks.ts, imported first so
// that its listener runs before the real one).
import './thread-crash-hooks.ts';
import '../../src/train/thread-entry.ts';

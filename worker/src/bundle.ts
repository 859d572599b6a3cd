// Whether this code runs from the compiled bundle (worker/dist/r3mes-worker.mjs, built by
// scripts/build-worker.mjs) or from the TypeScript sources. The build defines
// __R3MES_WORKER_BUNDLE__; from the sources the identifier does not exist. Only the places that
// find files beside themselves at run time need to know (the compute thread's entry, the version).

declare const __R3MES_WORKER_BUNDLE__: { readonly version: string } | undefined;

/** The bundle's build facts, or undefined when running from the sources. */
export function workerBundle(): { readonly version: string } | undefined {
  return typeof __R3MES_WORKER_BUNDLE__ === 'undefined' ? undefined : __R3MES_WORKER_BUNDLE__;
}

import type { AppModule } from '../app/core/module.ts';
import type { KVStore } from '../app/core/store/types.ts';
import { CacheStore } from '../app/core/store/cache.ts';
import { sdkErrors } from '../app/core/errors.ts';

/**
 * A genesis file's `app_state`: each module's genesis JSON under its name. The node passes its
 * modules (app/modules.ts buildModules) to every function here, so `r3mesd init`, `r3mesd genesis
 * validate` and InitChain run the same code.
 */
export type GenesisAppState = Record<string, unknown>;

/** Every module's default genesis, by module name: what `r3mesd init` writes. */
export function defaultAppState(modules: readonly AppModule[]): GenesisAppState {
  return Object.fromEntries(modules.map((module) => [module.name, module.defaultGenesis()]));
}

/** Writes every module's genesis, in module order; state for an unknown module is an error. */
export function initModulesGenesis(modules: readonly AppModule[], store: KVStore, state: GenesisAppState): void {
  const known = new Set(modules.map((module) => module.name));
  for (const name of Object.keys(state)) {
    if (!known.has(name)) throw sdkErrors.invalidRequest(`genesis has state for unknown module "${name}"`);
  }
  for (const module of modules) module.initGenesis(store, state[module.name] ?? module.defaultGenesis());
}

/**
 * Runs InitChain's genesis checks on an empty in-memory state: what `r3mesd genesis validate`
 * does (the writes go to a cache layer that is dropped).
 */
export function validateAppState(modules: readonly AppModule[], state: GenesisAppState): void {
  const empty: KVStore = {
    get: () => undefined,
    has: () => false,
    iterate: function* () {},
    set: () => { throw new Error('read-only'); },
    delete: () => { throw new Error('read-only'); },
  };
  initModulesGenesis(modules, new CacheStore(empty), state);
}

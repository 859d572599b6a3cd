import type { AppModule } from './module.ts';
import type { KVStore } from './store/types.ts';
import { CacheStore } from './store/cache.ts';
import { sdkErrors } from './errors.ts';
import { AuthKeeper } from '../modules/auth/keeper.ts';
import { authModule } from '../modules/auth/module.ts';
import { BankKeeper } from '../modules/bank/keeper.ts';
import { bankModule } from '../modules/bank/module.ts';

/**
 * Wires the keepers together (each receives only what it needs from the
 * others) and lists the modules in the order their genesis and block hooks run.
 */
export function buildModules() {
  const auth = new AuthKeeper();
  const bank = new BankKeeper(auth);
  const modules: AppModule[] = [authModule(auth), bankModule(bank)] as AppModule[];
  return { auth, bank, modules };
}

export type GenesisAppState = Record<string, unknown>;

export function defaultAppState(): GenesisAppState {
  return Object.fromEntries(buildModules().modules.map((module) => [module.name, module.defaultGenesis()]));
}

/** Writes every module's genesis, in module order; state for an unknown module is an error. */
export function initModulesGenesis(modules: AppModule[], store: KVStore, state: GenesisAppState): void {
  const known = new Set(modules.map((module) => module.name));
  for (const name of Object.keys(state)) {
    if (!known.has(name)) throw sdkErrors.invalidRequest(`genesis has state for unknown module "${name}"`);
  }
  for (const module of modules) module.initGenesis(store, state[module.name] ?? module.defaultGenesis());
}

/** Runs InitChain's genesis checks on an empty in-memory state: what `r3mesd genesis validate` does. */
export function validateAppState(state: GenesisAppState): void {
  const empty: KVStore = {
    get: () => undefined,
    has: () => false,
    iterate: function* () {},
    set: () => { throw new Error('read-only'); },
    delete: () => { throw new Error('read-only'); },
  };
  initModulesGenesis(buildModules().modules, new CacheStore(empty), state);
}

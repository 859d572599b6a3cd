import type { ModuleInterface } from './module.ts';

/**
 * The user-facing description of every R3MES module (CLI commands, REST
 * routes, Msg types for the CosmJS Registry). Modules add theirs here when
 * they are wired into app/modules.ts.
 */
export function moduleInterfaces(): ModuleInterface[] {
  return [];
}

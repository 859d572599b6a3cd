/**
 * What the model module needs from other modules, as small interfaces the caller declares
 * (Cosmos `expected_keepers.go`). `app/modules.ts` hands in the real keepers; tests hand in
 * fakes. Nothing here imports another module's internals.
 */
import type { EventLog } from '../../app/core/events.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import type { Coin } from '../../app/core/coins.ts';

/**
 * Voting power for governance, read from staking AT TALLY TIME (EndBlock of the proposal's
 * voting_end_height), never snapshotted when a vote is cast.
 *
 * - `votingStake(store, address)`: if `address` (20-byte account address) is the operator of a
 *   validator that is bonded (in the active set) and not jailed, that validator's total bonded
 *   tokens in ur3mes: its self-bond plus every delegation to it, less anything unbonding or
 *   slashed away. Any other address (delegator, miner, unbonded or jailed validator): 0n.
 *   Delegators do not vote themselves; their stake votes through their validator.
 * - `totalVotingStake(store)`: the sum of `votingStake` over every bonded, non-jailed validator
 *   (the quorum's denominator). Miner stake never counts.
 */
export interface StakeReader {
  votingStake(store: KVStore, address: Uint8Array): bigint;
  totalVotingStake(store: KVStore): bigint;
}

/**
 * Deposits: escrowed in the module account `moduleAddress('model')` at submission, sent back
 * or burned at the end of voting. The real `BankKeeper` of modules/bank satisfies this.
 */
export interface DepositBank {
  send(store: KVStore, events: EventLog, from: Uint8Array, to: Uint8Array, coins: Coin[]): void;
  burn(store: KVStore, events: EventLog, from: Uint8Array, coins: Coin[]): void;
}

/**
 * Every module's governable parameters, built by the lead from each AppModule's `params`
 * (`ModuleParams`), this module's own included.
 *
 * - `modules()`: names of the modules that have params (order irrelevant; only membership is used).
 * - `get(store, module)`: that module's current params as JSON-ready value.
 * - `set(store, module, value)`: validates and replaces them as a whole; throws (a ChainError) on
 *   a bad value. The model module calls it on a cache layer and drops the layer on a throw, so a
 *   failing `set` changes nothing even if it wrote before throwing.
 *
 * Methods are only called while messages and block hooks run, never at construction, so the
 * router may be built after (and reference) the model module itself.
 */
export interface ParamsRouter {
  modules(): string[];
  get(store: KVStore, module: string): unknown;
  set(store: KVStore, module: string, value: unknown): void;
}

/**
 * training: the model head (modules/training README "Rollback"). `check` throws a ChainError when
 * the head cannot be rolled back to the base after window `toWindow` (0: the initial adapter);
 * `rollback` checks again and marks every later window's aggregate as out of the head, from
 * `height` on. Both read and write only `store` (a layer the model module may drop).
 */
export interface HeadRollback {
  check(store: KVStore, toWindow: bigint): void;
  rollback(store: KVStore, events: EventLog, height: bigint, toWindow: bigint, proposalId: bigint): void;
}

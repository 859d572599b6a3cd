/**
 * The block gas limit: CometBFT's consensus parameter `block.max_gas`, enforced by the app.
 *
 * CometBFT sends the consensus params once, in InitChain (from genesis.json's
 * `consensus_params`); after that it sends them to nobody: they change only through the
 * `consensus_param_updates` an app returns from FinalizeBlock, and this app returns none. So the
 * app keeps the value it got at InitChain in its own state (key `app/max_gas`, decimal text,
 * hashed like all state, so every node answers ProcessProposal the same after a restart). `-1`
 * (CometBFT's "unlimited", and its default) is stored as no key at all: a chain without a limit
 * has the state, and the app hash, it had before the limit existed. Should FinalizeBlock ever
 * return consensus param updates, it must `writeMaxGas` the new value in the same block.
 *
 * The rule (app/app.ts): a block's txs' gas limits (each tx's `auth_info.fee.gas_limit`) sum to
 * at most max_gas. PrepareProposal stops adding CometBFT's txs at the first that would pass it;
 * ProcessProposal rejects a proposal above it. A tx that does not decode counts 0: it runs
 * nothing (FinalizeBlock answers it with gas_wanted 0) and its bytes are bounded by max_bytes;
 * the beacon tx counts 0 too. CometBFT's mempool already reaps no more than max_gas by CheckTx's
 * gas_wanted (= the gas limit) and drops a tx whose gas_wanted alone exceeds it; the app's rule
 * makes the limit hold against any proposer.
 */
import type { KVReader, KVStore } from './core/store/types.ts';
import { fromUtf8, utf8 } from './core/bytes.ts';

const MAX_GAS_KEY = utf8('app/max_gas');

/**
 * `r3mesd init`'s block.max_gas: 100,000,000. A MsgSend uses 48,021 gas (measured in-process);
 * clients ask more: CosmJS "auto" is the simulation × 1.3–1.5 (~65k), the benches and the test
 * helpers sign 200k. So a block holds 500 (at 200k) to ~1,500 (at "auto") sends: at CometBFT's
 * ~230 ms blocks in bench/chain-comet.ts that is ≥ 2,000 tx/s, above the ≥ 1,000 tx/s target (its
 * busiest block held 499 txs), while the work of one block stays bounded: 10^8 gas actually used
 * is ~2,000 sends' worth, under half a second at the in-process rate (≥ 5,000 sends/s,
 * bench/README.md). It is 1/10 of MAX_TX_GAS (10^9): a tx asking more than 10^8 gas can never be
 * included (CometBFT's mempool drops it), which no message of this chain needs.
 */
export const DEFAULT_MAX_GAS = 100_000_000n;

/** The limit in force: undefined when unlimited. */
export function readMaxGas(store: KVReader): bigint | undefined {
  const raw = store.get(MAX_GAS_KEY);
  return raw === undefined ? undefined : BigInt(fromUtf8(raw));
}

/** Stores CometBFT's block.max_gas (`-1`, absent or any negative: unlimited, no key). */
export function writeMaxGas(store: KVStore, maxGas: bigint | undefined): void {
  if (maxGas === undefined || maxGas < 0n) store.delete(MAX_GAS_KEY);
  else store.set(MAX_GAS_KEY, utf8(maxGas.toString()));
}

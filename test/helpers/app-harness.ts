/**
 * Drives the real R3mesApp over a real LevelDB CommitStore in a temp dir,
 * block by block, without CometBFT: for unit tests and the in-process bench.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestInitChain, ResponseCheckTx, ResponseFinalizeBlock } from 'cosmjs-types/tendermint/abci/types';
import { fromBech32 } from '@cosmjs/encoding';
import { R3mesApp } from '../../app/app.ts';
import type { AbciApplication } from '../../app/abci/application.ts';
import { CommitStore } from '../../app/store/commit-store.ts';
import { utf8 } from '../../app/core/bytes.ts';
import type { TestKey } from './txs.ts';

export const CHAIN_ID = 'r3mes-test-1';

export interface Harness {
  app: R3mesApp;
  /**
   * What `block()` calls FinalizeBlock and Commit on: the app itself, or a wrapper of it as the
   * ABCI server would call it (e.g. app/metrics' `instrument(app)`). `reopen` resets it to the app.
   */
  abci: Pick<AbciApplication, 'finalizeBlock' | 'commit'>;
  store: CommitStore;
  dir: string;
  height: bigint;
  check(tx: Uint8Array): ResponseCheckTx;
  /** FinalizeBlock + Commit of one block. */
  block(txs: Uint8Array[]): Promise<ResponseFinalizeBlock>;
  reopen(): Promise<void>;
  close(): Promise<void>;
}

export function genesisFor(keys: TestKey[], amount = 1_000_000_000n): Record<string, unknown> {
  return {
    auth: { params: {}, accounts: [] },
    bank: {
      balances: keys
        .map((key) => ({ address: key.address, coins: [{ denom: 'ur3mes', amount: amount.toString() }] }))
        .sort((a, b) => (addressBytes(a.address) < addressBytes(b.address) ? -1 : 1)),
      supply: [],
    },
  };
}

/** Hex of the bech32 payload: sorts like the raw address bytes, as genesis requires. */
function addressBytes(address: string): string {
  return Buffer.from(fromBech32(address, 90).data).toString('hex');
}

/** `init` overrides fields of the InitChain request (e.g. consensusParams). */
export async function startHarness(appState: Record<string, unknown>, dir = mkdtempSync(join(tmpdir(), 'r3mes-app-')), init: Partial<RequestInitChain> = {}): Promise<Harness> {
  let store = await CommitStore.open(join(dir, 'app.db'));
  let app = new R3mesApp(store);
  if (store.lastHeight === 0n) {
    app.initChain({
      time: { seconds: 1_700_000_000n, nanos: 0 }, chainId: CHAIN_ID, consensusParams: undefined, validators: [],
      appStateBytes: utf8(JSON.stringify(appState)), initialHeight: 1n, ...init,
    });
  }
  const harness: Harness = {
    app, abci: app, store, dir, height: store.lastHeight,
    check: (tx) => harness.app.checkTx({ tx, type: 0 }),
    async block(txs) {
      const height = harness.height + 1n;
      const response = await harness.abci.finalizeBlock({
        txs, decidedLastCommit: { round: 0, votes: [] }, misbehavior: [], hash: new Uint8Array(32),
        height, time: { seconds: 1_700_000_000n + height, nanos: 0 }, nextValidatorsHash: new Uint8Array(32),
        proposerAddress: new Uint8Array(20),
      });
      await harness.abci.commit();
      harness.height = height;
      return response;
    },
    async reopen() {
      await store.close();
      store = await CommitStore.open(join(dir, 'app.db'));
      app = new R3mesApp(store);
      Object.assign(harness, { app, abci: app, store, height: store.lastHeight });
    },
    async close() {
      await harness.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

import type { GenesisAppState } from './app-state.ts';

/**
 * The devnet's genesis template (`npm run devnet`): the default app state with short windows, a
 * tiny model and disputes that settle in a minute or two, so a whole mining network runs on one
 * CPU. Everything else stays at the modules' defaults.
 */

/** Model genesis version 1's architecture on a devnet: a chunk trains in seconds on a CPU. */
export const DEVNET_ARCHITECTURE = { dModel: 64, nLayers: 2, nHeads: 2, dFf: 128, vocabSize: 256, seqLen: 64 };

export interface DevnetTemplateOptions {
  /** Blocks per training window. */
  windowBlocks: number;
  /** A cheater devnet: no L1 sampling, so every dispute is a challenge the log can follow. */
  cheater: boolean;
}

/** Applies the template to `appState` (made by `r3mesd init`): training, model and verification params. */
export function applyDevnetTemplate(appState: GenesisAppState, options: DevnetTemplateOptions): void {
  const state = appState as Record<string, any>;
  // Short windows (training README "Params").
  Object.assign(state.training.params, {
    windowBlocks: String(options.windowBlocks), challengePeriodBlocks: '45', commitPeriodBlocks: '6', revealPeriodBlocks: '6', aggregationProposers: '1',
    // Proof of Learning: one held-out chunk (two forwards of the devnet model, a few seconds on a CPU) fits the 6-block commit phase.
    evalChunks: '1',
    // Checkpoints (training README "Checkpoints"): every 2 applied windows, so a devnet shows some within minutes.
    checkpointInterval: '2',
  });
  state.model.versions[0].architecture = DEVNET_ARCHITECTURE;
  // Disputes settle within a few minutes; every window that re-executes a chunk is ≥ 33 blocks, the rule of
  // verification README "Response windows" for the devnet model; the challenge period above also
  // holds an L1 check (35 + 10). A bisection move: ≥ 15 blocks for one devnet step (verification README
  // "Bisection"), 35 so that a miner answers even when its train loop is busy with one job.
  // PoC epochs of 90 blocks: 40 to submit, 50 to recompute (≥ l1ResponseBlocks, app/params-constraints.ts);
  // a small PoC model (a nonce in milliseconds on a CPU) and r_target 2^17 (about half the nonces
  // qualify: `devnet --poc` miners compute 32 an epoch); 4 claims and 4 traps sampled per miner.
  if (state.poc !== undefined) {
    Object.assign(state.poc.params, { epochBlocks: '90', submitBlocks: '40', rTarget: '131072', sampleSize: '4', dModel: '32', nLayers: '1', nHeads: '2', dFf: '64', seqLen: '16' });
  }
  Object.assign(state.verification.params, { l1ResponseBlocks: '35', l2ResponseBlocks: '35', l3VoteBlocks: '40', revealBlocks: '10', bisectRoundBlocks: '35', ...(options.cheater ? { l1SampleBps: '0' } : {}) });
}

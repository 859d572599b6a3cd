import type { Context } from '../../app/core/context.ts';
import { type Candidate, draw } from './draw.ts';
import type { BeaconKeeper } from './keeper.ts';

/**
 * The one function every module draws through (training proposers, subnet
 * assignments, verifiers, panels). Keepers receive a Drawer at wiring time, so
 * the source of randomness can change in one place: the chain wires
 * `beaconDrawer` (the VRF beacon of the block being executed).
 */
export interface Drawer {
  /** Seed for draws made in this block: 32 bytes, identical on every node. */
  seed(ctx: Context): Uint8Array;
  /** Exactly-k stake-weighted sample without replacement (see README). */
  draw(ctx: Context, purpose: string, subjectId: string, candidates: readonly Candidate[], k: number, exclusions?: Iterable<string>): readonly Candidate[];
  /** The same sample from a seed recorded earlier (a dispute draws from the seed of its submission's block). */
  drawWithSeed(seed: Uint8Array, purpose: string, subjectId: string, candidates: readonly Candidate[], k: number, exclusions?: Iterable<string>): readonly Candidate[];
}

export type { Candidate };

/** A Drawer whose block seed comes from `seed`; every sample is `draw` of README "Draws". */
export function seededDrawer(seed: (ctx: Context) => Uint8Array): Drawer {
  return {
    seed,
    draw: (ctx, purpose, subjectId, candidates, k, exclusions) => draw({ seed: seed(ctx), purpose, subjectId, candidates, k, exclusions }),
    drawWithSeed: (seedBytes, purpose, subjectId, candidates, k, exclusions) => draw({ seed: seedBytes, purpose, subjectId, candidates, k, exclusions }),
  };
}

/** Former source: the block hash. A proposer can grind it; kept for tests of keepers that take a Drawer. */
export const blockHashDrawer: Drawer = seededDrawer((ctx) => {
  if (ctx.mode !== 'deliver') throw new Error('draws happen only while executing a block');
  return ctx.block.hash;
});

/** Length of a draw seed: the first 32 bytes of the 64-byte beacon (a SHA-512 output, so any prefix is uniform). */
export const DRAW_SEED_LENGTH = 32;

/**
 * The chain's source: the beacon stored for the height being executed (FinalizeBlock stores it
 * before any tx or hook runs), so a draw in block H uses beacon(H), which the proposer of H could
 * only withhold, not choose. Something drawn for later (a window's proposers, a panel) must use
 * the seed recorded when it was submitted (training keeps the window seed from its opening block),
 * never a seed a claimant picks.
 */
export function beaconDrawer(beacons: Pick<BeaconKeeper, 'beaconValue'>): Drawer {
  return seededDrawer((ctx) => {
    if (ctx.mode !== 'deliver') throw new Error('draws happen only while executing a block');
    const value = beacons.beaconValue(ctx.store, ctx.chainId, ctx.height);
    if (value === undefined) throw new Error(`no beacon for height ${ctx.height}: draws use the beacon of the block being executed`);
    return value.slice(0, DRAW_SEED_LENGTH);
  });
}

import type { Context } from '../../app/context.ts';
import { type Candidate, draw } from './draw.ts';

/**
 * The one function every module draws through (training proposers, subnet
 * assignments, verifiers, panels). Keepers receive a Drawer at wiring time, so
 * the source of randomness can change in one place: today the hash of the
 * block being executed; with the VRF beacon, the beacon value fixed when the
 * thing being drawn for was submitted.
 */
export interface Drawer {
  /** Seed for draws made in this block: 32 bytes, identical on every node. */
  seed(ctx: Context): Uint8Array;
  /** Exactly-k stake-weighted sample without replacement (see README). */
  draw(ctx: Context, purpose: string, subjectId: string, candidates: readonly Candidate[], k: number, exclusions?: Iterable<string>): readonly Candidate[];
}

/** Temporary source: the block hash. A proposer could grind it; the VRF beacon (issue: verification) replaces it. */
export const blockHashDrawer: Drawer = {
  seed(ctx) {
    if (ctx.mode !== 'deliver') throw new Error('draws happen only while executing a block');
    return ctx.block.hash;
  },
  draw(ctx, purpose, subjectId, candidates, k, exclusions) {
    return draw({ seed: blockHashDrawer.seed(ctx), purpose, subjectId, candidates, k, exclusions });
  },
};

// `r3mes-worker challenge`: anyone but the miner may dispute a pending submission by bonding at
// least challenge_bond_multiplier × the window's base reward (verification README, MsgChallenge).
// A convenience for the cheater demo; the chain checks everything (period, bond, open dispute).

import type { VerificationWriter } from '../chain/client.ts';
import { ChainError, ChainErrorCode } from '../chain/errors.ts';

export interface ChallengeOutcome {
  readonly submissionId: bigint;
  readonly bondUr3mes: bigint;
  readonly txhash: string;
  readonly height: bigint;
  readonly disputeId?: bigint;
}

/** Parses "1000", "1000ur3mes": a positive integer amount of ur3mes below 2^256. */
export function parseBond(text: string): bigint {
  const digits = text.replace(/ur3mes$/, '');
  if (!/^[1-9][0-9]*$/.test(digits) || BigInt(digits) >= 1n << 256n) throw new Error(`--bond must be a positive integer amount of ur3mes, got "${text}"`);
  return BigInt(digits);
}

export async function challengeSubmission(writer: VerificationWriter, submissionId: bigint, bondUr3mes: bigint): Promise<ChallengeOutcome> {
  const tx = await writer.signChallenge(submissionId, bondUr3mes);
  const out = await writer.broadcast(tx);
  if (out.code !== 0) throw new ChainError(ChainErrorCode.TxFailed, `MsgChallenge ${tx.txhash} refused (code ${out.code}): ${out.rawLog}`, { abciCode: out.code, txhash: tx.txhash });
  return { submissionId, bondUr3mes, txhash: tx.txhash, height: out.height, disputeId: out.disputeId };
}

/**
 * @r3mes/client: what a program outside the chain (the worker, a wallet, a script) needs to talk
 * to an R3MES node. See README.md for how the package is resolved in the repository (sources)
 * and when installed (the bundle in dist/).
 */

// CosmJS: the registry of every R3MES message, and query/signing clients wired to it.
export { r3mesRegistry } from './registry.ts';
export { connectQueryClient, connectSigningClient, DEFAULT_GAS_PRICE } from './index.ts';

// The keyring r3mesd keys writes (same files, same derivation).
export * from '../keys/index.ts';

// Rules a client must compute exactly as the chain does.
export { commitHash, evalChunkSample, gateApplies, type CommittedLosses, type CommittedCheckpoint, NO_CHECKPOINT } from '../../modules/training/assignment.ts';
export { commitDomain, UNAVAILABLE_RESULT, verificationCommitment } from '../../modules/verification/commitment.ts';
// PoC: a batch's root, the claim hash, the beacon's sample of a miner's claims (modules/poc/README.md).
export { batchRoot, CLAIM_DOMAIN, claimHash, COMMIT_DOMAIN, merkleRoot, pocCommitment, samplePositions, SAMPLE_DOMAIN, TRAP_DOMAIN, trapNonces } from '../../modules/poc/claims.ts';
export type { PocClaim } from '../../modules/poc/claims.ts';
export { defaultParams as defaultPocParams } from '../../modules/poc/params.ts';
// The training module's genesis defaults (a running chain answers its live ones to Query/Params).
export { defaultParams as defaultTrainingParams } from '../../modules/training/params.ts';

// The generated protobuf messages.
export * from './proto.ts';

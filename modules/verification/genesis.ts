/**
 * Verification genesis: the whole module state as the generated GenesisState's protobuf JSON.
 * Indexes (open, held, due, by submission, L1 deadlines, pending L1 checks by verifier) are derived, not stored in genesis.
 */
import type { KVStore } from '../../app/core/store/types.ts';
import { GenesisState } from '../../proto/gen/r3mes/verification/v1/genesis.ts';
import { DisputeOrigin, DisputeOutcome, DisputeStage, L1Status } from '../../proto/gen/r3mes/verification/v1/types.ts';
import { decodeAddress } from '../../app/core/address.ts';
import { verificationErrors } from './errors.ts';
import { HASH_BYTES, MAX_VERIFIER_BYTES, TRAP_POOL_MAX, type VerificationKeeper, type VerificationViewKeeper } from './keeper.ts';
import { defaultParams, parseAmount, validateParams } from './params.ts';

export function defaultGenesis(): GenesisState {
  return { params: defaultParams(), nextDisputeId: 1n, nextScanSubmissionId: 1n, l1Checks: [], disputes: [], submissionSeeds: [], verifierCredits: [],
    trapChecks: [], trapSources: [], nextTrapId: 1n,
  };
}

export function parseGenesis(json: unknown): GenesisState {
  try {
    return GenesisState.fromJSON(json);
  } catch (error) {
    throw verificationErrors.invalidGenesis(`not a verification GenesisState: ${(error as Error).message}`);
  }
}

const bad = verificationErrors.invalidGenesis;

export function initGenesis(keeper: VerificationKeeper, store: KVStore, genesis: GenesisState): void {
  if (genesis.params === undefined) throw bad('params missing');
  validateParams(genesis.params, bad);
  if (genesis.nextDisputeId < 1n || genesis.nextScanSubmissionId < 1n) throw bad('next_dispute_id and next_scan_submission_id start at 1');

  let previous = 0n;
  for (const check of genesis.l1Checks) {
    const at = `L1 check of submission ${check.submissionId}`;
    if (check.submissionId <= previous || check.submissionId >= genesis.nextScanSubmissionId) throw bad(`${at}: sorted, unique, below next_scan_submission_id`);
    previous = check.submissionId;
    if (check.status < L1Status.L1_STATUS_PENDING || check.status > L1Status.L1_STATUS_MISSED) throw bad(`${at}: unknown status`);
    if (check.seed.length !== HASH_BYTES) throw bad(`${at}: seed must be 32 bytes`);
    if (check.resultHash.length !== 0 && check.resultHash.length !== HASH_BYTES) throw bad(`${at}: result_hash must be empty or 32 bytes`);
    if (check.commitment.length !== 0 && check.commitment.length !== HASH_BYTES) throw bad(`${at}: commitment must be empty or 32 bytes`);
    if (check.verifier === '' || check.miner === '' || check.verifier === check.miner) throw bad(`${at}: verifier and miner must be set and differ`);
    if (Buffer.byteLength(check.verifier, 'utf8') > MAX_VERIFIER_BYTES) throw bad(`${at}: verifier address longer than ${MAX_VERIFIER_BYTES} bytes`);
    if (check.disputeId >= genesis.nextDisputeId) throw bad(`${at}: dispute ${check.disputeId} not below next_dispute_id`);
    keeper.setL1Check(store, check);
  }

  previous = 0n;
  const held = new Set<bigint>();
  for (const dispute of genesis.disputes) {
    const at = `dispute ${dispute.id}`;
    if (dispute.id <= previous || dispute.id >= genesis.nextDisputeId) throw bad(`${at}: sorted, unique, below next_dispute_id`);
    previous = dispute.id;
    const knownStage = (dispute.stage >= DisputeStage.DISPUTE_STAGE_L2_DRAW && dispute.stage <= DisputeStage.DISPUTE_STAGE_RESOLVED) || dispute.stage === DisputeStage.DISPUTE_STAGE_BISECTION;
    if (!knownStage) throw bad(`${at}: unknown stage`);
    // Bisection (README "Bisection"): a bisecting dispute names its disputer; hashes empty or 32 bytes.
    if (dispute.stage === DisputeStage.DISPUTE_STAGE_BISECTION && dispute.bisectDisputer === '') throw bad(`${at}: a bisecting dispute names its disputer`);
    if ([dispute.bisectLoHash, dispute.bisectHiHash, dispute.bisectPendingHash, dispute.bisectDisputerRoot, dispute.bisectDisputerHiHash].some((x) => x.length !== 0 && x.length !== HASH_BYTES)) throw bad(`${at}: bisection hashes must be empty or 32 bytes`);
    if (dispute.bisectHistory.length > 64) throw bad(`${at}: a bisection history of ${dispute.bisectHistory.length} moves (at most 64)`);
    for (const move of dispute.bisectHistory) {
      if (move.party !== 'miner' && move.party !== 'disputer') throw bad(`${at}: a bisection move by ${JSON.stringify(move.party)} (miner or disputer)`);
      if (move.hash.length !== 0 && move.hash.length !== HASH_BYTES) throw bad(`${at}: a bisection move's hash must be empty or 32 bytes`);
    }
    if (dispute.bisectOneStep && (dispute.bisectHiHash.length !== HASH_BYTES || dispute.bisectHi !== dispute.bisectLo + 1n)) throw bad(`${at}: a one-step dispute has hi = lo + 1 and a 32-byte stateHash_hi`);
    if (dispute.origin !== DisputeOrigin.DISPUTE_ORIGIN_CHALLENGE && dispute.origin !== DisputeOrigin.DISPUTE_ORIGIN_L1_FLAG) throw bad(`${at}: unknown origin`);
    const resolved = dispute.stage === DisputeStage.DISPUTE_STAGE_RESOLVED;
    const decided = dispute.outcome >= DisputeOutcome.DISPUTE_OUTCOME_CHALLENGE_REJECTED && dispute.outcome <= DisputeOutcome.DISPUTE_OUTCOME_VOID;
    if (resolved !== decided || (!resolved && dispute.outcome !== DisputeOutcome.DISPUTE_OUTCOME_UNSPECIFIED)) throw bad(`${at}: outcome must be set exactly when resolved`);
    for (const [field, value] of [['bond', dispute.bond], ['base_reward', dispute.baseReward], ['slashed', dispute.slashed], ['bounty', dispute.bounty]] as const) {
      parseAmount(value, `${at} ${field}`, bad);
    }
    // l2_fee: empty (a dispute from before L2 fees) or a decimal no larger than the bond.
    if (dispute.l2Fee !== '' && parseAmount(dispute.l2Fee, `${at} l2_fee`, bad) > BigInt(dispute.bond)) throw bad(`${at}: l2_fee above the bond`);
    const challenge = dispute.origin === DisputeOrigin.DISPUTE_ORIGIN_CHALLENGE;
    if (challenge !== (dispute.challenger !== '') || (!challenge && dispute.bond !== '0')) throw bad(`${at}: a challenge has a challenger; an L1 flag has neither challenger nor bond`);
    if (dispute.expectedHash.length !== HASH_BYTES) throw bad(`${at}: expected_hash must be 32 bytes`);
    if (dispute.panel.some((seat) => seat.arbiter === '' || (seat.voted && !seat.unavailable && seat.resultHash.length !== HASH_BYTES))) throw bad(`${at}: bad panel seat`);
    if (dispute.draws.some((draw) => draw.seed.length !== HASH_BYTES)) throw bad(`${at}: draw seeds must be 32 bytes`);
    if ([dispute.l2Commitment, ...dispute.panel.map((seat) => seat.commitment)].some((c) => c.length !== 0 && c.length !== HASH_BYTES)) throw bad(`${at}: commitments must be empty or 32 bytes`);
    // An open dispute has drawn (its first draw is in the endBlock that opened it) and keeps
    // the submission seed it draws with; a resolved one may predate submission seeds.
    if (dispute.submissionSeed.length !== HASH_BYTES && !(resolved && dispute.submissionSeed.length === 0)) {
      throw bad(`${at}: submission_seed must be 32 bytes (empty allowed only once resolved)`);
    }
    if (!resolved) {
      if (held.has(dispute.submissionId)) throw bad(`${at}: submission ${dispute.submissionId} has two open disputes`);
      held.add(dispute.submissionId);
    }
    keeper.setDispute(store, dispute);
  }

  previous = 0n;
  for (const entry of genesis.submissionSeeds) {
    const at = `submission seed of submission ${entry.submissionId}`;
    if (entry.submissionId <= previous || entry.submissionId >= genesis.nextScanSubmissionId) throw bad(`${at}: sorted, unique, below next_scan_submission_id`);
    previous = entry.submissionId;
    if (entry.seed.length !== HASH_BYTES) throw bad(`${at}: seed must be 32 bytes`);
    keeper.setSubmissionSeed(store, entry.submissionId, entry.seed);
  }

  let previousKey: Buffer | undefined;
  for (const credit of genesis.verifierCredits) {
    const at = `verifier credit of ${credit.verifier}`;
    const bytes = Buffer.from(credit.verifier, 'utf8');
    if (credit.verifier === '' || bytes.length > MAX_VERIFIER_BYTES) throw bad(`${at}: verifier must be set, at most ${MAX_VERIFIER_BYTES} bytes`);
    if (credit.checks === 0n) throw bad(`${at}: checks must be above 0`);
    try {
      decodeAddress(credit.verifier); // rewards pays it from a block hook: it must be an address
    } catch {
      throw bad(`${at}: not a bech32 address`);
    }
    // Store order: byte length, then bytes (the key is u8(length) ‖ utf8).
    const key = Buffer.concat([Buffer.of(bytes.length), bytes]);
    if (previousKey !== undefined && Buffer.compare(previousKey, key) >= 0) throw bad(`${at}: sorted (byte length, then bytes) and unique`);
    previousKey = key;
    keeper.setVerifierCredit(store, credit);
  }

  const nextTrapId = genesis.nextTrapId === 0n ? 1n : genesis.nextTrapId;
  previous = 0n;
  for (const trap of genesis.trapChecks) {
    const at = `trap ${trap.trapId}`;
    if (trap.trapId <= previous || trap.trapId >= nextTrapId) throw bad(`${at}: sorted, unique, below next_trap_id`);
    previous = trap.trapId;
    const check = trap.check;
    if (check === undefined || trap.trueHash.length !== HASH_BYTES || check.claimedHash.length !== HASH_BYTES || check.seed.length !== HASH_BYTES) throw bad(`${at}: a check, 32-byte true and claimed hashes and seed`);
    if (check.status < L1Status.L1_STATUS_PENDING || check.status > L1Status.L1_STATUS_MISSED) throw bad(`${at}: unknown status`);
    if (check.verifier === '' || Buffer.byteLength(check.verifier, 'utf8') > MAX_VERIFIER_BYTES) throw bad(`${at}: bad verifier`);
    if (check.commitment.length !== 0 && check.commitment.length !== HASH_BYTES) throw bad(`${at}: commitment must be empty or 32 bytes`);
    keeper.setTrapCheck(store, trap);
  }
  previous = 0n;
  if (genesis.trapSources.length > TRAP_POOL_MAX) throw bad(`at most ${TRAP_POOL_MAX} trap sources`);
  for (const source of genesis.trapSources) {
    const at = `trap source ${source.submissionId}`;
    if (source.submissionId <= previous) throw bad(`${at}: sorted, unique`);
    previous = source.submissionId;
    if (source.trueHash.length !== HASH_BYTES || source.claimedHash.length !== HASH_BYTES) throw bad(`${at}: 32-byte hashes`);
    keeper.setTrapSource(store, source);
  }

  keeper.setParams(store, genesis.params);
  keeper.setModuleState(store, { nextDisputeId: genesis.nextDisputeId, nextScanSubmissionId: genesis.nextScanSubmissionId, nextTrapId });
}

export function exportGenesis(keeper: VerificationViewKeeper, store: KVStore): GenesisState {
  const state = keeper.moduleState(store);
  return {
    params: keeper.params(store),
    nextDisputeId: state.nextDisputeId,
    nextScanSubmissionId: state.nextScanSubmissionId,
    l1Checks: [...keeper.l1Checks(store)],
    disputes: [...keeper.disputes(store)],
    submissionSeeds: [...keeper.submissionSeeds(store)],
    verifierCredits: [...keeper.verifierCredits(store)],
    trapChecks: [...keeper.trapChecks(store)],
    trapSources: [...keeper.trapSources(store)],
    nextTrapId: state.nextTrapId === 0n ? 1n : state.nextTrapId,
  };
}

import { type Page, type PageRequest, paginate, underPrefix } from '../../app/core/pagination.ts';
import type { Context } from '../../app/core/context.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import { prefixStore } from '../../app/core/store/prefix.ts';
import { bytesEqual, concatBytes, readU64be, toHex, u64be, utf8 } from '../../app/core/bytes.ts';
import { decodeAddress, moduleAddress } from '../../app/core/address.ts';
import { MAX_AMOUNT } from '../../app/core/coins.ts';
import { reportInvariant } from '../../app/core/invariants.ts';
import type {
  MsgArbiterVote, MsgBisectReveal, MsgBisectRespond, MsgChallenge, MsgReportUnavailable, MsgSubmitVerification,
} from '../../proto/gen/r3mes/verification/v1/tx.ts';
import { applyAnswer, bisectTurn, checkOwnHash, checkRevealStep, stepsMismatch, requestedStep, validateRespondShape, validateRevealShape } from './bisection.ts';
import { verifyTraceInclusion } from './trace-proof.ts';
import {
  BisectMove, Dispute, DisputeOrigin, DisputeOutcome, DisputeStage, L1Check, L1Status, ModuleState, type PanelSeat, Params, type SubmissionSeed,
  type TrapCheck, type TrapSource, type VerifierCredit,
} from '../../proto/gen/r3mes/verification/v1/types.ts';
import { verificationErrors } from './errors.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { TrapCheck as TrapCheckCodec } from '../../proto/gen/r3mes/verification/v1/types.ts';
import { COMMITMENT_BYTES, commitDomain, SALT_BYTES, UNAVAILABLE_RESULT, verificationCommitment } from './commitment.ts';
import type {
  SubmissionHoldReader, SubmissionView, TrainingReader, VerificationBankKeeper, VerificationStakingKeeper,
  Candidate, Drawer,
} from './expected-keepers.ts';
import { BPS, defaultParams, type Fraction, parseAmount, parseFraction } from './params.ts';

export const MODULE_NAME = 'verification';
/** The module account that holds every open dispute's bond. */
export const VERIFICATION_MODULE_ADDRESS = moduleAddress(MODULE_NAME);
export const DENOM = 'ur3mes';
export const HASH_BYTES = 32;

/** Draw purposes (domain separation of every draw this module makes). */
export const DRAW = {
  l1Sample: 'verify-l1-sample',
  l1Verifier: 'verify-l1-verifier',
  trap: 'verify-trap',
  trapSource: 'verify-trap-source',
  trapVerifier: 'verify-trap-verifier',
  l2Verifier: 'verify-l2-verifier',
  l3Panel: 'verify-l3-panel',
} as const;

/** A verifier's address as a key part: u8(length) ‖ utf8, so no address is a prefix of another's keys. */
const verifierKey = (verifier: string): Uint8Array => {
  const bytes = utf8(verifier);
  if (bytes.length > MAX_VERIFIER_BYTES) throw verificationErrors.invalidGenesis(`verifier address of ${bytes.length} bytes (at most ${MAX_VERIFIER_BYTES})`);
  return concatBytes(Uint8Array.of(bytes.length), bytes);
};

/** Longest verifier address the by-verifier index can hold (a bech32 address is at most 90). */
export const MAX_VERIFIER_BYTES = 255;
/** ChecksByVerifier: page size when the request names none, and the most one page holds. */
export const CHECKS_PAGE_DEFAULT = 100n;
export const CHECKS_PAGE_MAX = 1000n;

/** Key layout inside the module's prefix "verification/" (see README). */
const keys = {
  params: utf8('p'),
  state: utf8('s'),
  l1: (submissionId: bigint) => concatBytes(utf8('l/'), u64be(submissionId)),
  l1Prefix: utf8('l/'),
  l1Due: (height: bigint, submissionId: bigint) => concatBytes(utf8('e/'), u64be(height), u64be(submissionId)),
  l1DuePrefix: utf8('e/'),
  l1ByVerifier: (verifier: string, submissionId: bigint) => concatBytes(utf8('v/'), verifierKey(verifier), u64be(submissionId)),
  l1ByVerifierPrefix: (verifier: string) => concatBytes(utf8('v/'), verifierKey(verifier)),
  dispute: (id: bigint) => concatBytes(utf8('x/'), u64be(id)),
  disputePrefix: utf8('x/'),
  open: (id: bigint) => concatBytes(utf8('o/'), u64be(id)),
  openPrefix: utf8('o/'),
  held: (submissionId: bigint) => concatBytes(utf8('h/'), u64be(submissionId)),
  bySubmission: (submissionId: bigint, id: bigint) => concatBytes(utf8('b/'), u64be(submissionId), u64be(id)),
  bySubmissionPrefix: (submissionId: bigint) => concatBytes(utf8('b/'), u64be(submissionId)),
  due: (height: bigint, id: bigint) => concatBytes(utf8('t/'), u64be(height), u64be(id)),
  duePrefix: utf8('t/'),
  seed: (submissionId: bigint) => concatBytes(utf8('q/'), u64be(submissionId)),
  seedPrefix: utf8('q/'),
  credit: (verifier: string) => concatBytes(utf8('c/'), verifierKey(verifier)),
  creditPrefix: utf8('c/'),
  trap: (trapId: bigint) => concatBytes(utf8('r/'), u64be(trapId)),
  trapPrefix: utf8('r/'),
  trapDue: (height: bigint, trapId: bigint) => concatBytes(utf8('f/'), u64be(height), u64be(trapId)),
  trapDuePrefix: utf8('f/'),
  trapSource: (submissionId: bigint) => concatBytes(utf8('k/'), u64be(submissionId)),
  trapSourcePrefix: utf8('k/'),
};

/** The most trap sources kept (the oldest go first). */
export const TRAP_POOL_MAX = 128;

export type OutcomeName = 'pending' | 'challenge-rejected' | 'miner-at-fault' | 'no-fault' | 'void';

export const OUTCOME_NAMES: Record<number, OutcomeName> = {
  [DisputeOutcome.DISPUTE_OUTCOME_UNSPECIFIED]: 'pending',
  [DisputeOutcome.DISPUTE_OUTCOME_CHALLENGE_REJECTED]: 'challenge-rejected',
  [DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT]: 'miner-at-fault',
  [DisputeOutcome.DISPUTE_OUTCOME_NO_FAULT]: 'no-fault',
  [DisputeOutcome.DISPUTE_OUTCOME_VOID]: 'void',
};

/** Parsed params: what the keeper computes with. */
export interface VerificationParams {
  readonly raw: Params;
  readonly minerSlash: Fraction;
  readonly livenessPenalty: Fraction;
  readonly wrongResultPenalty: Fraction;
}

export function emptyModuleState(): ModuleState {
  return { nextDisputeId: 1n, nextScanSubmissionId: 1n, nextTrapId: 1n };
}

function isHash(bytes: Uint8Array): boolean {
  return bytes.length === HASH_BYTES;
}

/** Read-only layer: params, L1 checks, disputes and their indexes. Serves training's hold check. */
export class VerificationViewKeeper implements SubmissionHoldReader {
  static readonly storePrefix = utf8('verification/');

  protected view(store: KVStore): KVStore {
    return prefixStore(store, VerificationViewKeeper.storePrefix);
  }

  params(store: KVStore): Params {
    const raw = this.view(store).get(keys.params);
    return raw === undefined ? defaultParams() : Params.decode(raw);
  }

  resolvedParams(store: KVStore): VerificationParams {
    const raw = this.params(store);
    return {
      raw,
      minerSlash: parseFraction(raw.minerSlashFraction, 'minerSlashFraction'),
      livenessPenalty: parseFraction(raw.livenessPenaltyFraction, 'livenessPenaltyFraction'),
      wrongResultPenalty: parseFraction(raw.wrongResultPenaltyFraction, 'wrongResultPenaltyFraction'),
    };
  }

  moduleState(store: KVStore): ModuleState {
    const raw = this.view(store).get(keys.state);
    return raw === undefined ? emptyModuleState() : ModuleState.decode(raw);
  }

  l1Check(store: KVStore, submissionId: bigint): L1Check | undefined {
    if (submissionId < 0n || submissionId >= 1n << 64n) return undefined;
    const raw = this.view(store).get(keys.l1(submissionId));
    return raw === undefined ? undefined : L1Check.decode(raw);
  }

  *l1Checks(store: KVStore): IterableIterator<L1Check> {
    for (const [, value] of this.view(store).iterate(keys.l1Prefix)) yield L1Check.decode(value);
  }

  /**
   * The PENDING L1 checks drawn to `verifier`, ascending by submission id, from the by-verifier
   * index (`v/`): those with id > `startAfter`, at most `limit` (0 = CHECKS_PAGE_DEFAULT, capped
   * at CHECKS_PAGE_MAX). `nextStartAfter` is the last id returned when more follow, else 0.
   * A pending check past its deadline stays listed until the endBlock that marks it missed.
   */
  pendingChecksByVerifier(store: KVStore, verifier: string, startAfter = 0n, limit = 0n): { checks: L1Check[]; nextStartAfter: bigint } {
    const size = limit === 0n ? CHECKS_PAGE_DEFAULT : limit > CHECKS_PAGE_MAX ? CHECKS_PAGE_MAX : limit;
    const prefix = keys.l1ByVerifierPrefix(verifier);
    const checks: L1Check[] = [];
    for (const [key, value] of this.view(store).iterate(prefix)) {
      const id = readU64be(key.subarray(prefix.length));
      if (id <= startAfter) continue;
      if (BigInt(checks.length) === size) return { checks, nextStartAfter: checks[checks.length - 1].submissionId };
      // A trap check is listed exactly like an L1 check (README "Trap checks"); the index value names it.
      const check = value.length === 8 ? this.trapCheck(store, readU64be(value))?.check : this.l1Check(store, id);
      if (check === undefined) throw new Error(`verification index v/ names submission ${id} without an L1 check`);
      checks.push(check);
    }
    return { checks, nextStartAfter: 0n };
  }

  dispute(store: KVStore, disputeId: bigint): Dispute | undefined {
    if (disputeId < 0n || disputeId >= 1n << 64n) return undefined;
    const raw = this.view(store).get(keys.dispute(disputeId));
    return raw === undefined ? undefined : Dispute.decode(raw);
  }

  *disputes(store: KVStore): IterableIterator<Dispute> {
    for (const [, value] of this.view(store).iterate(keys.disputePrefix)) yield Dispute.decode(value);
  }

  /**
   * A page of the disputes, by id (key: u64be dispute id): `open` from the open index, `resolved`
   * or all from every dispute (resolved disputes stay in state with their outcome).
   */
  disputesPage(store: KVStore, status: 'open' | 'resolved' | 'all', page: PageRequest | undefined): Page<Dispute> {
    const options = { keyLength: 8, keyMeaning: 'a u64be dispute id' };
    if (status === 'open') return paginate(underPrefix(this.view(store), keys.openPrefix), page, (key) => this.requireDispute(store, readU64be(key)), options);
    return paginate(underPrefix(this.view(store), keys.disputePrefix), page, (_, value) => {
      const dispute = Dispute.decode(value);
      return status === 'all' || dispute.stage === DisputeStage.DISPUTE_STAGE_RESOLVED ? dispute : undefined;
    }, options);
  }

  /** Unresolved disputes, ascending by id. */
  openDisputes(store: KVStore): Dispute[] {
    const ids = [...this.view(store).iterate(keys.openPrefix)].map(([key]) => readU64be(key.subarray(keys.openPrefix.length)));
    return ids.map((id) => this.requireDispute(store, id));
  }

  /** Every dispute ever opened on a submission, ascending by id. */
  submissionDisputes(store: KVStore, submissionId: bigint): Dispute[] {
    const prefix = keys.bySubmissionPrefix(submissionId);
    const ids = [...this.view(store).iterate(prefix)].map(([key]) => readU64be(key.subarray(prefix.length)));
    return ids.map((id) => this.requireDispute(store, id));
  }

  /** The open dispute of a submission, if any. */
  openDispute(store: KVStore, submissionId: bigint): Dispute | undefined {
    if (submissionId < 0n || submissionId >= 1n << 64n) return undefined;
    const raw = this.view(store).get(keys.held(submissionId));
    return raw === undefined ? undefined : this.requireDispute(store, readU64be(raw));
  }

  /** Training's hook: an open dispute holds the submission out of aggregation. */
  isHeld(store: KVStore, submissionId: bigint): boolean {
    if (submissionId < 0n || submissionId >= 1n << 64n) return false;
    return this.view(store).has(keys.held(submissionId));
  }

  /** Σ (bond − L2 fee paid) of open disputes: what the module account must hold (an invariant). */
  bondsHeld(store: KVStore): bigint {
    let sum = 0n;
    for (const dispute of this.openDisputes(store)) sum += bondHeld(dispute);
    return sum;
  }

  /** The submission's draw seed (32 bytes), fixed in the endBlock of the block that included it; undefined once pruned. */
  submissionSeed(store: KVStore, submissionId: bigint): Uint8Array | undefined {
    if (submissionId < 0n || submissionId >= 1n << 64n) return undefined;
    return this.view(store).get(keys.seed(submissionId));
  }

  /** Stored submission seeds, ascending by submission id. */
  *submissionSeeds(store: KVStore): IterableIterator<SubmissionSeed> {
    for (const [key, value] of this.view(store).iterate(keys.seedPrefix)) {
      yield { submissionId: readU64be(key.subarray(keys.seedPrefix.length)), seed: Buffer.from(value) };
    }
  }

  trapCheck(store: KVStore, trapId: bigint): TrapCheck | undefined {
    if (trapId < 0n || trapId >= 1n << 64n) return undefined;
    const raw = this.view(store).get(keys.trap(trapId));
    return raw === undefined ? undefined : TrapCheckCodec.decode(raw);
  }

  *trapChecks(store: KVStore): IterableIterator<TrapCheck> {
    for (const [, value] of this.view(store).iterate(keys.trapPrefix)) yield TrapCheckCodec.decode(value);
  }

  /** The pending trap of `verifier` on `submissionId`, if its by-verifier index entry names one. */
  pendingTrap(store: KVStore, verifier: string, submissionId: bigint): TrapCheck | undefined {
    const value = this.view(store).get(keys.l1ByVerifier(verifier, submissionId));
    return value === undefined || value.length !== 8 ? undefined : this.trapCheck(store, readU64be(value));
  }

  /** Trap sources, ascending by submission id. */
  *trapSources(store: KVStore): IterableIterator<TrapSource> {
    for (const [key, value] of this.view(store).iterate(keys.trapSourcePrefix)) {
      yield { submissionId: readU64be(key.subarray(keys.trapSourcePrefix.length)), trueHash: Buffer.from(value.subarray(0, 32)), claimedHash: Buffer.from(value.subarray(32, 64)) };
    }
  }

  /** Confirmed, unpaid L1 checks per verifier, in store order (address byte length, then bytes). */
  *verifierCredits(store: KVStore): IterableIterator<VerifierCredit> {
    for (const [key, value] of this.view(store).iterate(keys.creditPrefix)) {
      yield { verifier: Buffer.from(key.subarray(keys.creditPrefix.length + 1)).toString('utf8'), checks: readU64be(value) };
    }
  }

  protected requireDispute(store: KVStore, disputeId: bigint): Dispute {
    const dispute = this.dispute(store, disputeId);
    if (dispute === undefined) throw verificationErrors.disputeNotFound(`dispute ${disputeId}`);
    return dispute;
  }
}

export interface VerificationDeps {
  readonly bank: VerificationBankKeeper;
  readonly staking: VerificationStakingKeeper;
  readonly training: TrainingReader;
  readonly drawer: Drawer;
}

type Fault = 'missed-deadline' | 'wrong-result' | 'trap-failed';

/** Full layer: the four messages, the dispute state machine (endBlock), settlement. */
export class VerificationKeeper extends VerificationViewKeeper {
  constructor(private readonly deps: VerificationDeps) {
    super();
  }

  setParams(store: KVStore, params: Params): void {
    this.view(store).set(keys.params, Params.encode(params).finish());
  }

  setModuleState(store: KVStore, state: ModuleState): void {
    this.view(store).set(keys.state, ModuleState.encode(state).finish());
  }

  setSubmissionSeed(store: KVStore, submissionId: bigint, seed: Uint8Array): void {
    this.view(store).set(keys.seed(submissionId), seed);
  }

  /** Writes a trap check; its deadline and by-verifier index entries follow its status, as an L1 check's do. */
  setTrapCheck(store: KVStore, trap: TrapCheck): void {
    const view = this.view(store);
    const check = trap.check!;
    view.set(keys.trap(trap.trapId), TrapCheckCodec.encode(trap).finish());
    if (check.status === L1Status.L1_STATUS_PENDING) {
      view.set(keys.trapDue(check.deadlineHeight, trap.trapId), new Uint8Array());
      view.set(keys.l1ByVerifier(check.verifier, check.submissionId), u64be(trap.trapId));
    } else {
      view.delete(keys.trapDue(check.deadlineHeight, trap.trapId));
      view.delete(keys.l1ByVerifier(check.verifier, check.submissionId));
    }
  }

  setTrapSource(store: KVStore, source: TrapSource): void {
    this.view(store).set(keys.trapSource(source.submissionId), concatBytes(source.trueHash, source.claimedHash));
  }

  setVerifierCredit(store: KVStore, credit: VerifierCredit): void {
    if (credit.checks === 0n) this.view(store).delete(keys.credit(credit.verifier));
    else this.view(store).set(keys.credit(credit.verifier), u64be(credit.checks));
  }

  /**
   * Rewards' hook (app/adapters.ts), once per finalized window: every verifier's confirmed,
   * unpaid L1 checks (weight = their number), in store order, and the ledger emptied — each
   * confirmed check is paid by exactly one window's verifiers' share.
   */
  takeVerifierCredits(store: KVStore): VerifierCredit[] {
    const credits = [...this.verifierCredits(store)];
    for (const credit of credits) this.view(store).delete(keys.credit(credit.verifier));
    return credits;
  }

  /** Writes an L1 check and keeps its deadline and by-verifier indexes in step with its status. */
  setL1Check(store: KVStore, check: L1Check): void {
    const view = this.view(store);
    view.set(keys.l1(check.submissionId), L1Check.encode(check).finish());
    if (check.status === L1Status.L1_STATUS_PENDING) {
      view.set(keys.l1Due(check.deadlineHeight, check.submissionId), new Uint8Array());
      view.set(keys.l1ByVerifier(check.verifier, check.submissionId), new Uint8Array());
    } else {
      view.delete(keys.l1Due(check.deadlineHeight, check.submissionId));
      view.delete(keys.l1ByVerifier(check.verifier, check.submissionId));
    }
  }

  /**
   * Writes a dispute and keeps its indexes in step: by submission (always); open, held and
   * due (see dueHeight) while unresolved. `previousDue` is the due height to clear (the
   * dispute's dueHeight before the caller changed its stage).
   */
  setDispute(store: KVStore, dispute: Dispute, previousDue?: bigint): void {
    const view = this.view(store);
    view.set(keys.dispute(dispute.id), Dispute.encode(dispute).finish());
    view.set(keys.bySubmission(dispute.submissionId, dispute.id), new Uint8Array());
    if (previousDue !== undefined) view.delete(keys.due(previousDue, dispute.id));
    if (dispute.stage === DisputeStage.DISPUTE_STAGE_RESOLVED) {
      view.delete(keys.open(dispute.id));
      const held = view.get(keys.held(dispute.submissionId));
      if (held !== undefined && readU64be(held) === dispute.id) view.delete(keys.held(dispute.submissionId));
    } else {
      view.set(keys.open(dispute.id), new Uint8Array());
      view.set(keys.held(dispute.submissionId), u64be(dispute.id));
      view.set(keys.due(dueHeight(dispute), dispute.id), new Uint8Array());
    }
  }

  // ---------------------------------------------------------------- messages

  /** L2: anyone but the miner bonds at least challenge_bond_multiplier × base reward. */
  challenge(ctx: Context, msg: MsgChallenge): bigint {
    const challenger = decodeAddress(msg.challenger, 'challenger');
    const bond = parseBond(msg.bond);
    const { store } = ctx;
    const submission = this.requireSubmission(store, msg.submissionId);
    if (submission.miner === msg.challenger) throw verificationErrors.ownSubmission(`${msg.challenger} mined submission ${submission.id}`);
    const window = this.deps.training.window(store, submission.windowId);
    if (window === undefined || submission.status !== 'pending' || ctx.height >= window.commitStartHeight) {
      throw verificationErrors.challengePeriodOver(`submission ${submission.id} is ${submission.status}; challenges are accepted until height ${window?.commitStartHeight ?? 0n} (exclusive), now ${ctx.height}`);
    }
    const open = this.openDispute(store, submission.id);
    if (open !== undefined) throw verificationErrors.alreadyDisputed(`submission ${submission.id} is in dispute ${open.id}`);
    // A submission scanned without a seed being stored (imported from a genesis older than
    // submission seeds) has no fixed seed: its dispute could only be drawn with a later beacon.
    // One not scanned yet (included in this very block) gets its seed in this block's endBlock.
    if (submission.id < this.moduleState(store).nextScanSubmissionId && this.submissionSeed(store, submission.id) === undefined) {
      throw verificationErrors.noSubmissionSeed(`submission ${submission.id} has no stored draw seed (imported from a genesis without submission seeds)`);
    }
    const params = this.params(store);
    const minimum = params.challengeBondMultiplier * window.baseReward;
    if (bond < minimum) throw verificationErrors.bondTooLow(`bond ${bond}${DENOM} < ${params.challengeBondMultiplier} × base reward ${window.baseReward} = ${minimum}${DENOM}`);

    this.deps.bank.send(store, ctx.events, challenger, VERIFICATION_MODULE_ADDRESS, [{ denom: DENOM, amount: bond }]);
    const dispute = this.newDispute(ctx, submission, window.baseReward, {
      origin: DisputeOrigin.DISPUTE_ORIGIN_CHALLENGE, challenger: msg.challenger, bond, stage: DisputeStage.DISPUTE_STAGE_L2_DRAW,
    });
    return dispute.id;
  }

  /** An L1 verifier's result, or an L2 verifier's answer: a commitment, then (a later block) its reveal. */
  submitVerification(ctx: Context, msg: MsgSubmitVerification): { result: 'committed' | 'match' | 'mismatch'; disputeId: bigint } {
    decodeAddress(msg.verifier, 'verifier');
    const phase = verificationPhase(msg);
    const { store } = ctx;
    const submission = this.requireSubmission(store, msg.submissionId);
    if (msg.verifier === submission.miner) throw verificationErrors.minerCannotVote(`${msg.verifier} mined submission ${submission.id}`);
    const dispute = this.openDispute(store, submission.id);
    if (dispute !== undefined && dispute.challenger === msg.verifier) throw verificationErrors.challengerCannotVote(`${msg.verifier} challenged in dispute ${dispute.id}`);
    const match = bytesEqual(msg.resultHash, submission.gradientHash);

    if (dispute !== undefined && dispute.l2Verifier === msg.verifier) {
      if (dispute.stage !== DisputeStage.DISPUTE_STAGE_L2_ANSWER) throw verificationErrors.alreadyVoted(`${msg.verifier} already answered in dispute ${dispute.id}`);
      if (phase === 'commit') {
        const commitDeadline = commitDeadlineOf(dispute);
        if (ctx.height > commitDeadline) throw verificationErrors.late(`dispute ${dispute.id}: commitments until height ${commitDeadline}, now ${ctx.height}`);
        if (dispute.l2Commitment.length !== 0) throw verificationErrors.alreadyCommitted(`${msg.verifier} in dispute ${dispute.id}`);
        dispute.l2Commitment = Buffer.from(msg.commitment);
        dispute.l2CommitHeight = ctx.height;
        this.setDispute(store, dispute);
        emitCommitted(ctx, 'l2', dispute.id, msg.verifier);
        return { result: 'committed', disputeId: dispute.id };
      }
      if (ctx.height > dispute.nextActionHeight) throw verificationErrors.late(`dispute ${dispute.id}: answers until height ${dispute.nextActionHeight}, now ${ctx.height}`);
      checkReveal(ctx, dispute.l2Commitment, dispute.l2CommitHeight, commitDomain('l2', dispute.id, dispute.l2Round), msg.resultHash, msg.salt, msg.verifier);
      dispute.l2ResultHash = Buffer.from(msg.resultHash);
      ctx.events.emit('verifier_answer', [
        ['dispute', dispute.id.toString()], ['verifier', msg.verifier], ['agrees_with', match ? 'miner' : 'challenger'],
        ['result_hash', toHex(msg.resultHash), false],
      ]);
      this.payL2Fee(ctx, dispute);
      if (match) this.settle(ctx, dispute, DisputeOutcome.DISPUTE_OUTCOME_CHALLENGE_REJECTED, 'the L2 verifier reproduced the miner\'s result');
      else this.escalateOrBisect(ctx, dispute, 'the L2 verifier agrees with the challenger');
      return { result: match ? 'match' : 'mismatch', disputeId: dispute.id };
    }
    if (dispute !== undefined && dispute.l2Missed.includes(msg.verifier)) {
      throw verificationErrors.late(`${msg.verifier} missed its deadline in dispute ${dispute.id}`);
    }

    const trap = this.pendingTrap(store, msg.verifier, submission.id);
    const check = trap?.check ?? this.l1Check(store, submission.id);
    if (check === undefined || check.verifier !== msg.verifier) {
      throw verificationErrors.notDrawnVerifier(`${msg.verifier} for submission ${submission.id}`);
    }
    this.requirePendingL1(ctx, check);
    const save = () => (trap === undefined ? this.setL1Check(store, check) : this.setTrapCheck(store, trap));
    if (phase === 'commit') {
      const commitDeadline = check.commitDeadlineHeight === 0n ? check.deadlineHeight : check.commitDeadlineHeight;
      if (ctx.height > commitDeadline) throw verificationErrors.late(`L1 check of submission ${check.submissionId}: commitments until height ${commitDeadline}, now ${ctx.height}`);
      if (check.commitment.length !== 0) throw verificationErrors.alreadyCommitted(`${msg.verifier} for submission ${check.submissionId}`);
      check.commitment = Buffer.from(msg.commitment);
      check.commitHeight = ctx.height;
      save();
      emitCommitted(ctx, 'l1', check.submissionId, msg.verifier);
      return { result: 'committed', disputeId: 0n };
    }
    checkReveal(ctx, check.commitment, check.commitHeight, commitDomain('l1', check.submissionId), msg.resultHash, msg.salt, msg.verifier);
    if (trap !== undefined) return this.answerTrap(ctx, trap, msg.resultHash);
    check.status = match ? L1Status.L1_STATUS_MATCH : L1Status.L1_STATUS_MISMATCH;
    check.resultHash = Buffer.from(msg.resultHash);
    check.answerHeight = ctx.height;
    ctx.events.emit('l1_verification', [
      ['submission', submission.id.toString()], ['verifier', msg.verifier], ['result', match ? 'match' : 'mismatch'],
      ['result_hash', toHex(msg.resultHash), false],
    ]);
    let disputeId = 0n;
    if (!match) disputeId = this.flag(ctx, submission, check, dispute, false);
    else this.setL1Check(store, check);
    return { result: match ? 'match' : 'mismatch', disputeId };
  }

  /**
   * A trap's reveal (README "Trap checks"): the same response and `l1_verification` event as an
   * L1 answer; then the chain compares with the result the L3 panel established: equal → passed
   * (one credit, paid like a confirmed L1 check); anything else — the shown claim copied, or any
   * other hash — failed: the trap penalty (`wrong_result_penalty_fraction`).
   */
  private answerTrap(ctx: Context, trap: TrapCheck, resultHash: Uint8Array): { result: 'match' | 'mismatch'; disputeId: bigint } {
    const check = trap.check!;
    const match = bytesEqual(resultHash, check.claimedHash);
    check.status = match ? L1Status.L1_STATUS_MATCH : L1Status.L1_STATUS_MISMATCH;
    check.resultHash = Buffer.from(resultHash);
    check.answerHeight = ctx.height;
    ctx.events.emit('l1_verification', [
      ['submission', check.submissionId.toString()], ['verifier', check.verifier], ['result', match ? 'match' : 'mismatch'],
      ['result_hash', toHex(resultHash), false],
    ]);
    const passed = bytesEqual(resultHash, trap.trueHash);
    check.credited = passed;
    this.setTrapCheck(ctx.store, trap);
    const attributes: Array<[string, string]> = [['trap', trap.trapId.toString()], ['submission', check.submissionId.toString()], ['verifier', check.verifier]];
    if (passed) {
      this.addCredit(ctx.store, check.verifier);
      ctx.events.emit('trap_passed', attributes);
    } else {
      ctx.events.emit('trap_failed', [...attributes, ['copied_claim', String(match)]]);
      this.penalize(ctx, check.verifier, this.resolvedParams(ctx.store).wrongResultPenalty, 'trap-failed', `trap ${trap.trapId} on submission ${check.submissionId}`);
    }
    return { result: match ? 'match' : 'mismatch', disputeId: 0n };
  }

  /**
   * A submission an L3 panel decided becomes a trap source: NO_FAULT → established result = the
   * miner's hash, shown claim = a perturbation of it; MINER_AT_FAULT by a majority of seats
   * voting one and the same result → established result = that hash, shown claim = the miner's
   * public (wrong) hash. At most TRAP_POOL_MAX sources: the oldest submission goes first.
   */
  private addTrapSource(ctx: Context, dispute: Dispute, outcome: DisputeOutcome): void {
    // A one-step panel decided one state hash, not the chunk's gradient hash: it establishes no
    // L1 answer, so it makes no trap source (a bisection that fell back to the whole chunk does).
    if (dispute.bisectOneStep) return;
    const active = dispute.panel.filter((s) => !s.missed);
    const threshold = Math.floor(active.length / 2) + 1;
    let trueHash: Uint8Array | undefined;
    let claimedHash: Uint8Array | undefined;
    if (outcome === DisputeOutcome.DISPUTE_OUTCOME_NO_FAULT) {
      trueHash = dispute.expectedHash;
      claimedHash = sha256(concatBytes(utf8('r3mes/verification/trap-claim'), dispute.submissionSeed, dispute.expectedHash));
    } else if (outcome === DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT) {
      for (const seat of active) {
        if (!seat.voted || seat.unavailable || bytesEqual(seat.resultHash, dispute.expectedHash)) continue;
        const same = active.filter((s) => s.voted && !s.unavailable && bytesEqual(s.resultHash, seat.resultHash)).length;
        if (same >= threshold) {
          trueHash = seat.resultHash;
          claimedHash = dispute.expectedHash;
          break;
        }
      }
    }
    if (trueHash === undefined || claimedHash === undefined || this.deps.training.submission(ctx.store, dispute.submissionId) === undefined) return;
    this.setTrapSource(ctx.store, { submissionId: dispute.submissionId, trueHash: Buffer.from(trueHash), claimedHash: Buffer.from(claimedHash) });
    const ids = [...this.view(ctx.store).iterate(keys.trapSourcePrefix)].map(([key]) => readU64be(key.subarray(keys.trapSourcePrefix.length)));
    for (const id of ids.slice(0, Math.max(0, ids.length - TRAP_POOL_MAX))) this.view(ctx.store).delete(keys.trapSource(id));
  }

  /**
   * In the scan of a new submission: with `trap_sample_bps`, a trap check on a trap source
   * (drawn uniformly), to a verifier drawn uniformly among the bonded validators (every
   * validator faces the same trap rate whatever its stake), not the source's miner or L1
   * verifier, the new submission's miner, nor one holding a pending check on that source.
   * Seeded like the L1 draws.
   */
  private issueTrap(ctx: Context, submission: SubmissionView, candidates: Lazy<Candidate[]>, params: Params, seed: Buffer): void {
    if (params.trapSampleBps === 0n) return;
    const id = submission.id.toString();
    const weights: Candidate[] = [{ id: 'trap', stake: params.trapSampleBps }, { id: 'none', stake: BPS - params.trapSampleBps }];
    if (this.deps.drawer.draw(ctx, DRAW.trap, id, weights, 1)[0].id !== 'trap') return;
    const sources = [...this.trapSources(ctx.store)];
    if (sources.length === 0) return;
    const [picked] = this.deps.drawer.draw(ctx, DRAW.trapSource, id, sources.map((s) => ({ id: s.submissionId.toString(), stake: 1n })), 1);
    const source = sources.find((s) => s.submissionId.toString() === picked.id)!;
    const sourceSubmission = this.deps.training.submission(ctx.store, source.submissionId);
    if (sourceSubmission === undefined) return;
    const view = this.view(ctx.store);
    // Not the source's miner, nor its own L1 verifier (who answered it once), nor the new submission's miner.
    const sourceVerifier = this.l1Check(ctx.store, source.submissionId)?.verifier ?? '';
    const exclusions = [sourceSubmission.miner, sourceVerifier, submission.miner, ...candidates.get().filter((c) => view.has(keys.l1ByVerifier(c.id, source.submissionId))).map((c) => c.id)];
    const uniform = candidates.get().map((c) => ({ id: c.id, stake: 1n }));
    if (eligible(uniform, exclusions) === 0) return;
    const [verifier] = this.deps.drawer.draw(ctx, DRAW.trapVerifier, id, uniform, 1, exclusions);
    const state = this.moduleState(ctx.store);
    const trapId = state.nextTrapId === 0n ? 1n : state.nextTrapId;
    state.nextTrapId = trapId + 1n;
    this.setModuleState(ctx.store, state);
    const check: L1Check = {
      submissionId: source.submissionId, miner: sourceSubmission.miner, verifier: verifier.id, seed, drawnHeight: ctx.height,
      deadlineHeight: ctx.height + params.l1ResponseBlocks + params.revealBlocks, status: L1Status.L1_STATUS_PENDING,
      resultHash: Buffer.alloc(0), answerHeight: 0n, disputeId: 0n, credited: false,
      commitment: Buffer.alloc(0), commitHeight: 0n, commitDeadlineHeight: ctx.height + params.l1ResponseBlocks, claimedHash: Buffer.from(source.claimedHash),
    };
    this.setTrapCheck(ctx.store, { trapId, check, trueHash: Buffer.from(source.trueHash) });
    // The same event as a sampled L1 check: the duty view does not tell a trap.
    ctx.events.emit('l1_sampled', [
      ['submission', source.submissionId.toString()], ['miner', sourceSubmission.miner], ['verifier', verifier.id],
      ['deadline_height', check.deadlineHeight.toString()], ['seed', toHex(seed), false],
    ]);
  }

  /** Data availability: a drawn verifier (L1, L2) or a panel arbiter reports the CID unserved. */
  reportUnavailable(ctx: Context, msg: MsgReportUnavailable): bigint {
    decodeAddress(msg.reporter, 'reporter');
    const { store } = ctx;
    const submission = this.requireSubmission(store, msg.submissionId);
    if (msg.reporter === submission.miner) throw verificationErrors.minerCannotVote(`${msg.reporter} mined submission ${submission.id}`);
    const dispute = this.openDispute(store, submission.id);
    if (dispute !== undefined && dispute.challenger === msg.reporter) throw verificationErrors.challengerCannotVote(`${msg.reporter} challenged in dispute ${dispute.id}`);

    if (dispute !== undefined) {
      if (dispute.stage === DisputeStage.DISPUTE_STAGE_L2_ANSWER && dispute.l2Verifier === msg.reporter) {
        if (ctx.height > dispute.nextActionHeight) throw verificationErrors.late(`dispute ${dispute.id}: answers until height ${dispute.nextActionHeight}, now ${ctx.height}`);
        this.markUnavailable(ctx, dispute, msg.reporter);
        this.payL2Fee(ctx, dispute);
        this.escalate(ctx, dispute, 'the L2 verifier reports the gradient unavailable');
        return dispute.id;
      }
      const seat = activeSeat(dispute, msg.reporter);
      if (seat !== undefined && dispute.stage === DisputeStage.DISPUTE_STAGE_L3_VOTING) {
        if (ctx.height > dispute.nextActionHeight) throw verificationErrors.late(`dispute ${dispute.id}: reports until height ${dispute.nextActionHeight}, now ${ctx.height}`);
        if (dispute.unavailableReported) throw verificationErrors.alreadyReported(`dispute ${dispute.id} by ${dispute.unavailableReporter}`);
        this.markUnavailable(ctx, dispute, msg.reporter);
        this.setDispute(store, dispute);
        return dispute.id;
      }
      if (dispute.l2Missed.includes(msg.reporter) || dispute.panel.some((s) => s.arbiter === msg.reporter && s.missed)) {
        throw verificationErrors.late(`${msg.reporter} missed its deadline in dispute ${dispute.id}`);
      }
    }
    const trap = this.pendingTrap(store, msg.reporter, submission.id);
    if (trap !== undefined) {
      // A trap's source may be old: its data need not be served any more. Neither paid nor penalised.
      this.requirePendingL1(ctx, trap.check!);
      trap.check!.status = L1Status.L1_STATUS_UNAVAILABLE;
      trap.check!.answerHeight = ctx.height;
      this.setTrapCheck(store, trap);
      ctx.events.emit('l1_verification', [['submission', submission.id.toString()], ['verifier', msg.reporter], ['result', 'unavailable']]);
      ctx.events.emit('trap_unavailable', [['trap', trap.trapId.toString()], ['submission', submission.id.toString()], ['verifier', msg.reporter]]);
      return 0n;
    }
    const check = this.l1Check(store, submission.id);
    if (check === undefined || check.verifier !== msg.reporter) throw verificationErrors.notDrawnVerifier(`${msg.reporter} for submission ${submission.id}`);
    this.requirePendingL1(ctx, check);
    check.status = L1Status.L1_STATUS_UNAVAILABLE;
    check.answerHeight = ctx.height;
    ctx.events.emit('l1_verification', [['submission', submission.id.toString()], ['verifier', msg.reporter], ['result', 'unavailable']]);
    return this.flag(ctx, submission, check, dispute, true);
  }

  /** L3: a panel arbiter's CPU re-execution result (or unavailability), committed then revealed; 2 of 3 decide. */
  arbiterVote(ctx: Context, msg: MsgArbiterVote): OutcomeName {
    decodeAddress(msg.arbiter, 'arbiter');
    const phase = votePhase(msg);
    const { store } = ctx;
    const dispute = this.requireDispute(store, msg.disputeId);
    if (dispute.stage === DisputeStage.DISPUTE_STAGE_RESOLVED) throw verificationErrors.disputeResolved(`dispute ${dispute.id} was resolved at height ${dispute.resolvedHeight}`);
    if (dispute.challenger === msg.arbiter) throw verificationErrors.challengerCannotVote(`${msg.arbiter} challenged in dispute ${dispute.id}`);
    if (dispute.miner === msg.arbiter) throw verificationErrors.minerCannotVote(`${msg.arbiter} mined submission ${dispute.submissionId}`);
    if (dispute.stage !== DisputeStage.DISPUTE_STAGE_L3_VOTING) throw verificationErrors.notVoting(`dispute ${dispute.id} has no panel voting now`);
    const seats = dispute.panel.filter((s) => s.arbiter === msg.arbiter);
    if (seats.length === 0) throw verificationErrors.notOnPanel(`${msg.arbiter} in dispute ${dispute.id}`);
    const seat = seats.find((s) => !s.missed);
    if (seat === undefined || ctx.height > dispute.nextActionHeight) throw verificationErrors.late(`dispute ${dispute.id}: votes until height ${dispute.nextActionHeight}, now ${ctx.height}`);
    if (seat.voted) throw verificationErrors.alreadyVoted(`${msg.arbiter} in dispute ${dispute.id}`);
    const commitDeadline = commitDeadlineOf(dispute);
    if (phase === 'commit') {
      if (ctx.height > commitDeadline) throw verificationErrors.late(`dispute ${dispute.id}: commitments until height ${commitDeadline}, now ${ctx.height}`);
      if (seat.commitment.length !== 0) throw verificationErrors.alreadyCommitted(`${msg.arbiter} in dispute ${dispute.id}`);
      seat.commitment = Buffer.from(msg.commitment);
      seat.commitHeight = ctx.height;
      this.setDispute(store, dispute);
      emitCommitted(ctx, 'l3', dispute.id, msg.arbiter);
      return OUTCOME_NAMES[dispute.outcome];
    }
    if (msg.unavailable && !dispute.unavailableReported) throw verificationErrors.noUnavailabilityReport(`dispute ${dispute.id}`);
    // No reveal while a seat may still commit: it could copy the votes revealed so far.
    if (ctx.height <= commitDeadline && dispute.panel.some((s) => !s.missed && s.commitment.length === 0)) {
      throw verificationErrors.revealTooEarly(`dispute ${dispute.id}: reveals open once every active seat has committed or after height ${commitDeadline}`);
    }
    checkReveal(ctx, seat.commitment, seat.commitHeight, commitDomain('l3', dispute.id), msg.unavailable ? UNAVAILABLE_RESULT : msg.resultHash, msg.salt, msg.arbiter);

    seat.voted = true;
    seat.unavailable = msg.unavailable;
    seat.resultHash = Buffer.from(msg.resultHash);
    seat.voteHeight = ctx.height;
    const vote = msg.unavailable ? 'unavailable' : bytesEqual(msg.resultHash, panelExpectedHash(dispute)) ? 'no-fault' : 'fault';
    ctx.events.emit('arbiter_vote', [
      ['dispute', dispute.id.toString()], ['arbiter', msg.arbiter], ['vote', vote], ['round', seat.round.toString()],
      ['result_hash', toHex(msg.resultHash), false],
    ]);
    if (!this.tryDecide(ctx, dispute)) this.setDispute(store, dispute);
    return OUTCOME_NAMES[dispute.outcome];
  }

  // ---------------------------------------------------------------- bisection (README "Bisection")

  /** The miner's move: stateHash at the step the chain names, its proof against the trace root, the state's CID. */
  bisectReveal(ctx: Context, msg: MsgBisectReveal): bigint {
    decodeAddress(msg.miner, 'miner');
    validateRevealShape(msg);
    const dispute = this.requireBisecting(ctx, msg.disputeId);
    if (msg.miner !== dispute.miner) throw verificationErrors.notYourMove(`${msg.miner} is not the miner of dispute ${dispute.id} (${dispute.miner})`);
    if (bisectTurn(dispute) !== 'miner') throw verificationErrors.notYourMove(`dispute ${dispute.id}: the disputer answers step ${dispute.bisectPendingStep} first`);
    const { steps, step } = checkRevealStep(dispute, msg);
    const submission = this.requireSubmission(ctx.store, dispute.submissionId);
    if (!verifyTraceInclusion(msg.stateHash, step, steps + 1n, msg.proof, submission.traceRoot)) {
      throw verificationErrors.badProof(`dispute ${dispute.id}: stateHash_${step} ${toHex(msg.stateHash)} with ${msg.proof.length} siblings does not hash to the trace root ${toHex(submission.traceRoot)} of ${steps + 1n} leaves`);
    }
    const previousDue = dueHeight(dispute);
    const deadline = dispute.nextActionHeight;
    dispute.bisectSteps = steps;
    dispute.bisectPendingStep = step;
    dispute.bisectPendingHash = Buffer.from(msg.stateHash);
    dispute.bisectPendingCid = msg.stateCid;
    recordMove(dispute, { party: 'miner', step, height: ctx.height, deadlineHeight: deadline, hash: Buffer.from(msg.stateHash) });
    this.nextMove(ctx, dispute);
    this.setDispute(ctx.store, dispute, previousDue);
    ctx.events.emit('bisect_reveal', [
      ['dispute', dispute.id.toString()], ['step', step.toString()], ['steps', steps.toString()], ['deadline_height', dispute.nextActionHeight.toString()],
      ['state_hash', toHex(msg.stateHash), false], ['state_cid', msg.stateCid, false],
    ]);
    return step;
  }

  /** The disputer's move: agree or disagree with the miner's hash at the pending step. */
  bisectRespond(ctx: Context, msg: MsgBisectRespond): 'bisecting' | 'one-step' | 'whole-chunk' {
    decodeAddress(msg.disputer, 'disputer');
    validateRespondShape(msg);
    const dispute = this.requireBisecting(ctx, msg.disputeId);
    if (msg.disputer !== dispute.bisectDisputer) throw verificationErrors.notYourMove(`${msg.disputer} is not the disputer of dispute ${dispute.id} (${dispute.bisectDisputer})`);
    if (bisectTurn(dispute) !== 'disputer') throw verificationErrors.notYourMove(`dispute ${dispute.id}: the miner reveals step ${dispute.bisectSteps === 0n ? 'n' : requestedStep(dispute)} first`);
    if (msg.step !== dispute.bisectPendingStep) throw verificationErrors.wrongStep(`dispute ${dispute.id}: step ${dispute.bisectPendingStep} is pending, not ${msg.step}`);
    const previousDue = dueHeight(dispute);
    const step = dispute.bisectPendingStep;
    const mismatch = stepsMismatch(dispute, msg);
    if (mismatch !== undefined) {
      dispute.bisectPendingHash = Buffer.alloc(0);
      dispute.bisectPendingCid = '';
      dispute.bisectPendingStep = 0n;
      recordMove(dispute, { party: 'disputer', step, height: ctx.height, deadlineHeight: dispute.nextActionHeight, agree: false });
      ctx.events.emit('bisect_answer', [
        ['dispute', dispute.id.toString()], ['step', step.toString()], ['agree', 'false'], ['status', 'whole-chunk'], ['own_hash', '', false],
      ]);
      dispute.bisectMoves += 1n;
      dispute.bisectWholeChunkReason = mismatch;
      this.escalate(ctx, dispute, `bisection does not apply: ${mismatch}`, previousDue);
      return 'whole-chunk';
    }
    const root = checkOwnHash(dispute, msg);
    const effect = applyAnswer(dispute, msg.agree);
    dispute.bisectDisputerRoot = Buffer.from(root);
    if (!msg.agree && effect.kind !== 'whole-chunk') dispute.bisectDisputerHiHash = Buffer.from(msg.ownHash);
    recordMove(dispute, { party: 'disputer', step, height: ctx.height, deadlineHeight: dispute.nextActionHeight, hash: Buffer.from(msg.ownHash), agree: msg.agree });
    ctx.events.emit('bisect_answer', [
      ['dispute', dispute.id.toString()], ['step', step.toString()], ['agree', String(msg.agree)], ['status', effect.kind],
      ['own_hash', toHex(msg.ownHash), false],
    ]);
    if (effect.kind === 'bisecting') {
      this.nextMove(ctx, dispute);
      this.setDispute(ctx.store, dispute, previousDue);
    } else if (effect.kind === 'one-step') {
      dispute.bisectMoves += 1n;
      this.escalate(ctx, dispute, `bisection: one step, ${dispute.bisectLo} → ${dispute.bisectHi}`, previousDue);
    } else {
      dispute.bisectMoves += 1n;
      dispute.bisectWholeChunkReason = effect.reason;
      this.escalate(ctx, dispute, `bisection does not apply: ${effect.reason}`, previousDue);
    }
    return effect.kind;
  }

  private requireBisecting(ctx: Context, disputeId: bigint): Dispute {
    const dispute = this.requireDispute(ctx.store, disputeId);
    if (dispute.stage === DisputeStage.DISPUTE_STAGE_RESOLVED) throw verificationErrors.disputeResolved(`dispute ${dispute.id} was resolved at height ${dispute.resolvedHeight}`);
    if (dispute.stage !== DisputeStage.DISPUTE_STAGE_BISECTION) throw verificationErrors.notBisecting(`dispute ${dispute.id} is not bisecting`);
    if (ctx.height > dispute.nextActionHeight) throw verificationErrors.late(`dispute ${dispute.id}: this move was due by height ${dispute.nextActionHeight}, now ${ctx.height}`);
    return dispute;
  }

  /** A move was made: the other party has bisect_round_blocks from this block. */
  private nextMove(ctx: Context, dispute: Dispute): void {
    dispute.bisectMoves += 1n;
    dispute.nextActionHeight = ctx.height + this.params(ctx.store).bisectRoundBlocks;
  }

  /**
   * Where a dispute would go to the whole-chunk panel: to bisection instead when it applies
   * (bisect_round_blocks > 0, nobody reported the data unavailable). Returns whether it bisects;
   * otherwise it has escalated (the caller draws the panel now or the endBlock does).
   */
  private escalateOrBisect(ctx: Context, dispute: Dispute, reason: string): boolean {
    const rounds = this.params(ctx.store).bisectRoundBlocks;
    if (rounds === 0n || dispute.unavailableReported) {
      this.escalate(ctx, dispute, reason);
      return false;
    }
    const previousDue = dueHeight(dispute);
    dispute.bisectDisputer = dispute.origin === DisputeOrigin.DISPUTE_ORIGIN_CHALLENGE ? dispute.challenger : dispute.l1Verifier;
    dispute.stage = DisputeStage.DISPUTE_STAGE_BISECTION;
    dispute.nextActionHeight = ctx.height + rounds;
    this.setDispute(ctx.store, dispute, previousDue);
    ctx.events.emit('bisection_started', [
      ['dispute', dispute.id.toString()], ['submission', dispute.submissionId.toString()], ['miner', dispute.miner],
      ['disputer', dispute.bisectDisputer], ['deadline_height', dispute.nextActionHeight.toString()], ['reason', reason, false],
    ]);
    return true;
  }

  /**
   * A bisection move not made by its deadline: that party loses. The miner → MINER_AT_FAULT
   * (slash, reject, bond and bounty to the challenger, as a panel's decision); the disputer →
   * CHALLENGE_REJECTED (the bond to the miner), and a disputing L1 verifier a liveness penalty.
   */
  private bisectionTimeout(ctx: Context, dispute: Dispute, params: VerificationParams): void {
    const step = dispute.bisectSteps === 0n ? 'n' : dispute.bisectPendingHash.length === 0 ? `${requestedStep(dispute)}` : `${dispute.bisectPendingStep}`;
    const missed = bisectTurn(dispute) === 'miner' ? 'miner' : 'disputer';
    recordMove(dispute, { party: missed, step: missed === 'miner' ? (dispute.bisectSteps === 0n ? 0n : requestedStep(dispute)) : dispute.bisectPendingStep, height: ctx.height, deadlineHeight: dispute.nextActionHeight, missed: true });
    if (missed === 'miner') {
      ctx.events.emit('bisect_missed', [['dispute', dispute.id.toString()], ['party', dispute.miner], ['role', 'miner'], ['step', step]]);
      this.settle(ctx, dispute, DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT, `bisection: the miner did not reveal step ${step} by height ${dispute.nextActionHeight}`);
      return;
    }
    ctx.events.emit('bisect_missed', [['dispute', dispute.id.toString()], ['party', dispute.bisectDisputer], ['role', 'disputer'], ['step', step]]);
    if (dispute.origin === DisputeOrigin.DISPUTE_ORIGIN_L1_FLAG) this.penalize(ctx, dispute.bisectDisputer, params.livenessPenalty, 'missed-deadline', `dispute ${dispute.id}`);
    this.settle(ctx, dispute, DisputeOutcome.DISPUTE_OUTCOME_CHALLENGE_REJECTED, `bisection: the disputer did not answer step ${step} by height ${dispute.nextActionHeight}`);
  }

  // ---------------------------------------------------------------- block hook

  /**
   * endBlock, in this order (README "Lifecycle"): (1) new submissions get this block's seed
   * stored as their submission seed, are sampled for L1 and their verifiers drawn; (2) L1
   * checks past their deadline are marked missed; (3) disputes due at or before this height
   * advance, ascending by (height, id): draws (with the submission seed), timeouts, redraws;
   * (4) submission seeds no dispute can need any more are pruned.
   */
  endBlock(ctx: Context): void {
    const candidates = new Lazy(() => this.deps.staking.validatorCandidates(ctx.store).filter((c) => c.stake > 0n));
    this.scanSubmissions(ctx, candidates);
    this.expireL1(ctx);
    this.advanceDue(ctx, candidates);
    this.pruneSeeds(ctx);
  }

  private scanSubmissions(ctx: Context, candidates: Lazy<Candidate[]>): void {
    const { store } = ctx;
    const state = this.moduleState(store);
    const next = this.deps.training.nextSubmissionId(store);
    if (state.nextScanSubmissionId >= next) return;
    const params = this.params(store);
    const blockSeed = Buffer.from(this.deps.drawer.seed(ctx));
    for (let id = state.nextScanSubmissionId; id < next; id++) {
      const submission = this.deps.training.submission(store, id);
      if (submission === undefined || submission.status !== 'pending') continue;
      // Every pending submission, sampled or not: the seed of its dispute draws, fixed now.
      this.setSubmissionSeed(store, id, blockSeed);
      this.issueTrap(ctx, submission, candidates, params, blockSeed);
      const sampleWeights: Candidate[] = [{ id: 'check', stake: params.l1SampleBps }, { id: 'skip', stake: BPS - params.l1SampleBps }];
      const sampled = this.deps.drawer.draw(ctx, DRAW.l1Sample, id.toString(), sampleWeights, 1)[0].id === 'check';
      if (!sampled) continue;
      const exclusions = [submission.miner];
      if (eligible(candidates.get(), exclusions) === 0) {
        ctx.events.emit('l1_skipped', [['submission', id.toString()], ['reason', 'no eligible verifier']]);
        continue;
      }
      const seed = blockSeed;
      const [verifier] = this.deps.drawer.draw(ctx, DRAW.l1Verifier, id.toString(), candidates.get(), 1, exclusions);
      const check: L1Check = {
        submissionId: id, miner: submission.miner, verifier: verifier.id, seed, drawnHeight: ctx.height,
        deadlineHeight: ctx.height + params.l1ResponseBlocks + params.revealBlocks, status: L1Status.L1_STATUS_PENDING,
        resultHash: Buffer.alloc(0), answerHeight: 0n, disputeId: 0n, credited: false,
        commitment: Buffer.alloc(0), commitHeight: 0n, commitDeadlineHeight: ctx.height + params.l1ResponseBlocks,
        claimedHash: Buffer.from(submission.gradientHash),
      };
      this.setL1Check(store, check);
      ctx.events.emit('l1_sampled', [
        ['submission', id.toString()], ['miner', submission.miner], ['verifier', verifier.id],
        ['deadline_height', check.deadlineHeight.toString()], ['seed', toHex(seed), false],
      ]);
    }
    // Re-read: issuing a trap advanced next_trap_id.
    this.setModuleState(store, { ...this.moduleState(store), nextScanSubmissionId: next });
  }

  /**
   * Deletes submission seeds, ascending by submission id, while no dispute can be opened on the
   * submission any more: it is gone or no longer pending, or its window's challenge period is
   * over (h ≥ commit_start_height). Stops at the first seed still needed, so a later submission
   * of a window that closes earlier waits for it (bounded by the longest challenge period).
   * Disputes hold their own copy (`submission_seed`), taken at the latest in the endBlock that
   * opened them, before this runs; an L1 flag after pruning uses its L1 check's seed (the same).
   */
  private pruneSeeds(ctx: Context): void {
    const { store } = ctx;
    const prunable: bigint[] = [];
    for (const { submissionId } of this.submissionSeeds(store)) {
      const submission = this.deps.training.submission(store, submissionId);
      const window = submission === undefined ? undefined : this.deps.training.window(store, submission.windowId);
      if (submission !== undefined && submission.status === 'pending' && window !== undefined && ctx.height < window.commitStartHeight) break;
      prunable.push(submissionId);
    }
    for (const id of prunable) {
      this.view(store).delete(keys.seed(id));
      this.confirmMatch(ctx, id);
    }
  }

  private expireL1(ctx: Context): void {
    this.expireTraps(ctx);
    const { store } = ctx;
    const due: bigint[] = [];
    for (const [key] of this.view(store).iterate(keys.l1DuePrefix)) {
      const height = readU64be(key.subarray(2, 10));
      if (height >= ctx.height) break; // the deadline block itself still accepts answers
      due.push(readU64be(key.subarray(10, 18)));
    }
    if (due.length === 0) return;
    const params = this.resolvedParams(store);
    for (const submissionId of due) {
      const check = this.l1Check(store, submissionId);
      if (check === undefined) continue;
      if (check.status !== L1Status.L1_STATUS_PENDING) {
        this.view(store).delete(keys.l1Due(check.deadlineHeight, submissionId));
        continue;
      }
      check.status = L1Status.L1_STATUS_MISSED;
      this.setL1Check(store, check);
      ctx.events.emit('l1_missed', [['submission', submissionId.toString()], ['verifier', check.verifier]]);
      this.penalize(ctx, check.verifier, params.livenessPenalty, 'missed-deadline', `l1 submission ${submissionId}`);
    }
  }

  /** Trap checks past their reveal deadline: missed, exactly as an L1 check (liveness penalty, `l1_missed`). */
  private expireTraps(ctx: Context): void {
    const due: bigint[] = [];
    for (const [key] of this.view(ctx.store).iterate(keys.trapDuePrefix)) {
      if (readU64be(key.subarray(2, 10)) >= ctx.height) break;
      due.push(readU64be(key.subarray(10, 18)));
    }
    if (due.length === 0) return;
    const params = this.resolvedParams(ctx.store);
    for (const trapId of due) {
      const trap = this.trapCheck(ctx.store, trapId)!;
      const check = trap.check!;
      if (check.status !== L1Status.L1_STATUS_PENDING) {
        this.view(ctx.store).delete(keys.trapDue(check.deadlineHeight, trapId));
        continue;
      }
      check.status = L1Status.L1_STATUS_MISSED;
      this.setTrapCheck(ctx.store, trap);
      ctx.events.emit('l1_missed', [['submission', check.submissionId.toString()], ['verifier', check.verifier]]);
      this.penalize(ctx, check.verifier, params.livenessPenalty, 'missed-deadline', `l1 submission ${check.submissionId}`);
    }
  }

  private advanceDue(ctx: Context, candidates: Lazy<Candidate[]>): void {
    const { store } = ctx;
    const due: Array<[bigint, bigint]> = [];
    for (const [key] of this.view(store).iterate(keys.duePrefix)) {
      const height = readU64be(key.subarray(2, 10));
      if (height > ctx.height) break;
      due.push([height, readU64be(key.subarray(10, 18))]);
    }
    for (const [height, id] of due) {
      const dispute = this.dispute(store, id);
      this.view(store).delete(keys.due(height, id));
      if (dispute === undefined || dispute.stage === DisputeStage.DISPUTE_STAGE_RESOLVED || dueHeight(dispute) !== height) continue;
      this.advance(ctx, dispute, candidates.get());
    }
  }

  /** Moves a due dispute on: draw, or handle its deadline. */
  private advance(ctx: Context, dispute: Dispute, candidates: Candidate[]): void {
    const params = this.resolvedParams(ctx.store);
    switch (dispute.stage) {
      case DisputeStage.DISPUTE_STAGE_L2_DRAW:
        this.drawL2(ctx, dispute, candidates);
        return;
      case DisputeStage.DISPUTE_STAGE_L2_ANSWER: {
        const missed = dispute.l2Verifier;
        dispute.l2Missed.push(missed);
        dispute.l2Verifier = '';
        ctx.events.emit('verifier_missed', [['dispute', dispute.id.toString()], ['verifier', missed], ['round', dispute.l2Round.toString()]]);
        this.penalize(ctx, missed, params.livenessPenalty, 'missed-deadline', `dispute ${dispute.id}`);
        if (dispute.l2Round < params.raw.maxRedraws) {
          dispute.l2Round += 1n;
          this.drawL2(ctx, dispute, candidates);
        } else if (!this.escalateOrBisect(ctx, dispute, 'no L2 verifier answered')) {
          this.drawPanel(ctx, dispute, candidates, Number(params.raw.panelSize));
        }
        return;
      }
      case DisputeStage.DISPUTE_STAGE_BISECTION:
        this.bisectionTimeout(ctx, dispute, params);
        return;
      case DisputeStage.DISPUTE_STAGE_L3_DRAW:
        this.drawPanel(ctx, dispute, candidates, Number(params.raw.panelSize));
        return;
      case DisputeStage.DISPUTE_STAGE_L3_VOTING: {
        const missing = dispute.panel.filter((s) => !s.missed && !s.voted);
        for (const seat of missing) {
          seat.missed = true;
          ctx.events.emit('arbiter_missed', [['dispute', dispute.id.toString()], ['arbiter', seat.arbiter], ['round', seat.round.toString()]]);
          this.penalize(ctx, seat.arbiter, params.livenessPenalty, 'missed-deadline', `dispute ${dispute.id}`);
        }
        if (missing.length === 0 || dispute.l3Round >= params.raw.maxRedraws) {
          this.settle(ctx, dispute, DisputeOutcome.DISPUTE_OUTCOME_VOID, 'the panel reached no majority');
          return;
        }
        dispute.l3Round += 1n;
        this.drawPanel(ctx, dispute, candidates, missing.length);
        return;
      }
      default:
        throw new Error(`verification state: dispute ${dispute.id} due in stage ${dispute.stage}`);
    }
  }

  /** Draws the L2 verifier for the current round; none eligible → straight to the panel. */
  private drawL2(ctx: Context, dispute: Dispute, candidates: Candidate[]): void {
    const params = this.params(ctx.store);
    const previousDue = dueHeight(dispute);
    // The submission's L1 verifier already answered (or holds the check): L2 is another validator's opinion,
    // and one validator never holds two answers (two commitments) on one submission.
    const l1Verifier = this.l1Check(ctx.store, dispute.submissionId)?.verifier ?? '';
    const exclusions = [dispute.miner, dispute.challenger, l1Verifier, ...dispute.l2Missed].filter((a) => a !== '');
    if (eligible(candidates, exclusions) === 0) {
      if (!this.escalateOrBisect(ctx, dispute, 'no eligible L2 verifier')) this.drawPanel(ctx, dispute, candidates, Number(params.panelSize));
      return;
    }
    const seed = this.drawSeed(ctx, dispute);
    if (seed === undefined) return;
    const [verifier] = this.deps.drawer.drawWithSeed(seed, DRAW.l2Verifier, `${dispute.id}/${dispute.l2Round}`, candidates, 1, exclusions);
    dispute.draws.push({ purpose: DRAW.l2Verifier, round: dispute.l2Round, height: ctx.height, seed });
    dispute.l2Verifier = verifier.id;
    dispute.l2Commitment = Buffer.alloc(0);
    dispute.l2CommitHeight = 0n;
    dispute.stage = DisputeStage.DISPUTE_STAGE_L2_ANSWER;
    dispute.commitDeadlineHeight = ctx.height + params.l2ResponseBlocks;
    dispute.nextActionHeight = dispute.commitDeadlineHeight + params.revealBlocks;
    this.setDispute(ctx.store, dispute, previousDue);
    ctx.events.emit('verifier_drawn', [
      ['dispute', dispute.id.toString()], ['submission', dispute.submissionId.toString()], ['verifier', verifier.id],
      ['round', dispute.l2Round.toString()], ['deadline_height', dispute.nextActionHeight.toString()], ['seed', toHex(seed), false],
    ]);
  }

  /**
   * Draws `seats` arbiters (stake-weighted, without replacement) excluding the miner, the
   * challenger, the L1 and L2 verifiers and everyone who sat on the panel before. Fewer
   * eligible → fewer seats; none → the dispute is void.
   */
  private drawPanel(ctx: Context, dispute: Dispute, candidates: Candidate[], seats: number): void {
    const params = this.params(ctx.store);
    const previousDue = dueHeight(dispute);
    const exclusions = [
      dispute.miner, dispute.challenger, dispute.l1Verifier, dispute.l2Verifier, ...dispute.l2Missed, ...dispute.panel.map((s) => s.arbiter),
    ].filter((a) => a !== '');
    const k = Math.min(seats, eligible(candidates, exclusions));
    if (k === 0) {
      this.settle(ctx, dispute, DisputeOutcome.DISPUTE_OUTCOME_VOID, 'no eligible arbiters');
      return;
    }
    const seed = this.drawSeed(ctx, dispute);
    if (seed === undefined) return;
    const drawn = this.deps.drawer.drawWithSeed(seed, DRAW.l3Panel, `${dispute.id}/${dispute.l3Round}`, candidates, k, exclusions);
    dispute.draws.push({ purpose: DRAW.l3Panel, round: dispute.l3Round, height: ctx.height, seed });
    for (const arbiter of drawn) {
      dispute.panel.push({
        arbiter: arbiter.id, round: dispute.l3Round, voted: false, resultHash: Buffer.alloc(0), unavailable: false, voteHeight: 0n, missed: false,
        commitment: Buffer.alloc(0), commitHeight: 0n,
      });
    }
    dispute.stage = DisputeStage.DISPUTE_STAGE_L3_VOTING;
    dispute.commitDeadlineHeight = ctx.height + params.l3VoteBlocks;
    dispute.nextActionHeight = dispute.commitDeadlineHeight + params.revealBlocks;
    ctx.events.emit('panel_drawn', [
      ['dispute', dispute.id.toString()], ['submission', dispute.submissionId.toString()], ['round', dispute.l3Round.toString()],
      ['arbiters', drawn.map((a) => a.id).join(',')], ['deadline_height', dispute.nextActionHeight.toString()], ['seed', toHex(seed), false],
    ]);
    // A redrawn panel may already hold a majority among the seats that remain.
    if (!this.tryDecide(ctx, dispute, previousDue)) this.setDispute(ctx.store, dispute, previousDue);
  }

  /**
   * The seed of every draw of a dispute: the submission's seed, fixed in the block that included
   * the submission, never the beacon of the block that draws (a challenger who proposes blocks
   * could time its challenge to pick one). Copied into the dispute at its first draw when the
   * dispute opened in the submission's own block. None (impossible after a valid genesis) →
   * the dispute is void, bond returned; returns undefined.
   */
  private drawSeed(ctx: Context, dispute: Dispute): Buffer | undefined {
    if (dispute.submissionSeed.length !== HASH_BYTES) {
      const stored = this.submissionSeed(ctx.store, dispute.submissionId);
      if (stored === undefined) {
        this.settle(ctx, dispute, DisputeOutcome.DISPUTE_OUTCOME_VOID, 'the submission has no stored draw seed', dueHeight(dispute));
        return undefined;
      }
      dispute.submissionSeed = Buffer.from(stored);
    }
    return Buffer.from(dispute.submissionSeed);
  }

  /** To L3: the panel is drawn in this block's endBlock. */
  private escalate(ctx: Context, dispute: Dispute, reason: string, previousDue = dueHeight(dispute)): void {
    dispute.stage = DisputeStage.DISPUTE_STAGE_L3_DRAW;
    dispute.nextActionHeight = ctx.height;
    this.setDispute(ctx.store, dispute, previousDue);
    ctx.events.emit('dispute_escalated', [['dispute', dispute.id.toString()], ['submission', dispute.submissionId.toString()], ['reason', reason, false]]);
  }

  /** An L1 mismatch or unavailability report: opens an L1-flag dispute at L3 (or joins the open one). */
  private flag(ctx: Context, submission: SubmissionView, check: L1Check, open: Dispute | undefined, unavailable: boolean): bigint {
    const { store } = ctx;
    if (open !== undefined) {
      check.disputeId = open.id;
      this.setL1Check(store, check);
      if (unavailable && !open.unavailableReported) {
        this.markUnavailable(ctx, open, check.verifier);
        this.setDispute(store, open);
      }
      return open.id;
    }
    const baseReward = this.deps.training.window(store, submission.windowId)?.baseReward ?? 0n;
    const dispute = this.newDispute(ctx, submission, baseReward, {
      origin: DisputeOrigin.DISPUTE_ORIGIN_L1_FLAG, challenger: '', bond: 0n, stage: DisputeStage.DISPUTE_STAGE_L3_DRAW, l1Verifier: check.verifier,
      seed: check.seed, // the same seed (the L1 check was drawn in the scan that stored it), kept after pruning
    });
    if (unavailable) {
      this.markUnavailable(ctx, dispute, check.verifier);
      this.setDispute(store, dispute);
    } else if (this.params(store).bisectRoundBlocks > 0n) {
      // A mismatch: bisection (without it the panel is drawn in this endBlock, as before).
      this.escalateOrBisect(ctx, dispute, 'the L1 verifier\'s result differs');
    }
    check.disputeId = dispute.id;
    this.setL1Check(store, check);
    return dispute.id;
  }

  private markUnavailable(ctx: Context, dispute: Dispute, reporter: string): void {
    dispute.unavailableReported = true;
    dispute.unavailableReporter = reporter;
    ctx.events.emit('unavailability_reported', [
      ['dispute', dispute.id.toString()], ['submission', dispute.submissionId.toString()], ['reporter', reporter],
    ]);
  }

  private newDispute(
    ctx: Context, submission: SubmissionView, baseReward: bigint,
    opening: { origin: DisputeOrigin; challenger: string; bond: bigint; stage: DisputeStage; l1Verifier?: string; seed?: Uint8Array },
  ): Dispute {
    const state = this.moduleState(ctx.store);
    const dispute: Dispute = {
      id: state.nextDisputeId, submissionId: submission.id, windowId: submission.windowId, miner: submission.miner,
      challenger: opening.challenger, bond: opening.bond.toString(), baseReward: baseReward.toString(), origin: opening.origin,
      stage: opening.stage, outcome: DisputeOutcome.DISPUTE_OUTCOME_UNSPECIFIED, openedHeight: ctx.height, nextActionHeight: ctx.height,
      expectedHash: Buffer.from(submission.gradientHash), l2Round: 0n, l2Verifier: '', l2Missed: [], l2ResultHash: Buffer.alloc(0),
      l1Verifier: opening.l1Verifier ?? '', l3Round: 0n, panel: [], unavailableReported: false, unavailableReporter: '', draws: [],
      resolvedHeight: 0n, resolution: '', slashed: '0', bounty: '0', submissionRejected: false, l2Fee: '0',
      l2Commitment: Buffer.alloc(0), l2CommitHeight: 0n, commitDeadlineHeight: 0n,
      submissionSeed: Buffer.from(this.submissionSeed(ctx.store, submission.id) ?? opening.seed ?? new Uint8Array()),
      bisectDisputer: '', bisectSteps: 0n, bisectLo: 0n, bisectHi: 0n, bisectLoHash: Buffer.alloc(0), bisectHiHash: Buffer.alloc(0),
      bisectLoCid: '', bisectPendingStep: 0n, bisectPendingHash: Buffer.alloc(0), bisectPendingCid: '', bisectMoves: 0n,
      bisectOneStep: false, bisectWholeChunkReason: '', bisectDisputerRoot: Buffer.alloc(0), bisectDisputerHiHash: Buffer.alloc(0), bisectDisputerRefuted: false, bisectHistory: [],
    };
    state.nextDisputeId += 1n;
    this.setModuleState(ctx.store, state);
    this.setDispute(ctx.store, dispute);
    ctx.events.emit('dispute_opened', [
      ['dispute', dispute.id.toString()], ['submission', submission.id.toString()], ['miner', submission.miner],
      ['challenger', opening.challenger], ['origin', opening.origin === DisputeOrigin.DISPUTE_ORIGIN_CHALLENGE ? 'challenge' : 'l1-flag'],
      ['bond', `${opening.bond}${DENOM}`, false],
    ]);
    return dispute;
  }

  /**
   * Majority of the active (not missed) seats: floor(n/2)+1. Fault = an unavailability vote or a
   * result other than the submission's gradient hash. All active seats voted without a
   * majority (an even panel split) → void. Returns whether the dispute was settled.
   */
  private tryDecide(ctx: Context, dispute: Dispute, previousDue?: bigint): boolean {
    const active = dispute.panel.filter((s) => !s.missed);
    const threshold = Math.floor(active.length / 2) + 1;
    const expected = panelExpectedHash(dispute);
    const faults = active.filter((s) => s.voted && isFaultVote(s, expected));
    const clean = active.filter((s) => s.voted && !isFaultVote(s, expected));
    if (faults.length >= threshold) {
      const unavailable = faults.filter((s) => s.unavailable).length * 2 > faults.length;
      this.settle(ctx, dispute, DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT, unavailable ? 'the panel confirmed the gradient unavailable' : 'the panel did not reproduce the miner\'s result', previousDue);
      return true;
    }
    if (clean.length >= threshold) {
      this.settle(ctx, dispute, DisputeOutcome.DISPUTE_OUTCOME_NO_FAULT, 'the panel reproduced the miner\'s result', previousDue);
      return true;
    }
    if (active.length > 0 && active.every((s) => s.voted)) {
      this.settle(ctx, dispute, DisputeOutcome.DISPUTE_OUTCOME_VOID, 'the panel split evenly', previousDue);
      return true;
    }
    return false;
  }

  /**
   * Pays out a decided dispute (README "Who is paid what"). The only slash for work in the
   * chain is here, after an L3 decision: MINER_AT_FAULT.
   */
  private settle(ctx: Context, dispute: Dispute, outcome: DisputeOutcome, reason: string, previousDue?: bigint): void {
    const { store, events } = ctx;
    const params = this.resolvedParams(store);
    // What the module account still holds for this dispute: the bond less the L2 verifier's fee.
    const bond = bondHeld(dispute);
    const pay = (to: string, amount: bigint) => {
      if (amount > 0n) this.deps.bank.send(store, events, VERIFICATION_MODULE_ADDRESS, decodeAddress(to), [{ denom: DENOM, amount }]);
    };
    const active = dispute.panel.filter((s) => !s.missed && s.voted);
    const subject = `dispute ${dispute.id}`;

    switch (outcome) {
      case DisputeOutcome.DISPUTE_OUTCOME_CHALLENGE_REJECTED:
        // The L2 verifier was paid its fee when it answered, as it would have been had it agreed with the challenger.
        pay(dispute.miner, bond);
        break;
      case DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT: {
        dispute.slashed = this.slashMiner(ctx, dispute, params.minerSlash).toString();
        const submission = this.deps.training.submission(store, dispute.submissionId);
        if (submission !== undefined && submission.status === 'pending') {
          this.deps.training.rejectSubmission(ctx, dispute.submissionId, `verification dispute ${dispute.id}: ${reason}`);
          dispute.submissionRejected = true;
        }
        // README "Bisection": a one-step panel that established a hash neither party claimed
        // refutes the disputer's own computation too: no bounty, its bond to that majority.
        const established = oneStepEstablished(dispute);
        dispute.bisectDisputerRefuted = established !== undefined && !bytesEqual(established.hash, dispute.bisectDisputerHiHash);
        if (dispute.bisectDisputerRefuted && established !== undefined) {
          events.emit('bisect_disputer_refuted', [
            ['dispute', dispute.id.toString()], ['disputer', dispute.bisectDisputer],
            ['established_hash', toHex(established.hash), false], ['disputer_hash', toHex(dispute.bisectDisputerHiHash), false],
          ]);
          if (dispute.origin === DisputeOrigin.DISPUTE_ORIGIN_CHALLENGE) {
            const each = bond / BigInt(established.seats.length);
            established.seats.forEach((seat, i) => pay(seat.arbiter, i === 0 ? bond - each * BigInt(established.seats.length - 1) : each));
          }
        } else if (dispute.origin === DisputeOrigin.DISPUTE_ORIGIN_CHALLENGE) {
          pay(dispute.challenger, bond);
          let bounty = params.raw.bountyMultiplier * BigInt(dispute.baseReward);
          // Governance sets the base reward and multiplier; a mint past the supply bound would throw in the block hook.
          const supply = this.deps.bank.supplyOf(store, DENOM);
          if (bounty > MAX_AMOUNT - supply) {
            reportInvariant(events, MODULE_NAME, 'supply-bound', `dispute ${dispute.id}: a bounty of ${bounty}${DENOM} would take the supply ${supply}${DENOM} past 2^256-1; no bounty minted`);
            bounty = 0n;
          }
          if (bounty > 0n) this.deps.bank.mint(store, events, decodeAddress(dispute.challenger), [{ denom: DENOM, amount: bounty }]);
          dispute.bounty = bounty.toString();
        }
        for (const seat of active) if (!isFaultVote(seat, panelExpectedHash(dispute))) this.penalize(ctx, seat.arbiter, params.wrongResultPenalty, 'wrong-result', subject);
        break;
      }
      case DisputeOutcome.DISPUTE_OUTCOME_NO_FAULT: {
        const majority = active.filter((s) => !isFaultVote(s, panelExpectedHash(dispute)));
        const arbitersPart = bond - (bond * params.raw.bondMinerShareBps) / BPS;
        const each = arbitersPart / BigInt(majority.length);
        pay(dispute.miner, bond - each * BigInt(majority.length));
        for (const seat of majority) pay(seat.arbiter, each);
        // Those whose result the panel proved wrong: the escalating L2 verifier, the flagging L1 verifier, the minority.
        if (dispute.l2Verifier !== '') this.penalize(ctx, dispute.l2Verifier, params.wrongResultPenalty, 'wrong-result', subject);
        if (dispute.l1Verifier !== '') this.penalize(ctx, dispute.l1Verifier, params.wrongResultPenalty, 'wrong-result', subject);
        for (const seat of active) if (isFaultVote(seat, panelExpectedHash(dispute))) this.penalize(ctx, seat.arbiter, params.wrongResultPenalty, 'wrong-result', subject);
        break;
      }
      case DisputeOutcome.DISPUTE_OUTCOME_VOID:
        pay(dispute.challenger, bond);
        break;
      default:
        throw new Error(`verification: cannot settle with outcome ${outcome}`);
    }
    this.settleL1Check(ctx, dispute, outcome, params);
    this.addTrapSource(ctx, dispute, outcome);
    const due = previousDue ?? dueHeight(dispute);
    dispute.stage = DisputeStage.DISPUTE_STAGE_RESOLVED;
    dispute.outcome = outcome;
    dispute.resolvedHeight = ctx.height;
    dispute.resolution = reason;
    this.view(store).delete(keys.due(due, dispute.id));
    this.setDispute(store, dispute);
    events.emit('dispute_resolved', [
      ['dispute', dispute.id.toString()], ['submission', dispute.submissionId.toString()], ['outcome', OUTCOME_NAMES[outcome]],
      ['miner', dispute.miner], ['challenger', dispute.challenger], ['reason', reason, false],
      ['slashed', `${dispute.slashed}${DENOM}`, false], ['bounty', `${dispute.bounty}${DENOM}`, false],
      ['submission_rejected', String(dispute.submissionRejected), false],
    ]);
  }

  /**
   * What a decided dispute means for the submission's L1 check (README "L1 verifiers are
   * paid"). MINER_AT_FAULT: a mismatch or unavailability report is confirmed (credited); a match
   * is proven wrong (wrong-result penalty). Any other outcome: a match is confirmed once no
   * dispute can be opened on the submission any more (its seed is pruned); before that, pruning
   * confirms it. A flag the panel did not uphold is penalised by settle (NO_FAULT), never credited.
   */
  private settleL1Check(ctx: Context, dispute: Dispute, outcome: DisputeOutcome, params: VerificationParams): void {
    const check = this.l1Check(ctx.store, dispute.submissionId);
    if (check === undefined || check.credited) return;
    const match = check.status === L1Status.L1_STATUS_MATCH;
    const flagged = check.status === L1Status.L1_STATUS_MISMATCH || check.status === L1Status.L1_STATUS_UNAVAILABLE;
    if (outcome === DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT) {
      // The flagging L1 verifier was the disputer and the one-step panel refuted its own hash.
      if (flagged && dispute.bisectDisputerRefuted && dispute.bisectDisputer === check.verifier) {
        this.penalize(ctx, check.verifier, params.wrongResultPenalty, 'wrong-result', `l1 submission ${check.submissionId} (dispute ${dispute.id}: its own stateHash refuted)`);
      } else if (flagged) this.creditL1(ctx, check);
      else if (match) this.penalize(ctx, check.verifier, params.wrongResultPenalty, 'wrong-result', `l1 submission ${check.submissionId} (dispute ${dispute.id})`);
      return;
    }
    if (match && this.submissionSeed(ctx.store, dispute.submissionId) === undefined) this.creditL1(ctx, check);
  }

  /** A match confirmed at pruning: the submission can no longer be challenged, is not rejected and no dispute holds it. */
  private confirmMatch(ctx: Context, submissionId: bigint): void {
    const check = this.l1Check(ctx.store, submissionId);
    if (check === undefined || check.credited || check.status !== L1Status.L1_STATUS_MATCH) return;
    const submission = this.deps.training.submission(ctx.store, submissionId);
    if (submission === undefined || submission.status === 'rejected' || this.isHeld(ctx.store, submissionId)) return;
    this.creditL1(ctx, check);
  }

  /** Counts a confirmed L1 answer once in its verifier's credits (paid by the next finalized window). */
  private creditL1(ctx: Context, check: L1Check): void {
    check.credited = true;
    this.setL1Check(ctx.store, check);
    this.addCredit(ctx.store, check.verifier);
    const result = check.status === L1Status.L1_STATUS_MATCH ? 'match' : check.status === L1Status.L1_STATUS_MISMATCH ? 'mismatch' : 'unavailable';
    ctx.events.emit('l1_confirmed', [['submission', check.submissionId.toString()], ['verifier', check.verifier], ['result', result]]);
  }

  private addCredit(store: KVStore, verifier: string): void {
    const view = this.view(store);
    const raw = view.get(keys.credit(verifier));
    view.set(keys.credit(verifier), u64be((raw === undefined ? 0n : readU64be(raw)) + 1n));
  }

  /**
   * The L2 verifier's fee, paid from the bond the moment it answers (a result or an
   * unavailability report): ⌊bond · l2_verifier_fee_bps / 10⁴⌋, whichever side the answer takes,
   * so agreeing with the miner (which ends the dispute) pays no more than agreeing with the
   * challenger (which escalates). The challenger pays it in every outcome.
   */
  private payL2Fee(ctx: Context, dispute: Dispute): void {
    const fee = (BigInt(dispute.bond) * this.params(ctx.store).l2VerifierFeeBps) / BPS;
    dispute.l2Fee = fee.toString();
    if (fee > 0n) this.deps.bank.send(ctx.store, ctx.events, VERIFICATION_MODULE_ADDRESS, decodeAddress(dispute.l2Verifier), [{ denom: DENOM, amount: fee }]);
    ctx.events.emit('l2_verifier_paid', [['dispute', dispute.id.toString()], ['verifier', dispute.l2Verifier], ['amount', `${fee}${DENOM}`, false]]);
  }

  /** Slash and jail from mining; a miner staking no longer knows is skipped (never aborts). */
  private slashMiner(ctx: Context, dispute: Dispute, fraction: Fraction): bigint {
    try {
      return this.deps.staking.slashMiner(ctx, decodeAddress(dispute.miner), fraction.numerator, fraction.denominator, `verification dispute ${dispute.id}`, true);
    } catch {
      ctx.events.emit('slash_skipped', [['dispute', dispute.id.toString()], ['miner', dispute.miner]]);
      return 0n;
    }
  }

  /** A validator penalty (burn, no jail). Never aborts the tx or block hook applying it. */
  private penalize(ctx: Context, address: string, fraction: Fraction, fault: Fault, subject: string): void {
    if (fraction.numerator === 0n) return;
    let burned = 0n;
    try {
      burned = this.deps.staking.slashValidator(ctx, decodeAddress(address), fraction.numerator, fraction.denominator, `verification ${fault}: ${subject}`, false);
    } catch {
      ctx.events.emit('verification_penalty_skipped', [['address', address], ['fault', fault], ['subject', subject, false]]);
      return;
    }
    ctx.events.emit('verification_penalty', [['address', address], ['fault', fault], ['subject', subject, false], ['burned', `${burned}${DENOM}`, false]]);
  }

  private requireSubmission(store: KVStore, submissionId: bigint): SubmissionView {
    const submission = submissionId >= 0n && submissionId < 1n << 64n ? this.deps.training.submission(store, submissionId) : undefined;
    if (submission === undefined) throw verificationErrors.unknownSubmission(`submission ${submissionId}`);
    return submission;
  }

  private requirePendingL1(ctx: Context, check: L1Check): void {
    if (check.status === L1Status.L1_STATUS_MISSED || (check.status === L1Status.L1_STATUS_PENDING && ctx.height > check.deadlineHeight)) {
      throw verificationErrors.late(`L1 check of submission ${check.submissionId}: answers until height ${check.deadlineHeight}, now ${ctx.height}`);
    }
    if (check.status !== L1Status.L1_STATUS_PENDING) throw verificationErrors.alreadyVoted(`${check.verifier} already answered for submission ${check.submissionId}`);
  }
}

/**
 * The endBlock that acts on a dispute: a draw happens at next_action_height; a deadline is
 * inclusive (an answer in block `deadline` still counts), so it expires in the block after.
 */
export function dueHeight(dispute: Dispute): bigint {
  const deadline = dispute.stage === DisputeStage.DISPUTE_STAGE_L2_ANSWER || dispute.stage === DisputeStage.DISPUTE_STAGE_L3_VOTING
    || dispute.stage === DisputeStage.DISPUTE_STAGE_BISECTION;
  return deadline ? dispute.nextActionHeight + 1n : dispute.nextActionHeight;
}

/** The last height a commitment counts in the dispute's current answer stage (0 from an older genesis: the reveal deadline). */
export function commitDeadlineOf(dispute: Dispute): bigint {
  return dispute.commitDeadlineHeight === 0n ? dispute.nextActionHeight : dispute.commitDeadlineHeight;
}

function emitCommitted(ctx: Context, stage: 'l1' | 'l2' | 'l3', subject: bigint, verifier: string): void {
  ctx.events.emit('verification_committed', [['stage', stage], ['subject', subject.toString()], ['verifier', verifier]]);
}

/** A reveal: there is a commitment, from an earlier block, and the answer and salt hash to it. */
function checkReveal(ctx: Context, commitment: Uint8Array, commitHeight: bigint, domain: string, result: Uint8Array, salt: Uint8Array, signer: string): void {
  if (commitment.length === 0) throw verificationErrors.noCommitment(`${signer} committed nothing for ${domain}`);
  if (ctx.height <= commitHeight) throw verificationErrors.revealTooEarly(`${domain}: committed at height ${commitHeight}; reveal in a later block`);
  if (!bytesEqual(verificationCommitment(domain, result, salt, signer), commitment)) throw verificationErrors.revealMismatch(`${domain}: the answer and salt do not hash to ${signer}'s commitment`);
}

/** Stateless shape of MsgSubmitVerification: a commit (only a 32-byte commitment) or a reveal (32-byte result and salt). */
export function verificationPhase(msg: MsgSubmitVerification): 'commit' | 'reveal' {
  if (msg.commitment.length !== 0) {
    if (msg.commitment.length !== COMMITMENT_BYTES) throw verificationErrors.invalidCommitment(`commitment has ${msg.commitment.length} bytes, expected ${COMMITMENT_BYTES}`);
    if (msg.resultHash.length !== 0 || msg.salt.length !== 0) throw verificationErrors.invalidCommitment('a commitment carries no result hash and no salt');
    return 'commit';
  }
  if (!isHash(msg.resultHash)) throw verificationErrors.invalidHash(`result_hash has ${msg.resultHash.length} bytes, expected ${HASH_BYTES}`);
  if (msg.salt.length !== SALT_BYTES) throw verificationErrors.invalidCommitment(`a reveal needs its ${SALT_BYTES}-byte salt, got ${msg.salt.length} bytes`);
  return 'reveal';
}

/** Stateless shape of MsgArbiterVote: a commit (only a 32-byte commitment) or a reveal (a vote and a 32-byte salt). */
export function votePhase(msg: MsgArbiterVote): 'commit' | 'reveal' {
  if (msg.commitment.length !== 0) {
    if (msg.commitment.length !== COMMITMENT_BYTES) throw verificationErrors.invalidCommitment(`commitment has ${msg.commitment.length} bytes, expected ${COMMITMENT_BYTES}`);
    if (msg.resultHash.length !== 0 || msg.unavailable || msg.salt.length !== 0) throw verificationErrors.invalidCommitment('a commitment carries no vote and no salt');
    return 'commit';
  }
  validateVoteShape(msg);
  if (msg.salt.length !== SALT_BYTES) throw verificationErrors.invalidCommitment(`a reveal needs its ${SALT_BYTES}-byte salt, got ${msg.salt.length} bytes`);
  return 'reveal';
}

/** The L2 fee paid out of a dispute's bond so far (empty = none: a dispute from an older genesis). */
export function l2FeeOf(dispute: Dispute): bigint {
  return dispute.l2Fee === '' ? 0n : BigInt(dispute.l2Fee);
}

/** What the module account holds for a dispute while it is open: its bond less the L2 fee paid. */
export function bondHeld(dispute: Dispute): bigint {
  return BigInt(dispute.bond) - l2FeeOf(dispute);
}

/**
 * What a clean L3 vote is: the submission's gradient hash (whole chunk), or, for a dispute
 * bisected to one step, the miner's stateHash_{lo+1} (README "Bisection").
 */
export function panelExpectedHash(dispute: Dispute): Uint8Array {
  return dispute.bisectOneStep ? dispute.bisectHiHash : dispute.expectedHash;
}

/** Appends a move to the dispute's bisection history, with the interval it left. */
function recordMove(dispute: Dispute, move: Partial<BisectMove>): void {
  dispute.bisectHistory.push(BisectMove.fromPartial({ ...move, lo: dispute.bisectLo, hi: dispute.bisectHiHash.length === 0 ? 0n : dispute.bisectHi }));
}

/**
 * A one-step panel's established result: the state hash a majority of its active seats voted
 * (not `unavailable`), with those seats; undefined for a whole-chunk panel or without a majority.
 */
function oneStepEstablished(dispute: Dispute): { hash: Uint8Array; seats: PanelSeat[] } | undefined {
  if (!dispute.bisectOneStep || dispute.bisectDisputerHiHash.length === 0) return undefined;
  const active = dispute.panel.filter((s) => !s.missed);
  const threshold = Math.floor(active.length / 2) + 1;
  for (const seat of active) {
    if (!seat.voted || seat.unavailable) continue;
    const seats = active.filter((s) => s.voted && !s.unavailable && bytesEqual(s.resultHash, seat.resultHash));
    if (seats.length >= threshold) return bytesEqual(seat.resultHash, dispute.bisectHiHash) ? undefined : { hash: seat.resultHash, seats };
  }
  return undefined;
}

function isFaultVote(seat: PanelSeat, expectedHash: Uint8Array): boolean {
  return seat.unavailable || !bytesEqual(seat.resultHash, expectedHash);
}

function activeSeat(dispute: Dispute, arbiter: string): PanelSeat | undefined {
  return dispute.panel.find((s) => s.arbiter === arbiter && !s.missed);
}

/** Candidates a draw may pick: stake > 0 and not excluded. */
function eligible(candidates: readonly Candidate[], exclusions: readonly string[]): number {
  const excluded = new Set(exclusions);
  let count = 0;
  for (const candidate of candidates) if (candidate.stake > 0n && !excluded.has(candidate.id)) count++;
  return count;
}

export function parseBond(text: string): bigint {
  const bond = parseAmount(text, 'bond', verificationErrors.invalidBond);
  if (bond === 0n) throw verificationErrors.invalidBond('bond must be positive');
  return bond;
}

/** Stateless shape of a vote: a 32-byte result, or `unavailable` with no result. */
export function validateVoteShape(msg: MsgArbiterVote): void {
  if (msg.unavailable) {
    if (msg.resultHash.length !== 0) throw verificationErrors.invalidVote('an unavailability vote carries no result hash');
    return;
  }
  if (msg.resultHash.length === 0) throw verificationErrors.invalidVote('a vote needs a result hash or unavailable');
  if (!isHash(msg.resultHash)) throw verificationErrors.invalidHash(`result_hash has ${msg.resultHash.length} bytes, expected ${HASH_BYTES}`);
}

/** Computes a value once, on first use (the validator set is read only by blocks that draw). */
class Lazy<T> {
  private value: T | undefined;
  private done = false;
  constructor(private readonly make: () => T) {}
  get(): T {
    if (!this.done) {
      this.value = this.make();
      this.done = true;
    }
    return this.value as T;
  }
}


import { type Page, type PageRequest, paginate, underPrefix } from '../../app/core/pagination.ts';
import type { Context } from '../../app/core/context.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import { prefixStore } from '../../app/core/store/prefix.ts';
import { bytesEqual, concatBytes, fromUtf8, readU64be, toHex, u64be, utf8 } from '../../app/core/bytes.ts';
import { decodeAddress } from '../../app/core/address.ts';
import type { MsgPocArbiterVote, MsgPocCommit, MsgPocVerdict, MsgSubmitPocBatch } from '../../proto/gen/r3mes/poc/v1/tx.ts';
import {
  Batch, Check, CheckStatus, type ComputeWeight, Dispute, DisputeStatus, Epoch, EpochPhase, MinerEpoch, MinerEpochStatus, Params, Schedule, type VerifierAnswer,
} from '../../proto/gen/r3mes/poc/v1/types.ts';
import { batchRoot, type PocClaim, pocCommitment, samplePositions, trapNonces } from './claims.ts';
import { pocErrors } from './errors.ts';
import type { Candidate, DisputeSettings, Drawer, Fraction, PocStaking } from './expected-keepers.ts';
import { defaultParams, POC_VOCAB_SIZE } from './params.ts';
import { chunkQuota } from './weights.ts';

/** Length-prefixed miner address inside keys: u8(len) ‖ utf8(miner). */
function minerKey(miner: string): Uint8Array {
  const bytes = utf8(miner);
  return concatBytes(Uint8Array.of(bytes.length), bytes);
}

/** Key layout inside the module's prefix "poc/" (see README "State"). */
export const keys = {
  params: utf8('p'),
  schedule: utf8('s'),
  epoch: (id: bigint) => concatBytes(utf8('e/'), u64be(id)),
  epochPrefix: utf8('e/'),
  batch: (epoch: bigint, miner: string, index: bigint) => concatBytes(keys.batchPrefix(epoch, miner), u64be(index)),
  batchPrefix: (epoch: bigint, miner?: string) => concatBytes(utf8('b/'), u64be(epoch), miner === undefined ? new Uint8Array() : minerKey(miner)),
  batchAllPrefix: utf8('b/'),
  claim: (epoch: bigint, miner: string, nonce: bigint) => concatBytes(keys.claimPrefix(epoch, miner), u64be(nonce)),
  claimPrefix: (epoch: bigint, miner: string) => concatBytes(utf8('c/'), u64be(epoch), minerKey(miner)),
  claimAllPrefix: utf8('c/'),
  minerEpoch: (epoch: bigint, miner: string) => concatBytes(keys.minerEpochPrefix(epoch), minerKey(miner)),
  minerEpochPrefix: (epoch: bigint) => concatBytes(utf8('m/'), u64be(epoch)),
  minerEpochAllPrefix: utf8('m/'),
  check: (epoch: bigint, miner: string, nonce: bigint) => concatBytes(keys.checkPrefix(epoch), minerKey(miner), u64be(nonce)),
  checkPrefix: (epoch: bigint) => concatBytes(utf8('k/'), u64be(epoch)),
  checkAllPrefix: utf8('k/'),
  dispute: (id: bigint) => concatBytes(utf8('d/'), u64be(id)),
  disputePrefix: utf8('d/'),
  open: (id: bigint) => concatBytes(utf8('o/'), u64be(id)),
  openPrefix: utf8('o/'),
  weight: (miner: string) => concatBytes(utf8('w/'), minerKey(miner)),
  weightPrefix: utf8('w/'),
};

export const DRAW = { verifier: 'poc-verifier', panel: 'poc-panel' } as const;

/** Verifiers drawn per check (README "Verifier commit-reveal"). */
export const VERIFIERS_PER_CHECK = 2;

const OUTCOME_NAMES: Record<number, string> = {
  [DisputeStatus.DISPUTE_STATUS_FRAUD]: 'fraud',
  [DisputeStatus.DISPUTE_STATUS_HONEST]: 'honest',
  [DisputeStatus.DISPUTE_STATUS_EXPIRED]: 'expired',
  [DisputeStatus.DISPUTE_STATUS_SETTLED]: 'settled',
};

export const PHASE_NAMES: Record<number, string> = {
  [EpochPhase.EPOCH_PHASE_SUBMISSION]: 'submission',
  [EpochPhase.EPOCH_PHASE_VERIFICATION]: 'verification',
  [EpochPhase.EPOCH_PHASE_ENDED]: 'ended',
};

export function emptySchedule(): Schedule {
  return { nextEpochId: 1n, currentEpochId: 0n, nextStartHeight: 1n, nextDisputeId: 1n, weightsEpoch: 0n, weightTotal: 0n, weightMax: 0n };
}

function hexSeed(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** Read-only layer: params, epochs, batches, claims, checks, disputes, weights. */
export class PocViewKeeper {
  static readonly storePrefix = utf8('poc/');

  protected view(store: KVStore): KVStore {
    return prefixStore(store, PocViewKeeper.storePrefix);
  }

  params(store: KVStore): Params {
    const raw = this.view(store).get(keys.params);
    return raw === undefined ? defaultParams() : Params.decode(raw);
  }

  schedule(store: KVStore): Schedule {
    const raw = this.view(store).get(keys.schedule);
    return raw === undefined ? emptySchedule() : Schedule.decode(raw);
  }

  epoch(store: KVStore, id: bigint): Epoch | undefined {
    if (id <= 0n || id >= 1n << 64n) return undefined;
    const raw = this.view(store).get(keys.epoch(id));
    return raw === undefined ? undefined : Epoch.decode(raw);
  }

  /** The open epoch, or between epochs the latest one; undefined before the first. */
  latestEpoch(store: KVStore): Epoch | undefined {
    const schedule = this.schedule(store);
    return this.epoch(store, schedule.currentEpochId !== 0n ? schedule.currentEpochId : schedule.nextEpochId - 1n);
  }

  *epochs(store: KVStore): IterableIterator<Epoch> {
    for (const [, value] of this.view(store).iterate(keys.epochPrefix)) yield Epoch.decode(value);
  }

  batchesPage(store: KVStore, epoch: bigint, miner: string | undefined, page: PageRequest | undefined): Page<Batch> {
    return paginate(underPrefix(this.view(store), keys.batchPrefix(epoch, miner)), page, (_, value) => Batch.decode(value));
  }

  *allBatches(store: KVStore): IterableIterator<Batch> {
    for (const [, value] of this.view(store).iterate(keys.batchAllPrefix)) yield Batch.decode(value);
  }

  hasClaim(store: KVStore, epoch: bigint, miner: string, nonce: bigint): boolean {
    return this.view(store).has(keys.claim(epoch, miner, nonce));
  }

  /** A miner's claims of an epoch, ascending by nonce. */
  *claims(store: KVStore, epoch: bigint, miner: string): IterableIterator<PocClaim> {
    const prefix = keys.claimPrefix(epoch, miner);
    for (const [key, value] of this.view(store).iterate(prefix)) yield { nonce: readU64be(key.subarray(prefix.length)), distance: readU64be(value) };
  }

  *allClaims(store: KVStore): IterableIterator<{ epoch: bigint; miner: string; nonce: bigint; distance: bigint }> {
    const base = keys.claimAllPrefix.length;
    for (const [key, value] of this.view(store).iterate(keys.claimAllPrefix)) {
      const epoch = readU64be(key.subarray(base, base + 8));
      const length = key[base + 8];
      const miner = fromUtf8(key.subarray(base + 9, base + 9 + length));
      yield { epoch, miner, nonce: readU64be(key.subarray(base + 9 + length)), distance: readU64be(value) };
    }
  }

  minerEpoch(store: KVStore, epoch: bigint, miner: string): MinerEpoch | undefined {
    const raw = this.view(store).get(keys.minerEpoch(epoch, miner));
    return raw === undefined ? undefined : MinerEpoch.decode(raw);
  }

  /** The miners that submitted in an epoch, in key (address) order. */
  minerEpochs(store: KVStore, epoch: bigint): MinerEpoch[] {
    return [...this.view(store).iterate(keys.minerEpochPrefix(epoch))].map(([, value]) => MinerEpoch.decode(value));
  }

  *allMinerEpochs(store: KVStore): IterableIterator<MinerEpoch> {
    for (const [, value] of this.view(store).iterate(keys.minerEpochAllPrefix)) yield MinerEpoch.decode(value);
  }

  check(store: KVStore, epoch: bigint, miner: string, nonce: bigint): Check | undefined {
    const raw = this.view(store).get(keys.check(epoch, miner, nonce));
    return raw === undefined ? undefined : Check.decode(raw);
  }

  checks(store: KVStore, epoch: bigint): Check[] {
    return [...this.view(store).iterate(keys.checkPrefix(epoch))].map(([, value]) => Check.decode(value));
  }

  checksPage(store: KVStore, epoch: bigint, page: PageRequest | undefined): Page<Check> {
    return paginate(underPrefix(this.view(store), keys.checkPrefix(epoch)), page, (_, value) => Check.decode(value));
  }

  *allChecks(store: KVStore): IterableIterator<Check> {
    for (const [, value] of this.view(store).iterate(keys.checkAllPrefix)) yield Check.decode(value);
  }

  dispute(store: KVStore, id: bigint): Dispute | undefined {
    if (id <= 0n || id >= 1n << 64n) return undefined;
    const raw = this.view(store).get(keys.dispute(id));
    return raw === undefined ? undefined : Dispute.decode(raw);
  }

  *allDisputes(store: KVStore): IterableIterator<Dispute> {
    for (const [, value] of this.view(store).iterate(keys.disputePrefix)) yield Dispute.decode(value);
  }

  /** Ids of the open disputes, ascending. */
  openDisputeIds(store: KVStore): bigint[] {
    return [...this.view(store).iterate(keys.openPrefix)].map(([key]) => readU64be(key.subarray(keys.openPrefix.length)));
  }

  /** A miner's compute weight in force (0 without one). */
  computeWeight(store: KVStore, miner: string): bigint {
    const raw = this.view(store).get(keys.weight(miner));
    return raw === undefined ? 0n : readU64be(raw);
  }

  /** Every weight in force, in key (address) order. */
  weights(store: KVStore): ComputeWeight[] {
    const base = keys.weightPrefix.length + 1;
    return [...this.view(store).iterate(keys.weightPrefix)].map(([key, value]) => ({ miner: fromUtf8(key.subarray(base)), weight: readU64be(value) }));
  }

  weightsPage(store: KVStore, page: PageRequest | undefined): Page<ComputeWeight> {
    return paginate(underPrefix(this.view(store), keys.weightPrefix), page, (key, value) => ({ miner: fromUtf8(key.subarray(1)), weight: readU64be(value) }));
  }

  /** training's ChunkQuotaReader: chunks `miner` may train in a window capped at `maxPerWindow` (README "Compute weight"). */
  chunkQuota(store: KVStore, miner: string, maxPerWindow: bigint): bigint {
    const { weightMax } = this.schedule(store);
    if (weightMax === 0n) return maxPerWindow;
    return chunkQuota(maxPerWindow, this.params(store).unweightedChunkQuota, this.computeWeight(store, miner), weightMax);
  }
}

export interface PocDeps {
  readonly staking: PocStaking;
  readonly disputes: DisputeSettings;
  readonly drawer: Drawer;
}

type Fault = 'missed-deadline' | 'wrong-result';

/** Full layer: batches, verdicts, disputes, the epoch state machine (beginBlock). */
export class PocKeeper extends PocViewKeeper {
  constructor(private readonly deps: PocDeps) {
    super();
  }

  setParams(store: KVStore, params: Params): void {
    this.view(store).set(keys.params, Params.encode(params).finish());
  }

  setSchedule(store: KVStore, schedule: Schedule): void {
    this.view(store).set(keys.schedule, Schedule.encode(schedule).finish());
  }

  setEpoch(store: KVStore, epoch: Epoch): void {
    this.view(store).set(keys.epoch(epoch.id), Epoch.encode(epoch).finish());
  }

  setBatch(store: KVStore, batch: Batch): void {
    this.view(store).set(keys.batch(batch.epoch, batch.miner, batch.index), Batch.encode(batch).finish());
  }

  setClaim(store: KVStore, epoch: bigint, miner: string, claim: PocClaim): void {
    this.view(store).set(keys.claim(epoch, miner, claim.nonce), u64be(claim.distance));
  }

  setMinerEpoch(store: KVStore, record: MinerEpoch): void {
    this.view(store).set(keys.minerEpoch(record.epoch, record.miner), MinerEpoch.encode(record).finish());
  }

  setCheck(store: KVStore, check: Check): void {
    this.view(store).set(keys.check(check.epoch, check.miner, check.nonce), Check.encode(check).finish());
  }

  /** Writes a dispute and keeps the open index in step with its status. */
  setDispute(store: KVStore, dispute: Dispute): void {
    const view = this.view(store);
    view.set(keys.dispute(dispute.id), Dispute.encode(dispute).finish());
    if (dispute.status === DisputeStatus.DISPUTE_STATUS_OPEN) view.set(keys.open(dispute.id), new Uint8Array());
    else view.delete(keys.open(dispute.id));
  }

  setWeight(store: KVStore, miner: string, weight: bigint): void {
    if (weight === 0n) this.view(store).delete(keys.weight(miner));
    else this.view(store).set(keys.weight(miner), u64be(weight));
  }

  // ---------------------------------------------------------------- messages

  submitBatch(ctx: Context, msg: MsgSubmitPocBatch): { index: bigint; root: Uint8Array } {
    validateSubmitBatch(msg);
    const { store } = ctx;
    const miner = this.deps.staking.miner(store, msg.miner);
    if (miner === undefined) throw pocErrors.minerNotRegistered(msg.miner);
    if (miner.jailed) throw pocErrors.minerJailed(msg.miner);
    const epoch = this.epoch(store, msg.epoch);
    if (epoch === undefined) throw pocErrors.epochNotFound(`epoch ${msg.epoch}`);
    if (epoch.phase !== EpochPhase.EPOCH_PHASE_SUBMISSION || ctx.height < epoch.startHeight || ctx.height >= epoch.submitEndHeight) {
      throw pocErrors.notSubmissionPhase(`epoch ${epoch.id} takes batches at heights [${epoch.startHeight}, ${epoch.submitEndHeight}), now ${ctx.height} (${PHASE_NAMES[epoch.phase]})`);
    }
    if (BigInt(msg.claims.length) > epoch.maxClaimsPerBatch) {
      throw pocErrors.tooManyClaims(`${msg.claims.length} claims, epoch ${epoch.id} takes at most ${epoch.maxClaimsPerBatch} per batch`);
    }
    for (const claim of msg.claims) {
      if (claim.distance >= epoch.rTarget) throw pocErrors.distanceNotBelowTarget(`nonce ${claim.nonce}: distance ${claim.distance} is not below r_target ${epoch.rTarget}`);
    }
    for (const claim of msg.claims) {
      if (this.hasClaim(store, epoch.id, msg.miner, claim.nonce)) throw pocErrors.duplicateClaim(`${msg.miner} already claimed nonce ${claim.nonce} in epoch ${epoch.id}`);
    }
    const root = batchRoot(msg.claims);
    const record = this.minerEpoch(store, epoch.id, msg.miner) ?? {
      epoch: epoch.id, miner: msg.miner, batchCount: 0n, claimCount: 0n, status: MinerEpochStatus.MINER_EPOCH_STATUS_ACTIVE, openDisputes: 0n, weight: 0n,
    };
    if (record.batchCount === 0n) epoch.minerCount += 1n;
    const count = BigInt(msg.claims.length);
    const batch: Batch = {
      epoch: epoch.id, miner: msg.miner, index: record.batchCount, claimCount: count, firstNonce: msg.claims[0].nonce,
      lastNonce: msg.claims[msg.claims.length - 1].nonce, root: Buffer.from(root), height: ctx.height,
    };
    this.setBatch(store, batch);
    for (const claim of msg.claims) this.setClaim(store, epoch.id, msg.miner, claim);
    record.batchCount += 1n;
    record.claimCount += count;
    this.setMinerEpoch(store, record);
    epoch.batchCount += 1n;
    epoch.claimCount += count;
    this.setEpoch(store, epoch);
    ctx.events.emit('poc_batch', [
      ['epoch', epoch.id.toString()], ['miner', msg.miner], ['index', batch.index.toString()],
      ['claims', count.toString()], ['root', toHex(root), false],
    ]);
    return { index: batch.index, root };
  }

  /**
   * The drawn verifier's answer to a check, for the checks common to commit and reveal: the check
   * exists (13), the signer is one of its verifiers (14), the check and this answer are still
   * open (15), the epoch verifies (16).
   */
  private answerOf(ctx: Context, msg: { verifier: string; epoch: bigint; miner: string; nonce: bigint }): { check: Check; answer: VerifierAnswer; epoch: Epoch } {
    const { store } = ctx;
    const check = this.check(store, msg.epoch, msg.miner, msg.nonce);
    if (check === undefined) throw pocErrors.checkNotFound(`nonce ${msg.nonce} of ${msg.miner} was not sampled in epoch ${msg.epoch}`);
    const answer = check.answers.find((a) => a.verifier === msg.verifier);
    if (answer === undefined) {
      throw pocErrors.notAssignedVerifier(`${msg.verifier}: the check of nonce ${msg.nonce} of ${msg.miner} in epoch ${msg.epoch} is assigned to ${check.answers.map((a) => a.verifier).join(', ')}`);
    }
    if (check.status !== CheckStatus.CHECK_STATUS_PENDING || answer.revealed || answer.missed) {
      throw pocErrors.checkNotPending(`the check of nonce ${msg.nonce} of ${msg.miner} in epoch ${msg.epoch} is closed for ${msg.verifier}`);
    }
    const epoch = this.requireEpoch(store, msg.epoch);
    if (epoch.phase !== EpochPhase.EPOCH_PHASE_VERIFICATION || ctx.height >= epoch.endHeight) {
      throw pocErrors.notVerificationPhase(`epoch ${epoch.id} takes verifier answers at heights [${epoch.submitEndHeight}, ${epoch.endHeight}), now ${ctx.height}`);
    }
    return { check, answer, epoch };
  }

  /** A verifier's commitment to its distance (README "Verifier commit-reveal"). */
  commit(ctx: Context, msg: MsgPocCommit): void {
    validateCommit(msg);
    const { check, answer, epoch } = this.answerOf(ctx, msg);
    if (ctx.height >= epoch.revealHeight) throw pocErrors.notCommitWindow(`epoch ${epoch.id} takes commitments at heights [${epoch.submitEndHeight}, ${epoch.revealHeight}), now ${ctx.height}`);
    if (answer.commitment.length !== 0) throw pocErrors.alreadyCommitted(`${msg.verifier} already committed to the check of nonce ${msg.nonce} of ${msg.miner} in epoch ${msg.epoch}`);
    answer.commitment = Buffer.from(msg.commitment);
    answer.commitHeight = ctx.height;
    this.setCheck(ctx.store, check);
    ctx.events.emit('poc_commit', [['epoch', epoch.id.toString()], ['miner', check.miner], ['nonce', check.nonce.toString()], ['verifier', msg.verifier]]);
  }

  /**
   * The reveal of a verifier's commitment (MsgPocVerdict with its salt). When every drawn
   * verifier of the check has revealed, the check is settled at once (README "Settling a check").
   */
  verdict(ctx: Context, msg: MsgPocVerdict): { match: boolean; disputeId: bigint } {
    validateVerdict(msg);
    const { check, answer, epoch } = this.answerOf(ctx, msg);
    if (ctx.height < epoch.revealHeight) throw pocErrors.notRevealWindow(`epoch ${epoch.id} takes reveals at heights [${epoch.revealHeight}, ${epoch.endHeight}), now ${ctx.height}`);
    if (answer.commitment.length === 0) throw pocErrors.notCommitted(`${msg.verifier} sent no commitment for the check of nonce ${msg.nonce} of ${msg.miner} in epoch ${msg.epoch}`);
    const expected = pocCommitment(msg.verifier, msg.epoch, msg.miner, msg.nonce, msg.distanceRecomputed, msg.salt);
    if (!bytesEqual(expected, answer.commitment)) throw pocErrors.revealMismatch(`distance ${msg.distanceRecomputed} and the salt do not open ${msg.verifier}'s commitment`);
    const first = !check.answers.some((a) => a.revealed);
    answer.revealed = true;
    answer.distance = msg.distanceRecomputed;
    answer.revealHeight = ctx.height;
    if (first) {
      check.recomputedDistance = msg.distanceRecomputed;
      check.answerHeight = ctx.height;
    }
    const others = check.answers.filter((a) => a.revealed && a !== answer).map((a) => a.distance);
    const match = (check.trap || msg.distanceRecomputed === check.claimedDistance) && others.every((d) => d === msg.distanceRecomputed);
    ctx.events.emit('poc_verdict', [
      ['epoch', epoch.id.toString()], ['miner', check.miner], ['nonce', check.nonce.toString()], ['verifier', msg.verifier],
      ['trap', String(check.trap)], ['claimed', check.claimedDistance.toString(), false], ['recomputed', msg.distanceRecomputed.toString(), false], ['match', String(match)],
    ]);
    if (check.answers.every((a) => a.revealed)) this.settleCheck(ctx, epoch, check);
    this.setCheck(ctx.store, check);
    return { match, disputeId: check.disputeId };
  }

  /**
   * A check whose verifiers have all revealed, or whose epoch ends: the values to compare are the
   * miner's claimed distance (not for a trap) and every revealed distance. Fewer than two → MISSED
   * (nothing to compare: the claim counts); all equal → CONFIRMED; otherwise MISMATCH and a PoC
   * dispute opens. The caller writes the check.
   */
  private settleCheck(ctx: Context, epoch: Epoch, check: Check): void {
    const values = [...(check.trap ? [] : [check.claimedDistance]), ...check.answers.filter((a) => a.revealed).map((a) => a.distance)];
    if (values.length < 2) {
      check.status = CheckStatus.CHECK_STATUS_MISSED;
      ctx.events.emit('poc_check_missed', [['epoch', epoch.id.toString()], ['miner', check.miner], ['nonce', check.nonce.toString()], ['verifier', check.verifier]]);
    } else if (values.every((v) => v === values[0])) {
      check.status = CheckStatus.CHECK_STATUS_CONFIRMED;
    } else {
      check.status = CheckStatus.CHECK_STATUS_MISMATCH;
      check.disputeId = this.openDispute(ctx, epoch, check);
    }
  }

  arbiterVote(ctx: Context, msg: MsgPocArbiterVote): void {
    decodeAddress(msg.arbiter, 'arbiter');
    const dispute = this.dispute(ctx.store, msg.disputeId);
    if (dispute === undefined) throw pocErrors.disputeNotFound(`dispute ${msg.disputeId}`);
    if (dispute.status !== DisputeStatus.DISPUTE_STATUS_OPEN) throw pocErrors.disputeClosed(`dispute ${dispute.id} is resolved`);
    const seat = dispute.panel.find((s) => s.arbiter === msg.arbiter && !s.missed);
    if (seat === undefined) throw pocErrors.notArbiter(`${msg.arbiter} holds no active seat in dispute ${dispute.id}`);
    if (seat.voted) throw pocErrors.alreadyVoted(`${msg.arbiter} in dispute ${dispute.id}`);
    if (ctx.height > dispute.deadlineHeight) throw pocErrors.late(`dispute ${dispute.id} round ${dispute.round} took votes until height ${dispute.deadlineHeight}, now ${ctx.height}`);
    seat.voted = true;
    seat.distance = msg.distanceRecomputed;
    seat.voteHeight = ctx.height;
    ctx.events.emit('poc_arbiter_vote', [
      ['dispute', dispute.id.toString()], ['arbiter', msg.arbiter], ['distance', msg.distanceRecomputed.toString(), false],
    ]);
    if (!this.tryDecide(ctx, dispute)) this.setDispute(ctx.store, dispute);
  }

  // ---------------------------------------------------------------- disputes

  private openDispute(ctx: Context, epoch: Epoch, check: Check): bigint {
    const { store } = ctx;
    const schedule = this.schedule(store);
    const id = schedule.nextDisputeId;
    schedule.nextDisputeId += 1n;
    this.setSchedule(store, schedule);
    const record = check.trap ? undefined : this.minerEpoch(store, epoch.id, check.miner);
    if (record !== undefined) {
      record.openDisputes += 1n;
      if (record.status === MinerEpochStatus.MINER_EPOCH_STATUS_ACTIVE) record.status = MinerEpochStatus.MINER_EPOCH_STATUS_DISPUTED;
      this.setMinerEpoch(store, record);
    }
    const dispute: Dispute = {
      id, epoch: epoch.id, miner: check.miner, nonce: check.nonce, claimedDistance: check.claimedDistance, verifier: check.verifier,
      reportedDistance: check.recomputedDistance, status: DisputeStatus.DISPUTE_STATUS_OPEN, panel: [], round: 0n, deadlineHeight: 0n,
      openedHeight: ctx.height, resolvedHeight: 0n, slashed: '0', answers: check.answers.map((a) => ({ ...a })), trap: check.trap, decidedDistance: 0n,
    };
    ctx.events.emit('poc_dispute_opened', [
      ['dispute', id.toString()], ['epoch', epoch.id.toString()], ['miner', check.miner], ['nonce', check.nonce.toString()], ['verifier', check.verifier],
      ['trap', String(check.trap)],
    ]);
    const settings = this.deps.disputes.disputeSettings(store);
    this.drawPanel(ctx, dispute, Number(settings.panelSize));
    return id;
  }

  /**
   * Draws `seats` arbiters (stake-weighted, without replacement) from the bonded validators,
   * excluding the miner, the verifier and every earlier seat, from the epoch's sample seed (fixed
   * before any verdict: a verifier cannot time its verdict to pick a panel). Fewer eligible →
   * fewer seats; none → the dispute expires.
   */
  private drawPanel(ctx: Context, dispute: Dispute, seats: number): void {
    const settings = this.deps.disputes.disputeSettings(ctx.store);
    const epoch = this.epoch(ctx.store, dispute.epoch);
    const exclusions = [dispute.miner, dispute.verifier, ...dispute.answers.map((a) => a.verifier), ...dispute.panel.map((s) => s.arbiter)];
    const candidates = this.deps.staking.validatorCandidates(ctx.store);
    const k = Math.min(seats, eligible(candidates, exclusions));
    if (k === 0 || epoch === undefined || epoch.sampleSeed.length !== 64) {
      this.resolve(ctx, dispute, DisputeStatus.DISPUTE_STATUS_EXPIRED, 'no eligible arbiters', undefined);
      return;
    }
    const drawn = this.deps.drawer.drawWithSeed(hexSeed(epoch.sampleSeed), DRAW.panel, `${dispute.id}/${dispute.round}`, candidates, k, exclusions);
    for (const arbiter of drawn) dispute.panel.push({ arbiter: arbiter.id, round: dispute.round, voted: false, distance: 0n, voteHeight: 0n, missed: false });
    dispute.deadlineHeight = ctx.height + settings.voteBlocks;
    ctx.events.emit('poc_panel_drawn', [
      ['dispute', dispute.id.toString()], ['round', dispute.round.toString()], ['arbiters', drawn.map((a) => a.id).join(',')],
      ['deadline_height', dispute.deadlineHeight.toString()],
    ]);
    // A redrawn panel may already hold a majority among the seats that remain.
    if (!this.tryDecide(ctx, dispute)) this.setDispute(ctx.store, dispute);
  }

  /**
   * Majority of the active (not missed) seats: ⌊n/2⌋+1 votes for one distance D decide. A claim:
   * D = the claimed distance → HONEST, another → FRAUD. A trap → SETTLED at D.
   */
  private tryDecide(ctx: Context, dispute: Dispute): boolean {
    const active = dispute.panel.filter((s) => !s.missed);
    if (active.length === 0) return false;
    const need = Math.floor(active.length / 2) + 1;
    const votes = active.filter((s) => s.voted).map((s) => s.distance);
    const decided = votes.find((d) => votes.filter((v) => v === d).length >= need);
    if (decided === undefined) return false;
    const status = dispute.trap ? DisputeStatus.DISPUTE_STATUS_SETTLED
      : decided === dispute.claimedDistance ? DisputeStatus.DISPUTE_STATUS_HONEST : DisputeStatus.DISPUTE_STATUS_FRAUD;
    const agree = votes.filter((v) => v === decided).length;
    this.resolve(ctx, dispute, status, `${agree}/${active.length} arbiters recomputed distance ${decided}`, decided);
    return true;
  }

  /**
   * A round past its deadline: silent seats are missed (liveness penalty) and as many new seats
   * drawn (one when every seat voted without a majority), up to max_redraws rounds; then the
   * dispute expires. The remaining seats never decide alone before the new ones are drawn.
   */
  private timeout(ctx: Context, dispute: Dispute): void {
    const settings = this.deps.disputes.disputeSettings(ctx.store);
    let missing = 0;
    for (const seat of dispute.panel) {
      if (seat.missed || seat.voted) continue;
      seat.missed = true;
      missing += 1;
      ctx.events.emit('poc_arbiter_missed', [['dispute', dispute.id.toString()], ['arbiter', seat.arbiter], ['round', seat.round.toString()]]);
      this.penalize(ctx, seat.arbiter, settings.livenessPenalty, 'missed-deadline', `poc dispute ${dispute.id}`);
    }
    if (dispute.round >= settings.maxRedraws) {
      this.resolve(ctx, dispute, DisputeStatus.DISPUTE_STATUS_EXPIRED, `no majority after ${dispute.round + 1n} rounds`, undefined);
      return;
    }
    dispute.round += 1n;
    this.drawPanel(ctx, dispute, Math.max(missing, 1));
  }

  /**
   * Decided at distance D: every verifier that revealed another distance and every arbiter that
   * voted another pay the wrong-result penalty. FRAUD (a claim, D ≠ claimed) also slashes the
   * miner (verification's miner_slash_fraction, jailed from mining) and voids its epoch (weight 0);
   * HONEST (D = claimed) releases its weight; SETTLED (a trap) concerns no miner. EXPIRED: nobody
   * is slashed, a claim's weight is released.
   */
  private resolve(ctx: Context, dispute: Dispute, status: DisputeStatus, reason: string, decided: bigint | undefined): void {
    const settings = this.deps.disputes.disputeSettings(ctx.store);
    dispute.status = status;
    dispute.resolvedHeight = ctx.height;
    const subject = `poc dispute ${dispute.id}`;
    if (status === DisputeStatus.DISPUTE_STATUS_FRAUD) {
      // One slash per miner and epoch: a second forged claim caught in an epoch already void adds no slash.
      const alreadyVoid = this.minerEpoch(ctx.store, dispute.epoch, dispute.miner)?.status === MinerEpochStatus.MINER_EPOCH_STATUS_VOID;
      if (alreadyVoid) {
        ctx.events.emit('poc_slash_skipped', [['dispute', dispute.id.toString()], ['miner', dispute.miner], ['reason', 'epoch already void']]);
      } else {
        try {
          dispute.slashed = this.deps.staking.slashMiner(ctx, dispute.miner, settings.minerSlash, subject).toString();
        } catch {
          ctx.events.emit('poc_slash_skipped', [['dispute', dispute.id.toString()], ['miner', dispute.miner], ['reason', 'slash failed']]);
        }
      }
    }
    if (decided !== undefined) {
      dispute.decidedDistance = decided;
      for (const answer of dispute.answers) if (answer.revealed && answer.distance !== decided) this.penalize(ctx, answer.verifier, settings.wrongResultPenalty, 'wrong-result', subject);
      for (const seat of dispute.panel) if (!seat.missed && seat.voted && seat.distance !== decided) this.penalize(ctx, seat.arbiter, settings.wrongResultPenalty, 'wrong-result', subject);
    }
    this.setDispute(ctx.store, dispute);
    if (!dispute.trap) this.settleMiner(ctx, dispute, status === DisputeStatus.DISPUTE_STATUS_FRAUD);
    ctx.events.emit('poc_dispute_resolved', [
      ['dispute', dispute.id.toString()], ['epoch', dispute.epoch.toString()], ['miner', dispute.miner],
      ['outcome', OUTCOME_NAMES[status] ?? 'expired'], ['reason', reason, false], ['slashed', dispute.slashed, false],
    ]);
  }

  /** The miner's epoch record after a dispute: void on fraud, else active again once no dispute is open. */
  private settleMiner(ctx: Context, dispute: Dispute, fraud: boolean): void {
    const { store } = ctx;
    const record = this.minerEpoch(store, dispute.epoch, dispute.miner);
    if (record === undefined) return;
    if (record.openDisputes > 0n) record.openDisputes -= 1n;
    if (fraud) record.status = MinerEpochStatus.MINER_EPOCH_STATUS_VOID;
    else if (record.status === MinerEpochStatus.MINER_EPOCH_STATUS_DISPUTED && record.openDisputes === 0n) record.status = MinerEpochStatus.MINER_EPOCH_STATUS_ACTIVE;
    const epoch = this.epoch(store, dispute.epoch);
    const ended = epoch !== undefined && epoch.phase === EpochPhase.EPOCH_PHASE_ENDED;
    if (ended) {
      record.weight = record.status === MinerEpochStatus.MINER_EPOCH_STATUS_ACTIVE ? record.claimCount : 0n;
      // The weights in force came from this epoch: the change applies now.
      if (this.schedule(store).weightsEpoch === dispute.epoch) {
        this.setWeight(store, dispute.miner, record.weight);
        this.recomputeWeightTotals(store);
      }
    }
    this.setMinerEpoch(store, record);
  }

  private recomputeWeightTotals(store: KVStore): void {
    let total = 0n;
    let max = 0n;
    for (const { weight } of this.weights(store)) {
      total += weight;
      if (weight > max) max = weight;
    }
    const schedule = this.schedule(store);
    schedule.weightTotal = total;
    schedule.weightMax = max;
    this.setSchedule(store, schedule);
  }

  /** A validator penalty (burn, no jail). Never aborts the tx or block hook applying it. */
  private penalize(ctx: Context, address: string, fraction: Fraction, fault: Fault, subject: string): void {
    let burned = 0n;
    try {
      burned = this.deps.staking.penalizeValidator(ctx, address, fraction, `poc ${fault}: ${subject}`);
    } catch {
      ctx.events.emit('poc_penalty_skipped', [['address', address], ['fault', fault], ['subject', subject, false]]);
      return;
    }
    ctx.events.emit('poc_penalty', [['address', address], ['fault', fault], ['subject', subject, false], ['burned', burned.toString(), false]]);
  }

  // ---------------------------------------------------------------- epoch state machine

  /**
   * In this order (README "Epochs"): (1) the open epoch whose submit_end_height is reached draws
   * its samples and verifiers; (2) the open epoch whose end_height is reached ends: pending checks
   * are missed, the compute weights are replaced; (3) dispute rounds past their deadline time
   * out, ascending by id; (4) with no epoch open, one opens at next_start_height.
   */
  beginBlock(ctx: Context): void {
    const { store, height } = ctx;
    const current = this.schedule(store).currentEpochId;
    if (current !== 0n) {
      const epoch = this.requireEpoch(store, current);
      if (epoch.phase === EpochPhase.EPOCH_PHASE_SUBMISSION && height >= epoch.submitEndHeight) this.startVerification(ctx, epoch);
      if (epoch.phase === EpochPhase.EPOCH_PHASE_VERIFICATION && height >= epoch.endHeight) this.endEpoch(ctx, epoch);
    }
    for (const id of this.openDisputeIds(store)) {
      const dispute = this.dispute(store, id);
      if (dispute !== undefined && height > dispute.deadlineHeight) this.timeout(ctx, dispute);
    }
    const schedule = this.schedule(store);
    if (schedule.currentEpochId === 0n && height >= schedule.nextStartHeight) this.openEpoch(ctx);
  }

  private openEpoch(ctx: Context): void {
    const seed = this.blockSeed(ctx);
    // Without a beacon for this height (never on a running chain) no epoch opens: try next block.
    if (seed === undefined) return;
    const params = this.params(ctx.store);
    const schedule = this.schedule(ctx.store);
    const epoch: Epoch = {
      id: schedule.nextEpochId, phase: EpochPhase.EPOCH_PHASE_SUBMISSION, startHeight: ctx.height,
      submitEndHeight: ctx.height + params.submitBlocks, endHeight: ctx.height + params.epochBlocks, seed: toHex(seed), sampleSeed: '',
      rTarget: params.rTarget, sampleSize: params.sampleSize, maxClaimsPerBatch: params.maxClaimsPerBatch,
      model: { dModel: params.dModel, nLayers: params.nLayers, nHeads: params.nHeads, dFf: params.dFf, seqLen: params.seqLen, vocabSize: POC_VOCAB_SIZE },
      batchCount: 0n, claimCount: 0n, minerCount: 0n,
      // Half the verification phase to commit, the rest to reveal (params keep both ≥ 1 block).
      revealHeight: ctx.height + params.submitBlocks + (params.epochBlocks - params.submitBlocks) / 2n,
    };
    this.setEpoch(ctx.store, epoch);
    schedule.nextEpochId += 1n;
    schedule.currentEpochId = epoch.id;
    schedule.nextStartHeight = epoch.endHeight;
    this.setSchedule(ctx.store, schedule);
    ctx.events.emit('poc_epoch_opened', [
      ['epoch', epoch.id.toString()], ['start_height', epoch.startHeight.toString()], ['submit_end_height', epoch.submitEndHeight.toString()],
      ['end_height', epoch.endHeight.toString()], ['r_target', epoch.rTarget.toString(), false], ['seed', epoch.seed, false],
    ]);
  }

  /** Samples each miner's claims (README "Sampling") and draws a verifier for each sampled claim. */
  private startVerification(ctx: Context, epoch: Epoch): void {
    const { store } = ctx;
    epoch.phase = EpochPhase.EPOCH_PHASE_VERIFICATION;
    const seed = this.blockSeed(ctx);
    epoch.sampleSeed = seed === undefined ? '' : toHex(seed);
    this.setEpoch(store, epoch);
    let drawn = 0;
    if (seed !== undefined && epoch.sampleSize > 0n) {
      const candidates = this.deps.staking.validatorCandidates(store);
      for (const record of this.minerEpochs(store, epoch.id)) {
        const positions = samplePositions(seed, record.miner, record.claimCount, epoch.sampleSize);
        const exclusions = [record.miner];
        if (eligible(candidates, exclusions) === 0) {
          ctx.events.emit('poc_sample_skipped', [['epoch', epoch.id.toString()], ['miner', record.miner], ['reason', 'no eligible verifier']]);
          continue;
        }
        const k = Math.min(VERIFIERS_PER_CHECK, eligible(candidates, exclusions));
        const sampled: Array<{ nonce: bigint; distance: bigint; trap: boolean }> = [];
        let position = 0n;
        let next = 0;
        for (const claim of this.claims(store, epoch.id, record.miner)) {
          if (next >= positions.length) break;
          if (position++ !== positions[next]) continue;
          next += 1;
          sampled.push({ ...claim, trap: false });
        }
        // As many traps as sampled claims: nonces the miner did not claim, whose distance no one published.
        for (const nonce of trapNonces(seed, record.miner, BigInt(positions.length), (n) => this.hasClaim(store, epoch.id, record.miner, n))) {
          sampled.push({ nonce, distance: 0n, trap: true });
        }
        for (const item of sampled) {
          const verifiers = this.deps.drawer.drawWithSeed(seed, DRAW.verifier, `${epoch.id}/${record.miner}/${item.nonce}`, candidates, k, exclusions);
          this.setCheck(store, {
            epoch: epoch.id, miner: record.miner, nonce: item.nonce, claimedDistance: item.distance, verifier: verifiers[0].id,
            status: CheckStatus.CHECK_STATUS_PENDING, recomputedDistance: 0n, answerHeight: 0n, deadlineHeight: epoch.endHeight - 1n, disputeId: 0n,
            answers: verifiers.map((v) => ({ verifier: v.id, commitment: Buffer.alloc(0), revealed: false, distance: 0n, commitHeight: 0n, revealHeight: 0n, missed: false })),
            trap: item.trap,
          });
          drawn += 1;
          ctx.events.emit('poc_check', [
            ['epoch', epoch.id.toString()], ['miner', record.miner], ['nonce', item.nonce.toString()], ['verifier', verifiers.map((v) => v.id).join(',')],
            ['trap', String(item.trap)], ['reveal_height', epoch.revealHeight.toString()], ['deadline_height', (epoch.endHeight - 1n).toString()],
          ]);
        }
      }
    }
    ctx.events.emit('poc_verification_started', [['epoch', epoch.id.toString()], ['checks', drawn.toString()], ['sample_seed', epoch.sampleSeed, false]]);
  }

  /** Missed checks are penalised; the weights of this epoch's miners replace the weights in force. */
  private endEpoch(ctx: Context, epoch: Epoch): void {
    const { store } = ctx;
    const settings = this.deps.disputes.disputeSettings(store);
    // Open checks: a verifier that did not reveal missed its duty; the check settles on what was revealed.
    for (const check of this.checks(store, epoch.id)) {
      if (check.status !== CheckStatus.CHECK_STATUS_PENDING) continue;
      for (const answer of check.answers) {
        if (answer.revealed) continue;
        answer.missed = true;
        ctx.events.emit('poc_answer_missed', [['epoch', epoch.id.toString()], ['miner', check.miner], ['nonce', check.nonce.toString()], ['verifier', answer.verifier]]);
        this.penalize(ctx, answer.verifier, settings.livenessPenalty, 'missed-deadline', `poc epoch ${epoch.id} check of ${check.miner}/${check.nonce}`);
      }
      this.settleCheck(ctx, epoch, check);
      this.setCheck(store, check);
    }
    const stale = [...this.view(store).iterate(keys.weightPrefix)].map(([key]) => key);
    for (const key of stale) this.view(store).delete(key);
    let total = 0n;
    let max = 0n;
    for (const record of this.minerEpochs(store, epoch.id)) {
      record.weight = record.status === MinerEpochStatus.MINER_EPOCH_STATUS_ACTIVE ? record.claimCount : 0n;
      this.setMinerEpoch(store, record);
      this.setWeight(store, record.miner, record.weight);
      total += record.weight;
      if (record.weight > max) max = record.weight;
    }
    epoch.phase = EpochPhase.EPOCH_PHASE_ENDED;
    this.setEpoch(store, epoch);
    const schedule = this.schedule(store);
    schedule.currentEpochId = 0n;
    schedule.weightsEpoch = epoch.id;
    schedule.weightTotal = total;
    schedule.weightMax = max;
    this.setSchedule(store, schedule);
    ctx.events.emit('poc_epoch_ended', [['epoch', epoch.id.toString()], ['miners', epoch.minerCount.toString()], ['weight_total', total.toString()]]);
  }

  /** The beacon of the block being executed (32 bytes), or undefined where there is none. */
  private blockSeed(ctx: Context): Uint8Array | undefined {
    try {
      return Uint8Array.from(this.deps.drawer.seed(ctx));
    } catch {
      return undefined;
    }
  }

  protected requireEpoch(store: KVStore, id: bigint): Epoch {
    const epoch = this.epoch(store, id);
    if (epoch === undefined) throw pocErrors.epochNotFound(`epoch ${id}`);
    return epoch;
  }
}

/** Candidates a draw can pick: stake > 0, not excluded. */
function eligible(candidates: readonly Candidate[], exclusions: readonly string[]): number {
  const excluded = new Set(exclusions);
  return candidates.filter((c) => c.stake > 0n && !excluded.has(c.id)).length;
}

/** Stateless checks of a batch; returns the signer. */
export function validateSubmitBatch(msg: MsgSubmitPocBatch): Uint8Array {
  const miner = decodeAddress(msg.miner, 'miner');
  if (msg.claims.length === 0) throw pocErrors.emptyBatch('a batch carries at least one claim');
  for (let i = 1; i < msg.claims.length; i++) {
    const previous = msg.claims[i - 1].nonce;
    const nonce = msg.claims[i].nonce;
    if (nonce === previous) throw pocErrors.duplicateClaim(`nonce ${nonce} appears twice in the batch`);
    if (nonce < previous) throw pocErrors.claimsNotAscending(`nonce ${nonce} after ${previous}: claims must be ascending by nonce`);
  }
  return miner;
}

/** Stateless checks of a commitment; returns the signer. */
export function validateCommit(msg: MsgPocCommit): Uint8Array {
  const verifier = decodeAddress(msg.verifier, 'verifier');
  decodeAddress(msg.miner, 'miner');
  if (msg.commitment.length !== 32) throw pocErrors.invalidCommitment(`a commitment is 32 bytes (SHA-256), got ${msg.commitment.length}`);
  return verifier;
}

/** Stateless checks of a verdict; returns the signer. */
export function validateVerdict(msg: MsgPocVerdict): Uint8Array {
  const verifier = decodeAddress(msg.verifier, 'verifier');
  decodeAddress(msg.miner, 'miner');
  return verifier;
}


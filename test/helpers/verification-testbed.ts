/**
 * Test seams for verification (test/unit/verification-*.test.ts): a fake training (submissions,
 * windows, rejectSubmission, an aggregation start that honours holds), a sorted in-memory
 * store fast enough for long simulations, and a testbed with the REAL auth, bank and staking
 * keepers whose slashes, penalties and mints are recorded. Good for tests only.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { Context, ExecMode } from '../../app/core/context.ts';
import { utf8 } from '../../app/core/bytes.ts';
import { ChainError } from '../../app/core/errors.ts';
import { CacheStore } from '../../app/core/store/cache.ts';
import { lowerBound, prefixEnd, toKeyString, fromKeyString } from '../../app/core/store/bytes.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import { EventLog } from '../../app/core/events.ts';
import { infiniteGasMeter } from '../../app/core/gas.ts';
import { AuthKeeper } from '../../modules/auth/keeper.ts';
import { decodeAddress, encodeAddress } from '../../app/core/address.ts';
import { BankKeeper } from '../../modules/bank/keeper.ts';
import { blockHashDrawer, type Drawer } from '../../modules/randomness/drawer.ts';
import { StakingKeeper } from '../../modules/staking/keeper.ts';
import { defaultStakingParams } from '../../modules/staking/params.ts';
import { BackendClass, Params as StakingParams } from '../../proto/gen/r3mes/staking/v1/types.ts';
import { DisputeOutcome, DisputeStage, type Dispute, type Params } from '../../proto/gen/r3mes/verification/v1/types.ts';
import { trainingErrors } from '../../modules/training/errors.ts';
import type { SubmissionView, TrainingReader, VerificationStakingKeeper, WindowView } from '../../modules/verification/expected-keepers.ts';
import { DENOM, panelExpectedHash, VERIFICATION_MODULE_ADDRESS, VerificationKeeper } from '../../modules/verification/keeper.ts';
import { verificationModule } from '../../modules/verification/module.ts';
import { defaultParams } from '../../modules/verification/params.ts';
import { commitDomain, UNAVAILABLE_RESULT, verificationCommitment } from '../../modules/verification/commitment.ts';
import { MsgArbiterVote, MsgSubmitVerification } from '../../proto/gen/r3mes/verification/v1/tx.ts';

/** A KVStore over a sorted key array: O(log n) prefix iteration however many keys it holds. */
export class SortedMemStore implements KVStore {
  private readonly values = new Map<string, Uint8Array>();
  private readonly sorted: string[] = [];

  get(key: Uint8Array): Uint8Array | undefined {
    return this.values.get(toKeyString(key));
  }

  has(key: Uint8Array): boolean {
    return this.values.has(toKeyString(key));
  }

  set(key: Uint8Array, value: Uint8Array): void {
    const k = toKeyString(key);
    if (!this.values.has(k)) this.sorted.splice(lowerBound(this.sorted, k), 0, k);
    this.values.set(k, value.slice());
  }

  delete(key: Uint8Array): void {
    const k = toKeyString(key);
    if (this.values.delete(k)) this.sorted.splice(lowerBound(this.sorted, k), 1);
  }

  *iterate(prefix: Uint8Array): IterableIterator<[Uint8Array, Uint8Array]> {
    const p = toKeyString(prefix);
    const end = prefixEnd(p);
    const from = lowerBound(this.sorted, p);
    const to = end === undefined ? this.sorted.length : lowerBound(this.sorted, end);
    for (const k of this.sorted.slice(from, to)) {
      const value = this.values.get(k);
      if (value !== undefined) yield [fromKeyString(k), value];
    }
  }
}

interface FakeSubmission {
  id: bigint;
  miner: string;
  windowId: bigint;
  gradientCid: string;
  gradientHash: Uint8Array;
  traceRoot: Uint8Array;
  status: SubmissionView['status'];
  height: bigint;
  rejectReason: string;
}

/** Training as verification sees it, in plain objects. */
export class FakeTraining implements TrainingReader {
  readonly submissionsById = new Map<bigint, FakeSubmission>();
  readonly windows = new Map<bigint, WindowView>();
  readonly rejections: Array<{ submissionId: bigint; height: bigint; reason: string }> = [];
  nextId = 1n;

  openWindow(windowId: bigint, commitStartHeight: bigint, baseReward: bigint): void {
    this.windows.set(windowId, { commitStartHeight, baseReward });
  }

  submit(miner: string, windowId: bigint, gradientHash: Uint8Array, height: bigint, traceRoot: Uint8Array = new Uint8Array(32)): bigint {
    const id = this.nextId++;
    this.submissionsById.set(id, {
      id, miner, windowId, gradientCid: `bafkrei-fake-${id}`, gradientHash, traceRoot, status: 'pending', height, rejectReason: '',
    });
    return id;
  }

  /** Training's aggregation start with the hold hook: pending, unheld submissions become accepted; held ones are returned. */
  startAggregation(windowId: bigint, isHeld: (submissionId: bigint) => boolean): bigint[] {
    const held: bigint[] = [];
    for (const submission of this.submissionsById.values()) {
      if (submission.windowId !== windowId || submission.status !== 'pending') continue;
      if (isHeld(submission.id)) held.push(submission.id);
      else submission.status = 'accepted';
    }
    return held;
  }

  submission(_store: KVStore, submissionId: bigint): SubmissionView | undefined {
    const s = this.submissionsById.get(submissionId);
    return s === undefined ? undefined : { ...s };
  }

  window(_store: KVStore, windowId: bigint): WindowView | undefined {
    return this.windows.get(windowId);
  }

  nextSubmissionId(): bigint {
    return this.nextId;
  }

  rejectSubmission(ctx: Context, submissionId: bigint, reason: string): void {
    const submission = this.submissionsById.get(submissionId);
    if (submission === undefined) throw trainingErrors.submissionNotFound(`submission ${submissionId}`);
    if (submission.status !== 'pending') throw trainingErrors.submissionNotPending(`submission ${submissionId} is ${submission.status}`);
    submission.status = 'rejected';
    submission.rejectReason = reason;
    this.rejections.push({ submissionId, height: ctx.height, reason });
  }
}

/** A deterministic 20-byte address and its bech32 form. */
export function testAccount(label: string): { bytes: Uint8Array; address: string } {
  const bytes = sha256(utf8(label)).slice(0, 20);
  return { bytes, address: encodeAddress(bytes) };
}

/** 32 bytes standing for a gradient hash. */
export function testHash(label: string): Buffer {
  return Buffer.from(sha256(utf8(`hash:${label}`)));
}

export interface SlashRecord {
  readonly kind: 'miner' | 'validator';
  readonly address: string;
  readonly height: bigint;
  readonly reason: string;
  readonly burned: bigint;
}

export interface TestbedOptions {
  readonly validators?: readonly bigint[];
  readonly params?: Partial<Params>;
  readonly drawer?: Drawer;
  readonly store?: KVStore;
  readonly hashSeed?: string;
  readonly jailBlocks?: bigint;
  /** Training to verify against (default: a FakeTraining). */
  readonly training?: TrainingReader;
}

/**
 * Real auth/bank/staking, fake training, the verification keeper and module. Validators
 * `v1..vN` (stakes from options), bonded through staking's endBlock. Every block-level helper
 * runs on the state directly (as a block hook would); `tx` runs on a cache layer that is
 * merged on success and dropped on failure, as the app does.
 */
export function verificationTestbed(options: TestbedOptions = {}) {
  const state = options.store ?? new SortedMemStore();
  const auth = new AuthKeeper();
  const bank = new BankKeeper(auth);
  const staking = new StakingKeeper(bank);
  const training = new FakeTraining();
  const trainingReader = options.training ?? training;
  const slashes: SlashRecord[] = [];
  let minted = 0n;
  const recordingStaking: VerificationStakingKeeper = {
    validatorCandidates: (store) => staking.validatorCandidates(store),
    slashMiner(ctx, address, numerator, denominator, reason, jail) {
      const burned = staking.slashMiner(ctx, address, numerator, denominator, reason, jail);
      slashes.push({ kind: 'miner', address: encodeAddress(address), height: ctx.height, reason, burned });
      return burned;
    },
    slashValidator(ctx, address, numerator, denominator, reason, jail) {
      const burned = staking.slashValidator(ctx, address, numerator, denominator, reason, jail);
      slashes.push({ kind: 'validator', address: encodeAddress(address), height: ctx.height, reason, burned });
      return burned;
    },
  };
  const recordingBank = {
    send: bank.send.bind(bank),
    supplyOf: bank.supplyOf.bind(bank),
    mint(store: KVStore, events: EventLog, to: Uint8Array, coins: Array<{ denom: string; amount: bigint }>) {
      for (const coin of coins) minted += coin.amount;
      bank.mint(store, events, to, coins);
    },
  };
  const keeper = new VerificationKeeper({ bank: recordingBank, staking: recordingStaking, training: trainingReader, drawer: options.drawer ?? blockHashDrawer });
  const module = verificationModule(keeper);
  staking.setParams(state, StakingParams.fromPartial({
    ...defaultStakingParams, minSelfStake: '100', powerReduction: '100', minMinerStake: '100', jailBlocks: options.jailBlocks ?? 600n,
  }));
  // The deadlines these tests count blocks against (the defaults before they were derived from the
  // measured re-execution time: modules/verification/README.md "Response windows"); a test sets its own in `params`.
  // Bisection off (0) unless a test sets it: these tests drive the whole-chunk panel (README "Bisection").
  keeper.setParams(state, { ...defaultParams(), l1ResponseBlocks: 10n, l2ResponseBlocks: 5n, l3VoteBlocks: 50n, bisectRoundBlocks: 0n, ...options.params });

  let height = 1n;
  const events = new EventLog();
  const blockHash = (at: bigint) => sha256(utf8(`block-${options.hashSeed ?? 'verification'}-${at}`));
  const context = (store: KVStore, mode: ExecMode = 'deliver'): Context => {
    const hash = blockHash(height);
    return {
      store, gas: infiniteGasMeter(), events, chainId: 'r3mes-test-1', height, blockTimeSeconds: 1_700_000_000n + height, mode,
      block: { hash, proposer: new Uint8Array(20) },
    };
  };

  const validators = (options.validators ?? [1000n, 1000n, 1000n, 1000n, 1000n, 1000n]).map((stake, i) => {
    const account = testAccount(`validator-${i + 1}`);
    bank.mint(state, events, account.bytes, [{ denom: DENOM, amount: stake }]);
    staking.createValidator(context(state), {
      operator: account.bytes, consensusPubkey: sha256(utf8(`cons-${i}`)), vrfPubkey: sha256(utf8(`vrf-${i}`)), moniker: `v${i + 1}`,
      commissionRate: '0.1', selfStake: stake,
    });
    return account.address;
  });
  staking.endBlock(context(state));

  const h = {
    state, auth, bank, staking, training, keeper, module, slashes, validators, events,
    get height() {
      return height;
    },
    set height(value: bigint) {
      height = value;
    },
    get minted() {
      return minted;
    },
    ctx: (mode: ExecMode = 'deliver') => context(state, mode),
    /** The block hash of a height: the seed the block-hash drawer uses there. */
    blockHash,
    /** Runs a message (or any keeper call) as a tx: a cache layer kept only on success. */
    tx<T>(run: (ctx: Context) => T, mode: ExecMode = 'deliver'): T {
      const cache = new CacheStore(state);
      const result = run(context(cache, mode));
      cache.write();
      return result;
    },
    /** The block's endBlock hooks: verification, then staking (validator set). */
    endBlock(): void {
      const ctx = context(state);
      keeper.endBlock(ctx);
      staking.endBlock(ctx);
    },
    /** endBlock, then the next height. */
    nextBlock(): void {
      h.endBlock();
      height += 1n;
    },
    fund(address: Uint8Array, amount: bigint): void {
      bank.mint(state, events, address, [{ denom: DENOM, amount }]);
    },
    registerMiner(label: string, stake: bigint): { bytes: Uint8Array; address: string } {
      const account = testAccount(label);
      h.fund(account.bytes, stake);
      staking.registerMiner(context(state), { miner: account.bytes, stake, backend: BackendClass.BACKEND_CLASS_WEBGPU, gpuArch: 'test' });
      return account;
    },
    balance: (address: string | Uint8Array) => bank.balance(state, typeof address === 'string' ? testAccountBytes(address) : address, DENOM),
    moduleBalance: () => bank.balance(state, VERIFICATION_MODULE_ADDRESS, DENOM),
    supply: () => bank.supplyOf(state, DENOM),
    sumOfBalances(): bigint {
      let sum = 0n;
      for (const holder of bank.allHolders(state)) for (const coin of holder.coins) if (coin.denom === DENOM) sum += coin.amount;
      return sum;
    },
    burned(): bigint {
      return slashes.reduce((sum, s) => sum + s.burned, 0n);
    },
    minerStake: (address: Uint8Array) => staking.miner(state, address)?.stake ?? 0n,
    validatorTokens: (address: string) => BigInt(staking.validator(state, testAccountBytes(address))?.tokens ?? '0'),
    /** The salt a test verifier or arbiter uses for a commitment (deterministic). */
    salt: (domain: string, signer: string) => Buffer.from(sha256(utf8(`salt:${domain}:${signer}`))),
    /** The commitment domain of `verifier`'s duty on `submissionId`: its L2 answer when it is the open dispute's L2 verifier, else its L1 check. */
    answerDomain(verifier: string, submissionId: bigint): string {
      const open = keeper.openDispute(state, submissionId);
      return open !== undefined && open.l2Verifier === verifier && open.stage === DisputeStage.DISPUTE_STAGE_L2_ANSWER
        ? commitDomain('l2', open.id, open.l2Round) : commitDomain('l1', submissionId);
    },
    /** MsgSubmitVerification, commit phase, as a tx at the current height. */
    commitAnswer(verifier: string, submissionId: bigint, resultHash: Uint8Array) {
      const domain = h.answerDomain(verifier, submissionId);
      const commitment = verificationCommitment(domain, resultHash, h.salt(domain, verifier), verifier);
      return h.tx((ctx) => keeper.submitVerification(ctx, MsgSubmitVerification.fromPartial({ verifier, submissionId, commitment: Buffer.from(commitment) })));
    },
    /** MsgSubmitVerification, reveal phase, as a tx at the current height. */
    revealAnswer(verifier: string, submissionId: bigint, resultHash: Uint8Array) {
      const domain = h.answerDomain(verifier, submissionId);
      return h.tx((ctx) => keeper.submitVerification(ctx, MsgSubmitVerification.fromPartial({ verifier, submissionId, resultHash: Buffer.from(resultHash), salt: h.salt(domain, verifier) })));
    },
    /** An L1/L2 answer the honest way: commit now, close the block, reveal in the next. */
    answer(verifier: string, submissionId: bigint, resultHash: Uint8Array) {
      h.commitAnswer(verifier, submissionId, resultHash);
      h.nextBlock();
      return h.revealAnswer(verifier, submissionId, resultHash);
    },
    commitVote(disputeId: bigint, arbiter: string, vote: Uint8Array | 'unavailable') {
      const domain = commitDomain('l3', disputeId);
      const commitment = verificationCommitment(domain, vote === 'unavailable' ? UNAVAILABLE_RESULT : vote, h.salt(domain, arbiter), arbiter);
      return h.tx((ctx) => keeper.arbiterVote(ctx, MsgArbiterVote.fromPartial({ arbiter, disputeId, commitment: Buffer.from(commitment) })));
    },
    revealVote(disputeId: bigint, arbiter: string, vote: Uint8Array | 'unavailable') {
      const salt = h.salt(commitDomain('l3', disputeId), arbiter);
      return h.tx((ctx) => keeper.arbiterVote(ctx, MsgArbiterVote.fromPartial(
        vote === 'unavailable' ? { arbiter, disputeId, unavailable: true, salt } : { arbiter, disputeId, resultHash: Buffer.from(vote), salt },
      )));
    },
    /**
     * L3 votes the honest way: every listed arbiter commits now; then the blocks run until
     * reveals open (the next block when every active seat has committed, else past the commit
     * deadline); then they reveal in order, stopping once the dispute is decided. Returns the
     * outcome after each reveal.
     */
    votes(disputeId: bigint, votes: ReadonlyArray<readonly [string, Uint8Array | 'unavailable']>): string[] {
      for (const [arbiter, vote] of votes) h.commitVote(disputeId, arbiter, vote);
      h.openReveals(disputeId);
      const outcomes: string[] = [];
      for (const [arbiter, vote] of votes) {
        if (h.dispute(disputeId).stage === DisputeStage.DISPUTE_STAGE_RESOLVED) break;
        outcomes.push(h.revealVote(disputeId, arbiter, vote));
      }
      return outcomes;
    },
    /** Runs blocks until the dispute's panel may reveal. */
    openReveals(disputeId: bigint): void {
      const d = h.dispute(disputeId);
      if (d.panel.every((seat) => seat.missed || seat.commitment.length > 0)) h.nextBlock();
      else while (height <= d.commitDeadlineHeight) h.nextBlock();
    },
    dispute(id: bigint): Dispute {
      const dispute = keeper.dispute(state, id);
      if (dispute === undefined) throw new Error(`no dispute ${id}`);
      return dispute;
    },
    /**
     * The invariants every test ends with: (1) every miner slash follows an L3 decision of the
     * dispute it names, in the same block, with a fault majority of the panel; every
     * wrong-result penalty too; (2) the module account holds exactly the open bonds; (3) total
     * supply = Σ balances = the supply before + minted − burned.
     */
    invariants(initialSupply: bigint): string[] {
      const problems: string[] = [];
      for (const slash of slashes) {
        const wrongResult = slash.reason.startsWith('verification wrong-result');
        if (slash.kind === 'validator' && !wrongResult) {
          // Liveness, and a failed trap check (its right answer was established by an earlier L3 decision).
          if (!slash.reason.startsWith('verification missed-deadline') && !slash.reason.startsWith('verification trap-failed')) problems.push(`unexpected validator slash ${slash.reason}`);
          continue;
        }
        const match = /dispute (\d+)/.exec(slash.reason);
        const dispute = match === null ? undefined : keeper.dispute(state, BigInt(match[1]));
        if (dispute === undefined || dispute.stage !== DisputeStage.DISPUTE_STAGE_RESOLVED || dispute.resolvedHeight !== slash.height) {
          problems.push(`${slash.kind} slash "${slash.reason}" at ${slash.height} does not follow an L3 decision`);
          continue;
        }
        // A miner that stops answering its bisection rounds loses without a panel (README "Bisection").
        const bisectionTimeout = slash.kind === 'miner' && dispute.resolution.startsWith('bisection: the miner did not reveal');
        if (bisectionTimeout) {
          if (dispute.outcome !== DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT || slash.address !== dispute.miner) problems.push(`bisection-timeout slash of ${slash.address} in dispute ${dispute.id} with outcome ${dispute.outcome}`);
          continue;
        }
        const decidedByPanel = dispute.outcome === DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT || dispute.outcome === DisputeOutcome.DISPUTE_OUTCOME_NO_FAULT;
        if (!decidedByPanel) problems.push(`slash "${slash.reason}" after outcome ${dispute.outcome}`);
        if (slash.kind === 'miner' && (dispute.outcome !== DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT || slash.address !== dispute.miner)) {
          problems.push(`miner slash of ${slash.address} in dispute ${dispute.id} with outcome ${dispute.outcome}`);
        }
        if (slash.kind === 'miner') {
          const active = dispute.panel.filter((s) => !s.missed);
          const expected = Buffer.from(panelExpectedHash(dispute));
          const faults = active.filter((s) => s.voted && (s.unavailable || !Buffer.from(s.resultHash).equals(expected))).length;
          if (faults * 2 <= active.length) problems.push(`miner slash in dispute ${dispute.id} without a panel fault majority`);
        }
      }
      if (h.moduleBalance() !== keeper.bondsHeld(state)) problems.push(`module account ${h.moduleBalance()} != open bonds ${keeper.bondsHeld(state)}`);
      if (h.supply() !== h.sumOfBalances()) problems.push(`supply ${h.supply()} != Σ balances ${h.sumOfBalances()}`);
      if (h.supply() !== initialSupply + minted - h.burned()) problems.push(`supply ${h.supply()} != ${initialSupply} + minted ${minted} − burned ${h.burned()}`);
      return problems;
    },
  };
  return h;
}

function testAccountBytes(address: string): Uint8Array {
  return decodeAddress(address);
}

export type VerificationTestbed = ReturnType<typeof verificationTestbed>;

/** The ChainError a call throws, or undefined. */
export function thrownError(run: () => unknown): ChainError | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof ChainError) return error;
    throw error;
  }
  return undefined;
}

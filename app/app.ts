import {
  ResponseProcessProposal_ProposalStatus, ResponseVerifyVoteExtension_VerifyStatus,
  type RequestCheckTx, type RequestFinalizeBlock, type RequestInfo, type RequestInitChain,
  type RequestPrepareProposal, type RequestProcessProposal, type RequestQuery, type ResponseCheckTx, type ResponseCommit,
  type ResponseFinalizeBlock, type ResponseInfo, type ResponseInitChain, type ResponseQuery,
  type ResponsePrepareProposal, type ResponseProcessProposal, type ResponseExtendVote,
  type ResponseVerifyVoteExtension, type ExecTxResult, type ValidatorUpdate, CheckTxType,
} from 'cosmjs-types/tendermint/abci/types';
import { SimulateRequest, SimulateResponse } from 'cosmjs-types/cosmos/tx/v1beta1/service';
import './proto-runtime.ts'; // allocation-light protobuf runtime: first, before anything decodes
import type { AbciApplication } from './abci/application.ts';
import { ChainError, sdkErrors, toChainError } from './core/errors.ts';
import type { AppModule, MsgHandler } from './core/module.ts';
import { CacheStore } from './core/store/cache.ts';
import type { CommitStore } from './store/commit-store.ts';
import type { KVStore } from './core/store/types.ts';
import { bytesEqual, fromUtf8, toHex, utf8 } from './core/bytes.ts';
import { EventLog } from './core/events.ts';
import { INVARIANT_EVENT } from './core/invariants.ts';
import { infiniteGasMeter } from './core/gas.ts';
import { SignatureCache, signatureJob } from './tx/signature-cache.ts';
import { BatchSignatures } from './tx/batch-signatures.ts';
import { sharedVerifyPool } from './tx/verify-pool.ts';
import { type DecodeLimits, type DecodedTx, decodeTx, txHash } from './tx/decode.ts';
import { type AnteHandler, type BlockInfo, NO_BLOCK, runTx, type TxOutcome } from './tx/run.ts';
import { runAnte, signatureInputs } from '../modules/auth/ante.ts';
import type { AuthKeeper } from '../modules/auth/keeper.ts';
import type { BankKeeper } from '../modules/bank/keeper.ts';
import { buildModules } from './modules.ts';
import { initModulesGenesis, type GenesisAppState } from '../genesis/app-state.ts';
import type { BeaconCheck, BeaconKeeper } from '../modules/randomness/keeper.ts';
import type { TrainingKeeper } from '../modules/training/keeper.ts';
import type { VerificationKeeper } from '../modules/verification/keeper.ts';
import { isBeaconFormat } from '../modules/randomness/beacon-tx.ts';
import { beaconErrors } from '../modules/randomness/errors.ts';
import { readMaxGas, writeMaxGas } from './block-gas.ts';

export const APP_NAME = 'r3mes';
export const APP_VERSION = '0.1.0';
export const PROTOCOL_VERSION = 1n;

const CHAIN_ID_KEY = utf8('app/chain_id');

export interface AppOptions {
  logger?: (line: string) => void;
  /** This node's VRF secret key (config/vrf_key.json): with it, the node's proposals carry the beacon tx. */
  vrfSecretKey?: Uint8Array;
  /** This node's CometBFT address (from config/priv_validator_key.json): a beacon is proposed only for our own blocks. */
  consensusAddress?: Uint8Array;
  /** Tests only (`r3mesd start --test-forge-vrf`): propose beacon txs whose proof has one bit flipped. */
  forgeBeacon?: boolean;
}

/**
 * The R3MES state machine. Knows modules and state, nothing about sockets:
 * app/abci/server.ts calls it. Every method is deterministic in its inputs
 * and the committed state; time comes from block headers only.
 */
export class R3mesApp implements AbciApplication {
  readonly auth: AuthKeeper;
  readonly bank: BankKeeper;
  readonly randomness: BeaconKeeper;
  /** Read by the node's metrics (app/metrics): open windows and disputes in the committed state. */
  readonly training: TrainingKeeper;
  readonly verification: VerificationKeeper;
  readonly modules: AppModule[];
  private readonly msgHandlers = new Map<string, MsgHandler>();
  private readonly queryHandlers = new Map<string, (store: KVStore, data: Uint8Array) => Uint8Array>();
  private readonly signatures = new SignatureCache();
  /** The auth module's ante handler, wired to this node's keepers and verify-once signature cache. */
  private readonly ante: AnteHandler;
  /**
   * Signatures of CheckTx batches verified ahead on the worker pool and on this thread (stolen
   * while waiting); the rest were verified by the ante handler as it ran them. For benchmarks.
   */
  readonly batchSignatureCounts = { worker: 0, ahead: 0 };
  /**
   * Invariant failures the block hooks reported (`invariant_broken` events, app/core/invariants.ts)
   * since this process started: each is logged; `r3mes_invariant_failures_total` (app/metrics) counts them by module and invariant.
   */
  invariantFailures = 0;
  /**
   * Stateless check results by tx hash, so FinalizeBlock and ReCheckTx do not decode again what
   * CheckTx did. Valid while the decode limits stay the same; a committed block's txs leave it.
   */
  private readonly decoded = new Map<string, DecodedTx>();
  /** Hashes of the txs of the block being finalized: dropped from `decoded` at Commit. */
  private blockTxHashes: string[] = [];
  /** CheckTx's own view: committed state plus the txs it accepted since the last commit. */
  private checkState: CacheStore;
  private chainIdCache: string | undefined;
  /** Decode limits from the committed auth params, read once per committed height (not per tx). */
  private limitsCache: { height: bigint; limits: DecodeLimits } | undefined;
  private blockInfo: BlockInfo | undefined;
  /** The InitChain request until the first Commit: a re-sent first block must rebuild genesis state. */
  private pendingGenesis: RequestInitChain | undefined;
  private readonly log: (line: string) => void;
  private readonly options: AppOptions;
  /** The last beacon ProcessProposal accepted, so FinalizeBlock of the same block need not verify the proof again. */
  private checkedBeacon: { height: bigint; firstTx: Uint8Array; proposer: Uint8Array; check: BeaconCheck } | undefined;

  constructor(readonly store: CommitStore, options: AppOptions = {}) {
    this.log = options.logger ?? (() => {});
    this.options = options;
    ({ auth: this.auth, bank: this.bank, randomness: this.randomness, training: this.training, verification: this.verification, modules: this.modules } = buildModules());
    const anteDeps = { auth: this.auth, bank: this.bank, signatures: this.signatures };
    this.ante = (ctx, tx) => runAnte(ctx, tx, anteDeps);
    for (const module of this.modules) {
      for (const handler of module.msgs) this.msgHandlers.set(handler.typeUrl, handler);
      for (const [path, handler] of Object.entries(module.queries)) this.queryHandlers.set(path, handler);
    }
    this.checkState = new CacheStore(store.committed());
  }

  get chainId(): string {
    if (this.chainIdCache === undefined) {
      const raw = this.store.committed().get(CHAIN_ID_KEY) ?? this.store.working().get(CHAIN_ID_KEY);
      this.chainIdCache = raw === undefined ? '' : fromUtf8(raw);
    }
    return this.chainIdCache;
  }

  info(_req: RequestInfo): ResponseInfo {
    return {
      data: APP_NAME, version: APP_VERSION, appVersion: PROTOCOL_VERSION,
      lastBlockHeight: this.store.lastHeight, lastBlockAppHash: this.store.lastAppHash,
    };
  }

  initChain(req: RequestInitChain): ResponseInitChain {
    // CometBFT sends InitChain again when it restarts (crash) before the first Commit: Info still
    // says height 0. Start from nothing staged, or the genesis accounts would be "listed twice", and
    // a thrown InitChain makes CometBFT stop.
    this.store.discard();
    this.pendingGenesis = req;
    const working = this.store.working();
    working.set(CHAIN_ID_KEY, utf8(req.chainId));
    this.chainIdCache = req.chainId;
    const text = req.appStateBytes.length === 0 ? '{}' : fromUtf8(req.appStateBytes);
    this.initGenesis(working, JSON.parse(text) as GenesisAppState);
    writeMaxGas(working, req.consensusParams?.block?.maxGas); // app/block-gas.ts
    // Until block 1 commits, CheckTx sees the genesis state (as in the Cosmos SDK).
    this.checkState = new CacheStore(working);
    this.log(`init chain ${req.chainId}: ${this.modules.map((m) => m.name).join(', ')}`);
    return { consensusParams: undefined, validators: [], appHash: this.store.workingHash() };
  }

  initGenesis(store: KVStore, state: GenesisAppState): void {
    initModulesGenesis(this.modules, store, state);
  }

  exportGenesis(store: KVStore = this.store.committed()): GenesisAppState {
    return Object.fromEntries(this.modules.map((module) => [module.name, module.exportGenesis(store)]));
  }

  private readonly lookupHandler = (url: string): MsgHandler | undefined => this.msgHandlers.get(url);

  /** `hash`, when the caller already has it, must be txHash(bytes). */
  private decode(bytes: Uint8Array, simulate = false, hash?: string): DecodedTx {
    return decodeTx(bytes, this.decodeLimits(), this.lookupHandler, simulate, hash);
  }

  private decodeLimits(): DecodeLimits {
    const height = this.store.lastHeight;
    if (this.limitsCache?.height !== height) {
      // Committed state changes only at commit, which raises lastHeight.
      const params = this.auth.getParams(this.store.committed());
      const previous = this.limitsCache?.limits;
      if (previous?.maxTxBytes !== params.maxTxBytes || previous.maxMemoCharacters !== params.maxMemoCharacters) this.decoded.clear();
      this.limitsCache = { height, limits: { maxTxBytes: params.maxTxBytes, maxMemoCharacters: params.maxMemoCharacters } };
    }
    return this.limitsCache.limits;
  }

  private decodeCached(bytes: Uint8Array): DecodedTx {
    this.decodeLimits(); // first, so that a change of limits empties the cache
    const hash = txHash(bytes);
    const cached = this.decoded.get(hash);
    if (cached !== undefined) return cached;
    const decoded = this.decode(bytes, false, hash);
    if (this.decoded.size > 100_000) this.decoded.clear();
    this.decoded.set(decoded.hash, decoded);
    return decoded;
  }

  checkTx(req: RequestCheckTx): ResponseCheckTx {
    return this.checkDecoded(req, undefined);
  }

  /** CheckTx of `req`, whose stateless decoding `decoded` the caller may already hold (from decodeCached of the same bytes). */
  private checkDecoded(req: RequestCheckTx, decoded: DecodedTx | undefined): ResponseCheckTx {
    let outcome: TxOutcome;
    try {
      // Beacon txs (modules/randomness/beacon-tx.ts) come only from a block's proposer, never the mempool.
      if (isBeaconFormat(req.tx)) throw beaconErrors.beaconTxFromUser('beacon-format tx (starts with 0x00 "R3VRF")');
      const tx = decoded ?? this.decodeCached(req.tx);
      const mode = req.type === CheckTxType.RECHECK ? 'recheck' : 'check';
      const block = { chainId: this.chainId, height: this.store.lastHeight + 1n, blockTimeSeconds: 0n, block: NO_BLOCK };
      outcome = runTx(mode, this.checkState, tx, block, this.ante);
      if (outcome.code !== 0) this.decoded.delete(tx.hash); // not in the mempool: nothing will need it
    } catch (thrown) {
      outcome = errorOutcome(thrown);
    }
    // No data, as in the Cosmos SDK: CometBFT's broadcast_tx_sync returns CheckTx data as hex and
    // CosmJS decodes that field as base64, so data of an odd byte length (e.g. the TxMsgData of
    // MsgCommitAggregation) makes every CosmJS broadcast of such a tx throw after it entered the mempool.
    return {
      code: outcome.code, codespace: outcome.codespace, log: outcome.log, data: new Uint8Array(), info: '',
      gasWanted: outcome.gasWanted, gasUsed: outcome.gasUsed, events: outcome.events,
    };
  }

  /**
   * CheckTx of several requests that arrived together (CometBFT pipelines CheckTx on the mempool
   * connection and flushes), answered in order and exactly as `checkTx` one by one would answer.
   * The signatures are verified ahead, on the worker pool or on this thread when it would
   * otherwise wait (app/tx/batch-signatures.ts), into the verify-once cache, which matches tx
   * hash (so bytes), account number, chain-id and pubkey: the ante handler finds a signature
   * there only when it checks exactly those inputs, and verifies inline whatever is not there.
   */
  async checkTxBatch(reqs: RequestCheckTx[]): Promise<ResponseCheckTx[]> {
    const pool = sharedVerifyPool();
    if (pool === undefined || reqs.length === 0) return reqs.map((req) => this.checkTx(req));
    const chainId = this.chainId;
    // Each request's decoding, made once (when its signature is prepared or when it runs).
    const decoded: Array<DecodedTx | undefined> = new Array(reqs.length).fill(undefined);
    const prepare = (i: number) => {
      try {
        if (isBeaconFormat(reqs[i].tx)) return undefined;
        const tx = decoded[i] ?? this.decodeCached(reqs[i].tx);
        decoded[i] = tx;
        const inputs = signatureInputs(this.checkState, tx, this.auth);
        return inputs && signatureJob(tx, chainId, inputs.accountNumber, inputs.pubkey, this.signatures);
      } catch {
        return undefined; // CheckTx answers with the error
      }
    };
    const signatures = new BatchSignatures(reqs.length, prepare, pool, this.signatures);
    const responses: ResponseCheckTx[] = [];
    for (const [k, { start, end }] of signatures.ranges.entries()) {
      await signatures.ready(k);
      for (let i = start; i < end; i++) responses.push(this.checkDecoded(reqs[i], decoded[i]));
    }
    this.batchSignatureCounts.worker += signatures.counts.worker;
    this.batchSignatureCounts.ahead += signatures.counts.ahead;
    return responses;
  }

  /**
   * State the next block builds on: committed state, or before block 1 commits the genesis state
   * InitChain staged (the genesis validators and their VRF keys live there).
   */
  private proposalState(): KVStore {
    return this.pendingGenesis !== undefined ? this.store.working() : this.store.committed();
  }

  prepareProposal(req: RequestPrepareProposal): ResponsePrepareProposal {
    // The beacon tx first (randomness README, "Beacon"), then CometBFT's txs in its order, stopping
    // at the block's byte limit. Never throws: a failure to prove leaves the beacon out, and the
    // other validators reject the proposal, which costs a round, not the node.
    const txs: Uint8Array[] = [];
    let total = 0n;
    const beaconTx = this.proposeBeacon(req);
    if (beaconTx !== undefined && BigInt(beaconTx.length) <= req.maxTxBytes) {
      txs.push(beaconTx);
      total += BigInt(beaconTx.length);
    }
    const maxGas = readMaxGas(this.proposalState());
    let gas = 0n;
    for (const tx of req.txs) {
      if (isBeaconFormat(tx)) continue; // CheckTx refuses these; a peer's mempool might not
      total += BigInt(tx.length);
      if (total > req.maxTxBytes) break;
      if (maxGas !== undefined) {
        gas += this.gasLimitOf(tx);
        if (gas > maxGas) break; // block.max_gas (app/block-gas.ts)
      }
      txs.push(tx);
    }
    return { txs };
  }

  private proposeBeacon(req: RequestPrepareProposal): Uint8Array | undefined {
    const { vrfSecretKey, consensusAddress, forgeBeacon } = this.options;
    if (vrfSecretKey === undefined) return undefined;
    if (consensusAddress !== undefined && !bytesEqual(consensusAddress, req.proposerAddress)) {
      this.log(`prepare proposal ${req.height}: proposer ${toHex(req.proposerAddress)} is not this node (${toHex(consensusAddress)}); no beacon`);
      return undefined;
    }
    try {
      const tx = this.randomness.makeBeaconTx(this.proposalState(), this.chainId, req.height, req.proposerAddress, vrfSecretKey);
      if (tx !== undefined && forgeBeacon === true) tx[tx.length - 48] ^= 0x01; // a bit of the proof's challenge c
      return tx;
    } catch (thrown) {
      this.log(`prepare proposal ${req.height}: no beacon tx: ${(thrown as Error).message}`);
      return undefined;
    }
  }

  processProposal(req: RequestProcessProposal): ResponseProcessProposal {
    // The block must carry the proposer's valid beacon tx first and no other beacon-format tx.
    // Invalid user txs are no reason to reject: they fail one by one in FinalizeBlock.
    // Always ACCEPT or REJECT (UNKNOWN makes CometBFT panic), so nothing may throw out of here.
    let check: BeaconCheck;
    try {
      check = this.randomness.checkProposal(this.proposalState(), this.chainId, req.height, req.proposerAddress, req.txs);
    } catch (thrown) {
      check = { ok: false, reason: `internal error: ${(thrown as Error).message}` };
    }
    if (!check.ok) {
      this.log(`process proposal ${req.height} by ${toHex(req.proposerAddress).toUpperCase()}: REJECT (${check.reason})`);
      return { status: ResponseProcessProposal_ProposalStatus.REJECT };
    }
    const maxGas = readMaxGas(this.proposalState());
    if (maxGas !== undefined) {
      const gas = req.txs.reduce((sum, tx) => sum + this.gasLimitOf(tx), 0n);
      if (gas > maxGas) {
        this.log(`process proposal ${req.height} by ${toHex(req.proposerAddress).toUpperCase()}: REJECT (txs' gas limits sum to ${gas}, above block.max_gas ${maxGas})`);
        return { status: ResponseProcessProposal_ProposalStatus.REJECT };
      }
    }
    this.checkedBeacon = { height: req.height, firstTx: req.txs[0] ?? new Uint8Array(), proposer: req.proposerAddress, check };
    return { status: ResponseProcessProposal_ProposalStatus.ACCEPT };
  }

  /** A tx's gas limit as block.max_gas counts it: 0 for the beacon tx and for a tx that does not decode (app/block-gas.ts). */
  private gasLimitOf(tx: Uint8Array): bigint {
    if (isBeaconFormat(tx)) return 0n;
    try {
      return this.decodeCached(tx).gasLimit;
    } catch {
      return 0n;
    }
  }

  /**
   * The beacon of the block being finalized. A decided block passed ProcessProposal on > 2/3 of
   * the power, so its beacon checks out; should it not (a replay of a block this app never
   * checked is still checked here, deterministically), the value is the derived one and the
   * beacon-format txs fail — every node computes the same either way.
   */
  private blockBeacon(req: RequestFinalizeBlock): BeaconCheck {
    const firstTx = req.txs[0];
    const cached = this.checkedBeacon;
    if (cached !== undefined && cached.height === req.height && bytesEqual(cached.proposer, req.proposerAddress) && bytesEqual(cached.firstTx, firstTx ?? new Uint8Array())) {
      return cached.check;
    }
    // FinalizeBlock runs on the working state, which before any write equals what ProcessProposal read.
    const check = this.randomness.checkBeacon(this.store.working(), this.chainId, req.height, req.proposerAddress, firstTx);
    return check.ok ? check : this.randomness.derived(this.store.working(), this.chainId, req.height);
  }

  extendVote(): ResponseExtendVote {
    return { voteExtension: new Uint8Array() };
  }

  verifyVoteExtension(): ResponseVerifyVoteExtension {
    return { status: ResponseVerifyVoteExtension_VerifyStatus.ACCEPT };
  }

  finalizeBlock(req: RequestFinalizeBlock): ResponseFinalizeBlock {
    if (this.blockInfo !== undefined) {
      // A second FinalizeBlock without a Commit between: CometBFT died after the first and, on restart,
      // replays the block (Info says H-1, its block store has H). Drop what the first run staged, or the
      // txs would meet their own effects (sequence already used: code 32, so other tx results and
      // another LastResultsHash than the other validators). Before block 1, genesis is staged too.
      this.store.discard();
      if (this.pendingGenesis !== undefined) this.initChain(this.pendingGenesis);
    }
    const working = this.store.working();
    const block: BlockInfo = {
      chainId: this.chainId, height: req.height, blockTimeSeconds: req.time.seconds,
      block: { hash: req.hash, proposer: req.proposerAddress },
    };
    this.blockInfo = block;
    this.blockTxHashes = [];
    const blockEvents = new EventLog();
    const hookContext = { store: working, gas: infiniteGasMeter(), events: blockEvents, mode: 'deliver' as const, ...block };
    // The beacon of this height is stored before any hook or tx runs: draws in this block read it.
    const beacon = this.blockBeacon(req);
    this.randomness.recordBeacon(working, blockEvents, req.height, req.proposerAddress, beacon);
    for (const module of this.modules) module.beginBlock?.(hookContext);

    const txResults: ExecTxResult[] = req.txs.map((bytes, index) => {
      let outcome: TxOutcome;
      try {
        if (isBeaconFormat(bytes)) {
          // The one valid beacon tx (first, proof checked) succeeds with nothing to do: its value is stored above.
          if (index === 0 && beacon.ok && beacon.source === 'vrf') return { code: 0, codespace: '', log: '', data: new Uint8Array(), info: 'beacon', gasWanted: 0n, gasUsed: 0n, events: [] };
          throw beaconErrors.invalidBeaconTx(`tx ${index} of block ${req.height}`);
        }
        const hash = txHash(bytes);
        this.blockTxHashes.push(hash);
        const tx = this.decoded.get(hash) ?? this.decode(bytes, false, hash);
        outcome = runTx('deliver', working, tx, block, this.ante);
      } catch (thrown) {
        outcome = errorOutcome(thrown);
      }
      return {
        code: outcome.code, codespace: outcome.codespace, log: outcome.log, data: outcome.data, info: '',
        gasWanted: outcome.gasWanted, gasUsed: outcome.gasUsed, events: outcome.events,
      };
    });

    const validatorUpdates: ValidatorUpdate[] = [];
    for (const module of this.modules) validatorUpdates.push(...(module.endBlock?.(hookContext) ?? []));
    this.countInvariantFailures(req.height, blockEvents);
    const appHash = this.store.workingHash();
    if (txResults.length > 0) {
      const failed = txResults.filter((result) => result.code !== 0);
      const reasons = failed.slice(0, 3).map((result) => `${result.codespace}/${result.code} ${result.log}`).join('; ');
      this.log(`block ${req.height}: ${txResults.length} txs, ${txResults.length - failed.length} ok, ${failed.length} failed${reasons === '' ? '' : ` (${reasons})`}; app hash ${Buffer.from(appHash).toString('hex').toUpperCase().slice(0, 16)}…`);
    }
    return { events: blockEvents.events, txResults, validatorUpdates, consensusParamUpdates: undefined, appHash };
  }

  /** Logs and counts the invariant failures the block hooks reported (they never throw on them). */
  private countInvariantFailures(height: bigint, events: EventLog): void {
    for (const event of events.events) {
      if (event.type !== INVARIANT_EVENT) continue;
      this.invariantFailures += 1;
      const attributes = Object.fromEntries(event.attributes.map((a) => [a.key, a.value]));
      this.log(`block ${height}: INVARIANT BROKEN ${attributes.module ?? '?'}/${attributes.invariant ?? '?'}: ${attributes.detail ?? ''}`);
    }
  }

  async commit(): Promise<ResponseCommit> {
    // Only a finalized block is committed. The ABCI edge lets no other Commit through
    // (app/abci/README.md, "Consensus order"); this is the state machine's own guard: committing
    // an empty height here would put the app one height ahead of CometBFT.
    if (this.blockInfo === undefined) throw new Error(`Commit without a FinalizeBlock since the last Commit (height ${this.store.lastHeight})`);
    const height = this.blockInfo.height;
    await this.store.commit(height);
    this.checkState = new CacheStore(this.store.committed());
    // Txs still in the mempool keep their decoding for ReCheckTx and the next block.
    for (const hash of this.blockTxHashes) this.decoded.delete(hash);
    this.blockTxHashes = [];
    this.blockInfo = undefined;
    this.pendingGenesis = undefined;
    this.checkedBeacon = undefined;
    return { retainHeight: 0n };
  }

  query(req: RequestQuery): ResponseQuery {
    const base = {
      code: 0, log: '', info: '', index: 0n, key: req.data, value: new Uint8Array(),
      proofOps: undefined, height: this.store.lastHeight, codespace: '',
    };
    try {
      const storeMatch = /^\/store\/([a-z]+)\/key$/.exec(req.path);
      if (req.height !== 0n && req.height !== this.store.lastHeight) {
        // Raw keys (and their proofs) are kept for the retained heights; module queries read the
        // latest state only.
        if (storeMatch === null) {
          throw sdkErrors.invalidRequest(
            `module queries are answered at the latest height ${this.store.lastHeight} only; got height ${req.height} ` +
              '(raw store queries, /store/<module>/key, are answered at any retained height)',
          );
        }
        return { ...base, height: req.height, ...this.queryStoreKey(storeMatch[1], req.data, req.prove, req.height) };
      }
      if (req.path === '/cosmos.tx.v1beta1.Service/Simulate') return { ...base, value: this.simulate(req.data) };
      if (storeMatch !== null) return { ...base, ...this.queryStoreKey(storeMatch[1], req.data, req.prove) };
      const handler = this.queryHandlers.get(req.path);
      if (handler === undefined) throw sdkErrors.unknownRequest(`unknown query path "${req.path}"`);
      return { ...base, value: handler(this.store.committed(), req.data) };
    } catch (thrown) {
      const error = thrown instanceof ChainError ? thrown : sdkErrors.invalidRequest(`query ${req.path} failed: ${(thrown as Error).message}`);
      return { ...base, code: error.code, codespace: error.codespace, log: error.message };
    }
  }

  /**
   * Raw state of one module key at the last commit (or at a retained `height`), with an ICS23
   * proof against that height's app hash when asked.
   */
  private queryStoreKey(module: string, key: Uint8Array, prove: boolean, height?: bigint): Pick<ResponseQuery, 'key' | 'value' | 'proofOps'> {
    if (!this.modules.some((m) => m.name === module)) throw sdkErrors.unknownRequest(`unknown store "${module}"`);
    const fullKey = new Uint8Array([...utf8(`${module}/`), ...key]);
    if (!prove) {
      const value = height === undefined ? this.store.committed().get(fullKey) : this.store.getAt(fullKey, height);
      return { key, value: value ?? new Uint8Array(), proofOps: undefined };
    }
    const proven = height === undefined ? this.store.prove(fullKey) : this.store.proveAt(fullKey, height);
    return {
      key,
      value: proven.value ?? new Uint8Array(),
      proofOps: { ops: [{ type: proven.value === undefined ? 'ics23:nonexist' : 'ics23:exist', key: fullKey, data: proven.proof }] },
    };
  }

  private simulate(data: Uint8Array): Uint8Array {
    const request = SimulateRequest.decode(data);
    if (request.txBytes.length === 0) throw sdkErrors.invalidRequest('simulate needs tx_bytes');
    const tx = this.decode(request.txBytes, true);
    const block = { chainId: this.chainId, height: this.store.lastHeight + 1n, blockTimeSeconds: 0n, block: NO_BLOCK };
    const outcome = runTx('simulate', new CacheStore(this.checkState), tx, block, this.ante);
    if (outcome.code !== 0) throw new ChainError(outcome.codespace, outcome.code, outcome.log);
    return SimulateResponse.encode({
      gasInfo: { gasWanted: outcome.gasWanted, gasUsed: outcome.gasUsed },
      result: { data: outcome.data, log: '', events: outcome.events, msgResponses: outcome.msgResponses },
    }).finish();
  }

}

function errorOutcome(thrown: unknown): TxOutcome {
  const error = toChainError(thrown);
  return {
    code: error.code, codespace: error.codespace, log: error.message, data: new Uint8Array(),
    gasWanted: 0n, gasUsed: 0n, events: [], msgResponses: [],
  };
}

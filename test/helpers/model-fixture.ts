/**
 * Shared fixture of the model module tests: real auth + bank keepers over an
 * in-memory state, a fake stake reader and a params router with a stand-in
 * second module, and builders for proposals and votes.
 */
import { ChainError } from '../../app/core/errors.ts';
import type { Context } from '../../app/core/context.ts';
import { fromUtf8, toHex, utf8 } from '../../app/core/bytes.ts';
import type { CacheStore } from '../../app/core/store/cache.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import { AuthKeeper } from '../../modules/auth/keeper.ts';
import { encodeAddress } from '../../app/core/address.ts';
import { BankKeeper } from '../../modules/bank/keeper.ts';
import { EventLog } from '../../app/core/events.ts';
import type { ParamsRouter, StakeReader, HeadRollback } from '../../modules/model/expected-keepers.ts';
import { ModelKeeper } from '../../modules/model/keeper.ts';
import { modelModule } from '../../modules/model/module.ts';
import { defaultModelGenesis } from '../../modules/model/genesis.ts';
import { MsgSubmitProposal, MsgVote } from '../../proto/gen/r3mes/model/v1/tx.ts';
import { type NewVersionContent, VoteOption } from '../../proto/gen/r3mes/model/v1/types.ts';
import { emptyState, testContext } from './module-context.ts';
export const DENOM = 'ur3mes';
export const addr = (n: number) => new Uint8Array(20).fill(n);
export const PROPOSER = addr(1);
export const VAL_A = addr(10); // 60 stake
export const VAL_B = addr(11); // 30 stake
export const VAL_C = addr(12); // 10 stake
export const FUNDS = 100_000_000n;
export const MIN_DEPOSIT = 10_000_000n;

/**
 * A stand-in for another module's params, kept in the store, validated in set after writing (to
 * prove the layer is dropped). Its rules: `unbondingBlocks` a positive integer, and not below the
 * model's `votingPeriodBlocks` — a rule across modules, so that a passed model change can make
 * an earlier-valid staking change fail at execution.
 */
export const FAKE_KEY = utf8('fake-staking/params');

export function setup({ votingPeriodBlocks = '10', head = undefined as HeadRollback | undefined } = {}) {
  const store = emptyState();
  const auth = new AuthKeeper();
  const bank = new BankKeeper(auth);
  const stakes = new Map<string, bigint>([[toHex(VAL_A), 60n], [toHex(VAL_B), 30n], [toHex(VAL_C), 10n]]);
  const stake: StakeReader = {
    votingStake: (_store, address) => stakes.get(toHex(address)) ?? 0n,
    totalVotingStake: () => [...stakes.values()].reduce((sum, value) => sum + value, 0n),
  };
  const setCalls: Array<{ module: string; value: unknown }> = [];
  // The router is built after the module, as the lead does: it closes over `module`.
  // eslint-disable-next-line prefer-const
  let module: ReturnType<typeof modelModule>;
  const router: ParamsRouter = {
    modules: () => ['model', 'staking'],
    get(s, name) {
      if (name === 'model') return module.params!.get(s);
      const raw = s.get(FAKE_KEY);
      return raw === undefined ? { unbondingBlocks: 100 } : JSON.parse(fromUtf8(raw));
    },
    set(s, name, value) {
      setCalls.push({ module: name, value });
      if (name === 'model') return module.params!.set(s, value);
      s.set(FAKE_KEY, utf8(JSON.stringify(value)));
      const blocks = (value as { unbondingBlocks?: unknown }).unbondingBlocks;
      if (typeof blocks !== 'number' || blocks < 1) throw new ChainError('staking', 2, 'unbondingBlocks must be a positive integer');
      const voting = (module.params!.get(s) as { votingPeriodBlocks: string }).votingPeriodBlocks;
      if (BigInt(blocks) < BigInt(voting)) throw new ChainError('staking', 2, `unbondingBlocks ${blocks} is below the model's votingPeriodBlocks ${voting}`);
    },
  };
  const keeper = new ModelKeeper({ bank, stake, params: router, head });
  module = modelModule(keeper);
  const genesis = defaultModelGenesis();
  genesis.params.votingPeriodBlocks = votingPeriodBlocks;
  module.initGenesis(store, genesis);
  bank.mint(store, new EventLog(), PROPOSER, [{ denom: DENOM, amount: FUNDS }]);
  const [submitHandler, voteHandler] = module.msgs;

  /** Runs a message as a tx would: encode → decode → stateless signers → execute on a layer of `store`. */
  function deliver(height: bigint, typeUrl: string, msg: MsgSubmitProposal | MsgVote): Context {
    const handler = typeUrl === submitHandler.typeUrl ? submitHandler : voteHandler;
    const bytes = typeUrl === submitHandler.typeUrl ? MsgSubmitProposal.encode(msg as MsgSubmitProposal).finish() : MsgVote.encode(msg as MsgVote).finish();
    const decoded = handler.decode(bytes);
    handler.signers(decoded);
    const ctx = testContext(store, { height });
    const response = handler.execute(ctx, decoded);
    lastResponse = response;
    return ctx;
  }
  let lastResponse: { typeUrl: string; value: Uint8Array } | undefined;
  function endBlock(height: bigint): Context {
    const ctx = testContext(store, { height });
    module.endBlock!(ctx);
    return ctx;
  }
  return { store: store as CacheStore & KVStore, auth, bank, keeper, module, stakes, router, setCalls, deliver, endBlock, response: () => lastResponse };
}

export const seedHex = (n: number) => n.toString(16).padStart(2, '0').repeat(32);

export function newVersionContent(overrides: Partial<NewVersionContent> = {}): NewVersionContent {
  return {
    modelCid: '',
    manifestCid: '',
    architectureHash: '',
    backboneSeed: seedHex(7),
    architecture: { dModel: 128, nLayers: 2, nHeads: 2, dFf: 512, vocabSize: 256, seqLen: 128, nKvHeads: 0, ffn: '', ropeTheta: 0, ropeLayout: '', normGains: false, embedding: '' },
    lora: { rank: 16, alpha: 32, targets: ['q', 'v'] },
    migrationBlocks: 5n,
    ...overrides,
  };
}

export function submitMsg(content: MsgSubmitProposal['content'], deposit = MIN_DEPOSIT, overrides: Partial<MsgSubmitProposal> = {}): MsgSubmitProposal {
  return {
    proposer: encodeAddress(PROPOSER), title: 'Proposal', summary: 'why', content,
    initialDeposit: [{ denom: DENOM, amount: deposit.toString() }], ...overrides,
  };
}

export function voteMsg(proposalId: bigint, voter: Uint8Array, option: VoteOption): MsgVote {
  return { proposalId, voter: encodeAddress(voter), option };
}

export function eventsOf(ctx: Context, type: string): Array<Record<string, string>> {
  return ctx.events.events.filter((e) => e.type === type).map((e) => Object.fromEntries(e.attributes.map((a) => [a.key, a.value])));
}

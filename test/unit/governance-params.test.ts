/**
 * Parameter-change proposals against the real modules and the real params router
 * (app/modules.ts): a change is validated at submission as it would be at execution — the
 * module's own validator, its checks against state, and the rules across modules
 * (app/params-constraints.ts) — on the params as they would be after it. Refusals are model/16
 * naming the module's own error; nothing is written.
 */
import t, { type Test } from 'tap';
import { buildModules } from '../../app/modules.ts';
import { ChainError } from '../../app/core/errors.ts';
import { CacheStore } from '../../app/core/store/cache.ts';
import { EventLog } from '../../app/core/events.ts';
import { defaultAppState, initModulesGenesis } from '../../genesis/app-state.ts';
import { applyDevnetTemplate } from '../../genesis/devnet.ts';
import { WindowStatus } from '../../proto/gen/r3mes/training/v1/types.ts';
import { emptyState, testContext } from '../helpers/module-context.ts';

/**
 * `pinned`: the window and deadline params these tests count against (the defaults before the
 * response windows were derived from measured re-execution times: verification README,
 * "Response windows"); otherwise the defaults as they are.
 */
function setup(pinned: boolean | 'devnet' = true) {
  const keepers = buildModules();
  const store = emptyState();
  const appState = defaultAppState(keepers.modules) as unknown as { training: { params: Record<string, string> }; verification: { params: Record<string, string> } };
  if (pinned === 'devnet') applyDevnetTemplate(appState as unknown as ReturnType<typeof defaultAppState>, { windowBlocks: 20, cheater: false });
  else if (pinned) {
    Object.assign(appState.training.params, { windowBlocks: '100', challengePeriodBlocks: '20' });
    Object.assign(appState.verification.params, { l1ResponseBlocks: '10', l2ResponseBlocks: '5', l3VoteBlocks: '50' });
  }
  initModulesGenesis(keepers.modules, store, appState as unknown as ReturnType<typeof defaultAppState>);
  const router = (name: string) => keepers.modules.find((m) => m.name === name)!.params!;
  const paramsOf = (name: string) => router(name).get(store) as Record<string, string>;
  /** What MsgSubmitProposal runs for a param change (the module is known). */
  const submit = (module: string, change: Record<string, unknown>) => keepers.model.checkParamChange(store, module, JSON.stringify({ ...paramsOf(module), ...change }));
  return { keepers, store, paramsOf, submit };
}

function refused(t: Test, run: () => unknown, message: RegExp): void {
  let error: unknown;
  try {
    run();
  } catch (thrown) {
    error = thrown;
  }
  t.ok(error instanceof ChainError, `refused: ${message}`);
  t.match({ codespace: (error as ChainError).codespace, code: (error as ChainError).code }, { codespace: 'model', code: 16 });
  t.match((error as ChainError).message, message);
}

t.test('defaults satisfy every rule; a valid change is accepted and writes nothing', (t) => {
  const s = setup(false);
  t.equal(s.paramsOf('training').challengePeriodBlocks, '410', 'the default challenge period: the measured response windows');
  // A proposal that changes nothing runs every rule on the defaults themselves.
  for (const module of ['training', 'verification']) t.doesNotThrow(() => s.submit(module, {}), `the default ${module} params pass every rule`);
  const devnet = setup('devnet');
  for (const module of ['training', 'verification']) t.doesNotThrow(() => devnet.submit(module, {}), `the devnet template's ${module} params (20-block windows) pass every rule`);
  const before = s.paramsOf('training');
  s.submit('training', { windowBlocks: '200' });
  s.submit('verification', { l1ResponseBlocks: '405' }); // 405 + 5 ≤ 410
  s.submit('staking', { powerReduction: '10' });
  t.same(s.paramsOf('training'), before, 'the dry run left the params as they were');
  t.end();
});

t.test('training: window phases must end within three windows (challenge + commit + reveal ≤ 3 · window_blocks)', (t) => {
  const s = setup();
  // Defaults 20 + 10 + 10 = 40: windows of 14 blocks (42) fit, 13 (39) do not.
  s.submit('training', { windowBlocks: '14' });
  refused(t, () => s.submit('training', { windowBlocks: '13' }),
    /^training params refused: training\/2: challengePeriodBlocks \+ commitPeriodBlocks \+ revealPeriodBlocks \(40\) must be at most 3 × windowBlocks \(39\)/);
  refused(t, () => s.submit('training', { revealPeriodBlocks: '271' }), /\(301\) must be at most 3 × windowBlocks \(300\)/);
  t.end();
});

t.test('training: a window already open keeps its phases; shorter windows must not leave it behind', (t) => {
  const s = setup();
  // A window opened at 1 under long phases (100 + 200 + 50 + 50), now collecting.
  const { training } = s.keepers;
  training.setWindow(s.store, {
    id: 1n, status: WindowStatus.WINDOW_STATUS_COLLECTING, openHeight: 1n, seed: Buffer.alloc(32, 1), modelVersion: 1n, subnetCount: 4n, datasetId: 1n,
    chunkCount: 1024n, maxSubmissionsPerMiner: 4n, collectEndHeight: 101n, commitStartHeight: 301n, revealStartHeight: 351n, revealEndHeight: 401n,
    baseReward: '1000000', submissionCount: 0n, acceptedCount: 0n, proposers: [], resultCid: '', resultHash: Buffer.alloc(0), failureReason: '', closedHeight: 0n, excludedCount: 0n,
    evalChunkCount: 0n, heldoutChunkCount: 303n, minImprovement: 0n, evalChunks: [], lossBase: 0n, lossAggregate: 0n, rolledBackHeight: 0n, checkpointThrough: 0n,
  });
  training.setSchedule(s.store, { nextWindowId: 2n, nextSubmissionId: 1n, nextOpenHeight: 101n, collectingWindowId: 1n });
  // Window 1 reveals until 400; windows of 100 open at 101, 201, 301: window 4 at 400 → 3 after it. Fine.
  s.submit('training', { windowBlocks: '100' });
  // Windows of 20 (whose own phases 20 + 10 + 10 fit): window 2 opens at 101, window 16 at 381, still collecting at 400.
  refused(t, () => s.submit('training', { windowBlocks: '20' }),
    /^training params refused: training\/2: window 1 reveals until height 400: with windowBlocks 20, window 16 would be collecting by then, more than 3 windows after it/);
  t.end();
});

t.test('training × verification: an L1 check must end within the challenge period', (t) => {
  const s = setup();
  // Defaults: l1ResponseBlocks 10 + revealBlocks 5 = 15 ≤ challengePeriodBlocks 20.
  s.submit('verification', { l1ResponseBlocks: '15' }); // 20 ≤ 20
  refused(t, () => s.submit('verification', { l1ResponseBlocks: '16' }),
    /^verification params refused: verification\/2: verification l1ResponseBlocks \+ revealBlocks \(21\) must be at most training challengePeriodBlocks \(20\)/);
  refused(t, () => s.submit('verification', { revealBlocks: '11' }), /\(21\) must be at most training challengePeriodBlocks \(20\)/);
  s.submit('training', { challengePeriodBlocks: '15' });
  refused(t, () => s.submit('training', { challengePeriodBlocks: '14' }),
    /^training params refused: training\/2: verification l1ResponseBlocks \+ revealBlocks \(15\) must be at most training challengePeriodBlocks \(14\)/);
  t.end();
});

t.test('two changes valid alone, conflicting together: the second is refused once the first executed, and fails at execution with state untouched', (t) => {
  const s = setup();
  const lengthen = { ...s.paramsOf('verification'), l1ResponseBlocks: '15' }; // 15 + 5 = 20 ≤ 20
  const shorten = { ...s.paramsOf('training'), challengePeriodBlocks: '16' }; // 10 + 5 = 15 ≤ 16
  s.keepers.model.checkParamChange(s.store, 'verification', JSON.stringify(lengthen));
  s.keepers.model.checkParamChange(s.store, 'training', JSON.stringify(shorten));
  // The first passes and executes: the model module calls the router's set (on its layer, written).
  const router = s.keepers.params;
  router.set(s.store, 'verification', lengthen);
  t.equal(s.paramsOf('verification').l1ResponseBlocks, '15');
  refused(t, () => s.keepers.model.checkParamChange(s.store, 'training', JSON.stringify(shorten)),
    /^training params refused: training\/2: verification l1ResponseBlocks \+ revealBlocks \(20\) must be at most training challengePeriodBlocks \(16\)/);
  // At execution the same set throws on the proposal's layer; dropping the layer leaves the params.
  const layer = new CacheStore(s.store);
  t.throws(() => router.set(layer, 'training', shorten), /training challengePeriodBlocks \(16\)/);
  t.equal(s.paramsOf('training').challengePeriodBlocks, '20', 'training params unchanged');
  t.end();
});

t.test('staking: a change that would leave no validator with voting power is refused (CometBFT halts on an empty set)', (t) => {
  const s = setup();
  const { bank, staking } = s.keepers;
  const ctx = testContext(s.store, { height: 2n });
  const operator = new Uint8Array(20).fill(7);
  bank.mint(s.store, ctx.events, operator, [{ denom: 'ur3mes', amount: 5_000_000n }]);
  staking.createValidator(ctx, { operator, consensusPubkey: new Uint8Array(32).fill(7), vrfPubkey: new Uint8Array(32).fill(8), moniker: 'v', commissionRate: '0.1', selfStake: 5_000_000n });
  staking.applyValidatorUpdates(ctx);
  t.equal(staking.bondedValidators(s.store).length, 1, 'one bonded validator, power 5');
  s.submit('staking', { powerReduction: '5000000' }); // power 1: still in the set
  refused(t, () => s.submit('staking', { powerReduction: '5000001' }),
    /^staking params refused: staking\/21: with powerReduction 5000001 no validator would keep voting power/);
  t.end();
});

t.test('head rollback against the real training keeper: only to an applied window of the active version (model/20 naming training/32)', (t) => {
  const s = setup();
  const { training, model } = s.keepers;
  const window = (id: bigint, status: WindowStatus) => ({
    id, status, openHeight: id * 10n, seed: Buffer.alloc(32, 1), modelVersion: 1n, subnetCount: 4n,
    chunkCount: 1024n, maxSubmissionsPerMiner: 4n, collectEndHeight: id * 10n + 10n, commitStartHeight: id * 10n + 12n, revealStartHeight: id * 10n + 14n, revealEndHeight: id * 10n + 16n,
    baseReward: '1000000', submissionCount: 1n, acceptedCount: 1n, proposers: [], resultCid: '', resultHash: Buffer.alloc(0), failureReason: '', closedHeight: id * 10n + 16n, excludedCount: 0n,
    evalChunkCount: 4n, heldoutChunkCount: 303n, minImprovement: 0n, evalChunks: [], lossBase: 1000n, lossAggregate: 900n, rolledBackHeight: 0n, datasetId: 0n, checkpointThrough: 0n,
  });
  training.setWindow(s.store, window(1n, WindowStatus.WINDOW_STATUS_FINALIZED));
  training.setWindow(s.store, window(2n, WindowStatus.WINDOW_STATUS_NOT_APPLIED));
  training.setWindow(s.store, window(3n, WindowStatus.WINDOW_STATUS_FINALIZED));
  training.setSchedule(s.store, { nextWindowId: 4n, nextSubmissionId: 2n, nextOpenHeight: 100n, collectingWindowId: 0n });
  t.doesNotThrow(() => model.checkHeadRollback(s.store, 1n));
  t.doesNotThrow(() => model.checkHeadRollback(s.store, 0n));
  t.throws(() => model.checkHeadRollback(s.store, 2n), { codespace: 'model', code: 20, message: /training\/32: window 2 is not-applied/ });
  t.throws(() => model.checkHeadRollback(s.store, 9n), { codespace: 'model', code: 20, message: /training\/32: window 9 does not exist/ });
  const layer = new CacheStore(s.store);
  training.rollbackHead(layer, new EventLog(), 50n, 1n, 1n);
  t.same([1n, 2n, 3n].map((id) => training.window(layer, id)!.rolledBackHeight), [0n, 0n, 50n], 'window 3 leaves the head; the not-applied window 2 was never in it');
  t.end();
});

/**
 * The environment R3MES starts CometBFT with (app/node/cometbft.ts cometbftEnv): spare Go
 * scheduler Ps so that CometBFT v0.38's socket ABCI client, whose flush timer fires after 20 ns,
 * does not hold each CheckTx behind a P spinning on timers (bench/README.md, "Low load").
 */
import t from 'tap';
import { availableParallelism } from 'node:os';
import { COMETBFT_MIN_GOMAXPROCS, cometbftEnv } from '../../app/node/cometbft.ts';

t.test('GOMAXPROCS is raised to at least the minimum (or the CPU count) when unset', async (t) => {
  const env = cometbftEnv({ PATH: '/usr/bin', HOME: '/root' });
  t.equal(env.GOMAXPROCS, String(Math.max(COMETBFT_MIN_GOMAXPROCS, availableParallelism())));
  t.ok(Number(env.GOMAXPROCS) >= 8);
  t.equal(env.PATH, '/usr/bin', 'the rest of the environment passes through');
  t.equal(env.HOME, '/root');
  t.equal(cometbftEnv({ GOMAXPROCS: '  ' }).GOMAXPROCS, env.GOMAXPROCS, 'a blank GOMAXPROCS counts as unset');
});

t.test("an operator's own GOMAXPROCS is kept", async (t) => {
  t.equal(cometbftEnv({ GOMAXPROCS: '2' }).GOMAXPROCS, '2');
  t.equal(cometbftEnv({ GOMAXPROCS: '32' }).GOMAXPROCS, '32');
});

t.test('the base environment is not modified', async (t) => {
  const base: NodeJS.ProcessEnv = { PATH: '/bin' };
  cometbftEnv(base);
  t.same(base, { PATH: '/bin' });
});

import type { Command } from 'commander';
import type { GlobalOptions } from './options.ts';

export function registerNodeCommands(program: Command): void {
  program
    .command('start')
    .description('run the node: ABCI app + REST, and CometBFT beside it (use --no-comet to run the app alone)')
    .option('--abci <addr>', 'ABCI listen address, unix:///path or tcp://host:port; must match proxy_app in config.toml (default: that proxy_app, else unix://<home>/abci.sock)')
    .option('--rest <host:port>', "REST listen address ('' for none)", '127.0.0.1:1317')
    .option('--rpc <url>', 'CometBFT RPC the REST server uses', 'http://127.0.0.1:26657')
    .option('--no-comet', 'do not start cometbft; wait for one started separately')
    .option('--vrf-key <file>', "the VRF key this node's proposals prove the beacon with (default <home>/config/vrf_key.json if present)")
    .option('--model-api <url>', "a serving node's OpenAI-compatible API (r3mes-worker serve-model, e.g. http://127.0.0.1:8080/v1): the dashboard's prompt box talks to it (the serving node must allow this REST origin: --cors-origin)")
    .option('--test-forge-vrf', 'TESTS ONLY: propose beacon txs with a forged VRF proof (also R3MES_TEST_FORGE_VRF=1)', false)
    .action(async (opts: { abci?: string; rest: string; rpc: string; comet: boolean; vrfKey?: string; modelApi?: string; testForgeVrf: boolean }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
      const forgeVrf = opts.testForgeVrf || process.env.R3MES_TEST_FORGE_VRF === '1';
      // Loaded here, not at the top: what only a running node needs (its metrics, prom-client) costs no other command its start time.
      const { startNode } = await import('../node/start.ts');
      const node = await startNode({ home: global.home, abci: opts.abci, rest: opts.rest, rpc: opts.rpc, withComet: opts.comet, vrfKey: opts.vrfKey, modelApi: opts.modelApi, forgeVrf, log });
      const shutdown = (signal: string) => {
        log(`${signal}: stopping`);
        void node.stop().then(() => process.exit(0));
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    });
}

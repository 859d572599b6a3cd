import type { Command } from 'commander';
import type { ModuleInterface, QueryRoute, TxCommand } from '../core/module.ts';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, type PageRequest, pageResponseJson } from '../core/pagination.ts';
import { connectComet, connectSigningClient } from '../client/index.ts';
import { nodeHome } from '../node/home.ts';
import { fee, type TxOptions, withTxOptions } from './tx.ts';
import { openKeyring } from './keys.ts';
import { printResult } from './output.ts';
import type { GlobalOptions } from './options.ts';

/**
 * `r3mesd tx <module> <name> ...` and `r3mesd query <module> <name> ...` for
 * every module's ModuleInterface: the same descriptions that make the REST
 * routes, so CLI and REST always agree.
 */
export function registerModuleCommands(program: Command, interfaces: readonly ModuleInterface[]): void {
  const txRoot = subcommand(program, 'tx');
  const queryRoot = subcommand(program, 'query');
  for (const module of interfaces) {
    if (module.txs.length > 0) {
      const group = txRoot.command(module.module).description(`${module.module} transactions`);
      for (const spec of module.txs) addTxCommand(group, spec);
    }
    if (module.queries.length > 0) {
      const group = queryRoot.command(module.module).description(`${module.module} queries`);
      for (const route of module.queries) addQueryCommand(group, route);
    }
  }
}

function subcommand(program: Command, name: string): Command {
  const found = program.commands.find((command) => command.name() === name);
  if (found === undefined) throw new Error(`r3mesd has no "${name}" command to extend`);
  return found;
}

function optionKey(name: string): string {
  return name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function addTxCommand(group: Command, spec: TxCommand): void {
  const command = group.command(`${spec.name} <from-key> ${spec.args.map((arg) => `<${arg}>`).join(' ')}`.trim()).description(spec.description);
  for (const option of spec.options ?? []) command.option(`--${option.name} <value>`, option.description, option.default);
  withTxOptions(command).action(async (fromKey: string, ...rest: unknown[]) => {
    const cmd = rest[rest.length - 1] as Command;
    const values = rest.slice(0, spec.args.length) as string[];
    const opts = cmd.opts<TxOptions & Record<string, string>>();
    const global = cmd.optsWithGlobals<GlobalOptions>();
    const ring = openKeyring(nodeHome(global.home), opts.keyringBackend);
    const signer = (await ring.show(fromKey)).address;
    const args = Object.fromEntries(spec.args.map((name, index) => [name, values[index]]));
    const options = Object.fromEntries((spec.options ?? []).map((option) => [option.name, opts[optionKey(option.name)]]));
    const value = spec.build(signer, args, options);
    const client = await connectSigningClient(opts.node, await ring.signer(fromKey), opts.gasPrices);
    try {
      const result = await client.signAndBroadcast(signer, [{ typeUrl: spec.typeUrl, value }], fee(opts), opts.memo);
      printResult({
        txhash: result.transactionHash, height: String(result.height), code: result.code,
        ...(result.code !== 0 ? { raw_log: result.rawLog ?? '' } : {}),
        gas_wanted: String(result.gasWanted), gas_used: String(result.gasUsed),
        events: result.events.filter((event) => !['tx', 'coin_spent', 'coin_received', 'message'].includes(event.type)),
      }, global.output);
      if (result.code !== 0) process.exitCode = 1;
    } finally {
      client.disconnect();
    }
  });
}

interface PageOptions {
  pageKey?: string;
  offset?: string;
  limit?: string;
  countTotal?: boolean;
  reverse?: boolean;
}

/**
 * Cosmos CLI pagination flags → PageRequest (undefined when none is given: the first page of 100).
 * `--page-key` is the base64 `next_key` a previous page printed.
 */
export function pageRequestFromFlags(opts: PageOptions): PageRequest | undefined {
  if (opts.pageKey === undefined && opts.offset === undefined && opts.limit === undefined && opts.countTotal !== true && opts.reverse !== true) return undefined;
  const unsigned = (text: string | undefined, flag: string) => {
    if (text === undefined) return 0n;
    if (!/^\d{1,20}$/.test(text) || BigInt(text) >= 1n << 64n) throw new Error(`${flag} must be a non-negative integer, got "${text}"`);
    return BigInt(text);
  };
  let key = new Uint8Array();
  if (opts.pageKey !== undefined) {
    const standard = opts.pageKey.replace(/-/g, '+').replace(/_/g, '/');
    if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(standard)) throw new Error(`--page-key must be base64 (the next_key of a previous page), got "${opts.pageKey}"`);
    key = new Uint8Array(Buffer.from(standard, 'base64'));
  }
  return { key, offset: unsigned(opts.offset, '--offset'), limit: unsigned(opts.limit, '--limit'), countTotal: opts.countTotal === true, reverse: opts.reverse === true };
}

function addQueryCommand(group: Command, route: QueryRoute): void {
  const command = group
    .command(`${route.name} ${route.args.map((arg) => `<${arg}>`).join(' ')}`.trim())
    .description(`${route.description} (REST: GET ${route.rest})`)
    .option('--node <url>', 'CometBFT RPC of a node', 'http://127.0.0.1:26657');
  if (route.paginated === true) {
    command
      .option('--page-key <base64>', 'continue at this key: the pagination.next_key of the previous page')
      .option('--offset <n>', 'skip this many items (instead of --page-key)')
      .option('--limit <n>', `items per page (default ${DEFAULT_PAGE_LIMIT}, at most ${MAX_PAGE_LIMIT})`)
      .option('--count-total', 'count every item into pagination.total')
      .option('--reverse', 'descending order (newest first for lists by id)');
  }
  for (const filter of route.filters ?? []) {
    command.option(`--${filter.name.replace(/_/g, '-')} <value>`, `${filter.description}${filter.values !== undefined ? ` (${filter.values.join('|')})` : ''}`);
  }
  command.action(async (...rest: unknown[]) => {
    const cmd = rest[rest.length - 1] as Command;
    const values = rest.slice(0, route.args.length) as string[];
    const args = Object.fromEntries(route.args.map((name, index) => [name, values[index]]));
    const opts = cmd.opts<{ node: string } & PageOptions & Record<string, string | undefined>>();
    const filters = Object.fromEntries((route.filters ?? []).map((filter) => [filter.name, opts[optionKey(filter.name.replace(/_/g, '-'))]]));
    const data = route.encodeRequest(args, { pagination: route.paginated === true ? pageRequestFromFlags(opts) : undefined, filters });
    const comet = await connectComet(opts.node);
    try {
      const answer = await comet.abciQuery({ path: route.path, data });
      if (answer.code !== 0) throw new Error(`query ${route.path} failed (${answer.codespace}/${answer.code}): ${answer.log ?? ''}`);
      const json = route.decodeResponse(answer.value);
      const shown = route.paginated === true && typeof json === 'object' && json !== null
        ? { ...(json as Record<string, unknown>), pagination: pageResponseJson((json as Record<string, unknown>).pagination) }
        : json;
      printResult(shown, cmd.optsWithGlobals<GlobalOptions>().output);
    } finally {
      comet.disconnect();
    }
  });
}

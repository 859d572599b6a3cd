/**
 * `r3mesd query <module> <list>`: the Cosmos pagination flags and the filters each list query
 * declares, parsed into the request the query handler reads (the commands are built from the
 * same module descriptions as the REST routes).
 */
import t from 'tap';
import { Command } from 'commander';
import { registerModuleCommands, pageRequestFromFlags } from '../../app/cli/module-commands.ts';
import { moduleInterfaces } from '../../app/interfaces.ts';
import { QueryWindowsRequest } from '../../proto/gen/r3mes/training/v1/query.ts';
import { QueryDisputesRequest } from '../../proto/gen/r3mes/verification/v1/query.ts';

function program(): Command {
  const root = new Command('r3mesd');
  root.command('tx');
  root.command('query');
  registerModuleCommands(root, moduleInterfaces());
  return root;
}

const find = (root: Command, ...path: string[]) => path.reduce<Command | undefined>((command, name) => command?.commands.find((c) => c.name() === name), root);

t.test('list commands have the pagination flags and their filters; single-item ones do not', (t) => {
  const root = program();
  const windows = find(root, 'query', 'training', 'windows');
  t.ok(windows, 'r3mesd query training windows');
  const flags = windows!.options.map((o) => o.long);
  for (const flag of ['--page-key', '--offset', '--limit', '--count-total', '--reverse', '--status']) t.ok(flags.includes(flag), flag);
  t.ok(find(root, 'query', 'training', 'miner-submissions'), 'r3mesd query training miner-submissions <miner>');
  t.ok(find(root, 'query', 'verification', 'disputes')?.options.some((o) => o.long === '--status'), 'r3mesd query verification disputes --status');
  for (const [module, name] of [['model', 'proposals'], ['model', 'versions'], ['staking', 'validators'], ['staking', 'miners'], ['training', 'window-submissions'], ['verification', 'open-disputes'], ['subnet', 'activations']]) {
    t.ok(find(root, 'query', module, name)?.options.some((o) => o.long === '--limit'), `${module} ${name} --limit`);
  }
  t.notOk(find(root, 'query', 'training', 'window')?.options.some((o) => o.long === '--limit'), 'one window: no pagination');
  t.end();
});

t.test('flags → PageRequest, and filters → the request', (t) => {
  t.equal(pageRequestFromFlags({}), undefined, 'no flag: the default first page');
  t.same(pageRequestFromFlags({ pageKey: 'AAAAAAAAAAM=', limit: '2', reverse: true }), { key: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 3]), offset: 0n, limit: 2n, countTotal: false, reverse: true });
  t.same(pageRequestFromFlags({ offset: '5', countTotal: true }), { key: new Uint8Array(), offset: 5n, limit: 0n, countTotal: true, reverse: false });
  t.throws(() => pageRequestFromFlags({ limit: '-1' }), /--limit must be a non-negative integer/);
  t.throws(() => pageRequestFromFlags({ pageKey: '%%' }), /--page-key must be base64/);
  const windows = moduleInterfaces().find((m) => m.module === 'training')!.queries.find((q) => q.name === 'windows')!;
  const request = QueryWindowsRequest.decode(windows.encodeRequest({}, { pagination: pageRequestFromFlags({ limit: '3', reverse: true }), filters: { status: 'finalized' } }));
  t.equal(request.status, 'finalized');
  t.equal(request.pagination?.limit, 3n);
  t.equal(request.pagination?.reverse, true);
  const disputes = moduleInterfaces().find((m) => m.module === 'verification')!.queries.find((q) => q.name === 'disputes')!;
  t.equal(QueryDisputesRequest.decode(disputes.encodeRequest({}, {})).status, 'open', 'disputes: open unless --status says otherwise');
  t.end();
});

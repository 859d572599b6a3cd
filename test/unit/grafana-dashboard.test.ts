/**
 * The Grafana dashboard in the repository (ops/grafana/r3mes.json) cannot drift from the code:
 * it parses as a Grafana dashboard model (unique panel ids, grid positions, a Prometheus
 * datasource variable every query uses), and every metric name in every panel's PromQL is one
 * the node (NodeMetrics) or a worker (workerMetrics) exports — read from their real exposition
 * text, not from a list kept by hand.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeMetrics } from '../../app/metrics/node-metrics.ts';
import { workerMetrics } from '../../worker/src/roles/metrics.ts';
import { WorkerStats } from '../../worker/src/roles/stats.ts';
import { parseExposition, promqlMetricNames, type Exposition } from '../../worker/test/helpers/prometheus.ts';
import { ROOT } from '../helpers/devnode.ts';
import { genesisFor, startHarness } from '../helpers/app-harness.ts';
import { testKey } from '../helpers/txs.ts';

interface Target { expr?: string; datasource?: { type?: string; uid?: string }; refId?: string }
interface Panel { id: number; type: string; title: string; gridPos: { h: number; w: number; x: number; y: number }; datasource?: { type?: string; uid?: string }; targets?: Target[]; panels?: Panel[] }
interface Dashboard {
  title: string; uid: string; schemaVersion: number; panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown; datasource?: { uid?: string } }> };
}

/** Whether `name` (as a query writes it) is a sample name of a family `exposition` has. */
function exported(name: string, exposition: Exposition): boolean {
  const family = exposition.families.get(name);
  if (family) return family.type !== 'histogram'; // a histogram is queried by _bucket/_sum/_count
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  return m !== null && exposition.families.get(m[1]!)?.type === 'histogram';
}

const missingNames = (expr: string, expositions: Exposition[]) => promqlMetricNames(expr).filter((name) => !expositions.some((e) => exported(name, e)));

t.test('the PromQL reader finds metric names, and only them', async (t) => {
  t.same(promqlMetricNames('histogram_quantile(0.99, sum by (le, role) (rate(x_seconds_bucket{instance=~"$w",a="b"}[$__rate_interval])))'), ['x_seconds_bucket']);
  t.same(promqlMetricNames('time() - max(a_seconds{job="n"}) or vector(0)'), ['a_seconds']);
  t.same(promqlMetricNames('sum(rate(a_sum[5m])) / sum(rate(a_count[5m]))').sort(), ['a_count', 'a_sum']);
});

t.test('ops/grafana/r3mes.json: a Grafana dashboard whose every metric is exported', async (t) => {
  const text = readFileSync(join(ROOT, 'ops', 'grafana', 'r3mes.json'), 'utf8');
  const dashboard = JSON.parse(text) as Dashboard;
  t.equal(typeof dashboard.title, 'string');
  t.match(dashboard.uid, /^[a-zA-Z0-9_-]{1,40}$/, 'a uid Grafana accepts');
  t.ok(Number.isInteger(dashboard.schemaVersion) && dashboard.schemaVersion >= 30, 'a current schemaVersion');
  const datasource = dashboard.templating.list.find((v) => v.type === 'datasource');
  t.equal(datasource?.query, 'prometheus', 'the Prometheus datasource is a variable');
  const dsRef = `\${${datasource?.name}}`;

  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  t.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'panel ids are unique');
  for (const p of panels) {
    const g = p.gridPos;
    if (!(g.w >= 1 && g.w <= 24 && g.x >= 0 && g.x + g.w <= 24 && g.h >= 1 && g.y >= 0)) t.fail(`panel ${p.id} "${p.title}": gridPos ${JSON.stringify(g)} is off the 24-column grid`);
  }
  const queries = panels.flatMap((p) => (p.targets ?? []).map((target) => ({ panel: p, target })));
  t.ok(queries.length >= 20, `${queries.length} queries`);
  for (const { panel, target } of queries) {
    if (typeof target.expr !== 'string' || target.expr === '') t.fail(`panel "${panel.title}" ${target.refId}: no expr`);
    if ((target.datasource ?? panel.datasource)?.uid !== dsRef) t.fail(`panel "${panel.title}" ${target.refId}: datasource is not ${dsRef}`);
  }
  for (const v of dashboard.templating.list.filter((v) => v.type === 'query')) t.equal(v.datasource?.uid, dsRef, `variable ${v.name} uses ${dsRef}`);

  // What the node and a worker really export.
  const h = await startHarness(genesisFor([await testKey(1)]));
  t.teardown(() => h.close());
  const node = parseExposition(await new NodeMetrics(h.app).metrics());
  const worker = parseExposition(await workerMetrics(new WorkerStats()).metrics());
  const expositions = [node, worker];

  const used = new Set<string>();
  for (const { panel, target } of queries) {
    for (const name of promqlMetricNames(target.expr ?? '')) used.add(name);
    const missing = missingNames(target.expr ?? '', expositions);
    t.same(missing, [], `panel "${panel.title}" ${target.refId}: every metric exists`);
  }
  for (const v of dashboard.templating.list.filter((v) => v.type === 'query')) {
    const query = (v.query as { query?: string }).query ?? String(v.query);
    const metric = /label_values\((\w+)/.exec(query)?.[1];
    t.ok(metric !== undefined && expositions.some((e) => exported(metric, e)), `variable ${v.name}: ${query} reads an exported metric`);
  }
  t.same(missingNames('rate(r3mes_txs_comitted_total[5m])', expositions), ['r3mes_txs_comitted_total'], 'a misspelt name would be caught');
  t.same(missingNames('r3mes_block_interval_seconds', expositions), ['r3mes_block_interval_seconds'], 'a histogram queried without _bucket/_sum/_count would be caught');

  // The main metrics each have a panel.
  for (const name of ['r3mes_block_height', 'r3mes_block_interval_seconds_bucket', 'r3mes_txs_committed_total', 'r3mes_checktx_duration_seconds_bucket',
    'r3mes_finalize_block_duration_seconds_bucket', 'r3mes_mempool_checktx_total', 'r3mes_training_windows_open', 'r3mes_disputes_open', 'r3mes_slashes_total',
    'r3mes_invariant_failures_total', 'r3mes_worker_training_tokens_per_second', 'r3mes_worker_training_steps_total', 'r3mes_worker_submissions_total',
    'r3mes_worker_reexecution_duration_seconds_bucket', 'r3mes_worker_duties_missed_total', 'r3mes_worker_last_error']) {
    t.ok(used.has(name), `a panel shows ${name}`);
  }
});

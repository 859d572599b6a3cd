/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for tests that
 * scrape `/metrics`: `# HELP` and `# TYPE` lines and samples `name{label="value",…} value`.
 * Anything else (a malformed line, a sample of a family without a TYPE, a TYPE given twice, an
 * unknown type) throws with the line, so a test fails on output Prometheus would refuse.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

export interface Exposition {
  families: Map<string, Family>;
  /** The one sample of `name` whose labels include `labels`; throws when there is none or several. */
  value(name: string, labels?: Record<string, string>): number;
  /** Sum of the samples of `name` whose labels include `labels` (0 when none). */
  sum(name: string, labels?: Record<string, string>): number;
  samples(name: string, labels?: Record<string, string>): Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** As Prometheus reads it (Go's strconv.ParseFloat: NaN and Inf in any case; prom-client writes "Nan"). */
function parseValue(text: string, line: string): number {
  if (/^[+]?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`not a sample value "${text}" in: ${line}`);
  return Number(text);
}

/** `{a="x",b="y\"z"}` → labels; returns the labels and the rest of the line. */
function parseLabels(text: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // after '{'
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const nameMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i));
    if (!nameMatch) throw new Error(`bad label name in: ${line}`);
    const name = nameMatch[0];
    i += name.length;
    if (text[i] !== '=' || text[i + 1] !== '"') throw new Error(`label ${name} has no ="value" in: ${line}`);
    i += 2;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (c === '"') break;
      if (c === '\\') {
        const next = text[i + 1];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`bad escape \\${next} in: ${line}`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    i++; // closing quote
    if (name in labels) throw new Error(`label ${name} twice in: ${line}`);
    labels[name] = value;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`expected , or } after label ${name} in: ${line}`);
  }
}

/** The family a sample belongs to: histograms and summaries add _bucket/_sum/_count to their name. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(name);
  if (direct) return direct;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (!m) return undefined;
  const base = families.get(m[1]!);
  if (!base) return undefined;
  if (base.type === 'histogram' || (base.type === 'summary' && m[2] !== 'bucket')) return base;
  return undefined;
}

const includes = (labels: Record<string, string>, wanted: Record<string, string>) => Object.entries(wanted).every(([k, v]) => labels[k] === v);

export function parseExposition(text: string): Exposition {
  const families = new Map<string, Family>();
  const helps = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      if (kind === 'HELP') {
        if (helps.has(name)) throw new Error(`HELP for ${name} twice`);
        helps.set(name, rest);
        const family = families.get(name);
        if (family) family.help = rest;
      } else {
        if (families.has(name)) throw new Error(`TYPE for ${name} twice`);
        if (!TYPES.has(rest as MetricType)) throw new Error(`unknown type "${rest}" in: ${line}`);
        families.set(name, { name, type: rest as MetricType, help: helps.get(name) ?? '', samples: [] });
      }
      continue;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) throw new Error(`not a sample: ${line}`);
    const name = nameMatch[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, line));
    const fields = rest.trim().split(/\s+/);
    if (fields.length < 1 || fields.length > 2 || fields[0] === '') throw new Error(`expected "value [timestamp]" in: ${line}`);
    const family = familyOf(name, families);
    if (!family) throw new Error(`sample ${name} has no # TYPE line before it`);
    family.samples.push({ name, labels, value: parseValue(fields[0]!, line) });
  }
  const samples = (name: string, labels: Record<string, string> = {}) => {
    const family = familyOf(name, families);
    return (family?.samples ?? []).filter((s) => s.name === name && includes(s.labels, labels));
  };
  return {
    families,
    samples,
    value(name, labels = {}) {
      const found = samples(name, labels);
      if (found.length !== 1) throw new Error(`${found.length} samples of ${name}${JSON.stringify(labels)}; want exactly 1`);
      return found[0]!.value;
    },
    sum: (name, labels = {}) => samples(name, labels).reduce((s, x) => s + x.value, 0),
  };
}

/**
 * Metric names a PromQL expression reads: identifiers that are not functions, keywords or label
 * names, with a histogram's _bucket/_sum/_count and a counter's name kept as written.
 */
export function promqlMetricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const withoutLabels = withoutStrings.replace(/\{[^}]*\}/g, '{}');
  // by (...) / without (...) / on (...) / ignoring (...) / group_left(...) list label names
  const withoutGrouping = withoutLabels.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const withoutRanges = withoutGrouping.replace(/\[[^\]]*\]/g, '');
  const names = new Set<string>();
  for (const m of withoutRanges.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const after = withoutRanges.slice(m.index! + word.length).trimStart();
    if (after.startsWith('(')) continue; // a function or aggregation
    if (/^(by|without|on|ignoring|group_left|group_right|bool|and|or|unless|offset|inf|nan)$/i.test(word)) continue;
    if (word.startsWith('$')) continue;
    names.add(word);
  }
  return [...names];
}

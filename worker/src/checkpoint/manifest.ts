// The manifest that pins a file-backed model version (README "Manifest"): the files the loader
// reads, each with its size and CID, the weight form, and the architecture hash; canonical JSON
// whose CID (storage/cid.ts, the same as any content's) is what the chain records.

import { join } from 'node:path';
import { cidOf, cidOfFile, parseCid } from '../storage/cid.ts';
import { architectureHash } from './config.ts';
import { CheckpointError, CheckpointErrorCode } from './errors.ts';
import { BitNetCheckpoint, type CheckpointForm, CONFIG_FILE, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE } from './loader.ts';

export const MANIFEST_FORMAT = 'r3mes.checkpoint.manifest.v1';

export interface ManifestFile {
  name: string;
  size: number;
  cid: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  architectureHash: string;
  form: CheckpointForm;
  /** Sorted by name (byte order; names are ASCII). */
  files: ManifestFile[];
}

/** The canonical JSON: no whitespace, keys in alphabetical order, files sorted by name. */
export function encodeManifest(m: Manifest): Uint8Array {
  const files = [...m.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const json = JSON.stringify({
    architecture_hash: m.architectureHash,
    files: files.map((f) => ({ cid: f.cid, name: f.name, size: f.size })),
    form: m.form,
    format: m.format,
  });
  return new TextEncoder().encode(json);
}

/** Parses manifest bytes; only the canonical encoding is accepted (one manifest, one CID). */
export function decodeManifest(bytes: Uint8Array): Manifest {
  const bad = (msg: string) => new CheckpointError(CheckpointErrorCode.BadManifest, `manifest: ${msg}`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new CheckpointError(CheckpointErrorCode.BadManifest, `manifest: not UTF-8 JSON (${(cause as Error).message})`, { cause });
  }
  const r = raw as { architecture_hash?: unknown; files?: unknown; form?: unknown; format?: unknown };
  if (typeof r !== 'object' || r === null) throw bad('not an object');
  if (r.format !== MANIFEST_FORMAT) throw bad(`format is ${JSON.stringify(r.format)}, expected "${MANIFEST_FORMAT}"`);
  if (typeof r.architecture_hash !== 'string' || !/^[0-9a-f]{64}$/.test(r.architecture_hash)) throw bad('architecture_hash is not 64 hex digits');
  if (r.form !== 'packed' && r.form !== 'bf16') throw bad(`form is ${JSON.stringify(r.form)}`);
  if (!Array.isArray(r.files)) throw bad('files is not a list');
  const files: ManifestFile[] = r.files.map((f: { name?: unknown; size?: unknown; cid?: unknown }, i: number) => {
    if (typeof f?.name !== 'string' || typeof f.cid !== 'string' || !Number.isSafeInteger(f.size) || (f.size as number) < 0) throw bad(`files[${i}] is not {cid, name, size}`);
    parseCid(f.cid);
    return { name: f.name, size: f.size as number, cid: f.cid };
  });
  const m: Manifest = { format: MANIFEST_FORMAT, architectureHash: r.architecture_hash, form: r.form, files };
  if (Buffer.compare(Buffer.from(encodeManifest(m)), Buffer.from(bytes)) !== 0) throw bad('not in canonical form (key order, whitespace or file order)');
  return m;
}

/** The manifest of `dir`: opens it (every header checked), then hashes each file it reads. */
export async function buildManifest(dir: string): Promise<{ manifest: Manifest; bytes: Uint8Array; cid: string }> {
  const ckpt = await BitNetCheckpoint.open(dir);
  let names: string[];
  try {
    names = [CONFIG_FILE, TOKENIZER_FILE, TOKENIZER_CONFIG_FILE, ...ckpt.weightFileNames];
  } finally {
    await ckpt.close();
  }
  const files: ManifestFile[] = [];
  for (const name of names.sort()) {
    const { cid, size } = await cidOfFile(join(dir, name));
    files.push({ name, size, cid: cid.toString() });
  }
  const manifest: Manifest = { format: MANIFEST_FORMAT, architectureHash: architectureHash(ckpt.arch), form: ckpt.form, files };
  const bytes = encodeManifest(manifest);
  return { manifest, bytes, cid: (await cidOf(bytes)).toString() };
}

/**
 * Checks that `dir` is the model version `expectedCid` names. With the manifest's bytes (which
 * must hash to `expectedCid`), a mismatch names the file that differs; without them it can only
 * say the directory's manifest has another CID.
 */
export async function verifyDirectory(dir: string, expectedCid: string, manifestBytes?: Uint8Array): Promise<Manifest> {
  parseCid(expectedCid);
  let expected: Manifest | undefined;
  if (manifestBytes) {
    const got = (await cidOf(manifestBytes)).toString();
    if (got !== expectedCid) throw new CheckpointError(CheckpointErrorCode.CidMismatch, `manifest: its bytes hash to ${got}, not to ${expectedCid}`);
    expected = decodeManifest(manifestBytes);
  }
  const { manifest, cid } = await buildManifest(dir);
  if (cid === expectedCid) return manifest;
  if (expected) {
    const have = new Map(manifest.files.map((f) => [f.name, f]));
    for (const f of expected.files) {
      const h = have.get(f.name);
      if (!h) throw new CheckpointError(CheckpointErrorCode.CidMismatch, `${f.name}: named by manifest ${expectedCid} but not read from ${dir}`);
      if (h.cid !== f.cid || h.size !== f.size) {
        throw new CheckpointError(CheckpointErrorCode.CidMismatch, `${f.name}: ${h.size} bytes with CID ${h.cid}, but manifest ${expectedCid} names ${f.size} bytes with CID ${f.cid}`);
      }
    }
    for (const f of manifest.files) {
      if (!expected.files.some((e) => e.name === f.name)) throw new CheckpointError(CheckpointErrorCode.CidMismatch, `${f.name}: read from ${dir} but not in manifest ${expectedCid}`);
    }
    if (expected.architectureHash !== manifest.architectureHash) {
      throw new CheckpointError(CheckpointErrorCode.CidMismatch, `config.json: architecture hash ${manifest.architectureHash}, manifest ${expectedCid} names ${expected.architectureHash}`);
    }
    if (expected.form !== manifest.form) throw new CheckpointError(CheckpointErrorCode.CidMismatch, `weights: ${manifest.form} form, manifest ${expectedCid} names ${expected.form}`);
  }
  throw new CheckpointError(CheckpointErrorCode.CidMismatch, `${dir}: its manifest has CID ${cid}, not ${expectedCid}`);
}

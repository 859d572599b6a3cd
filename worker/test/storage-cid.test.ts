import t from 'tap';
import { createHash } from 'node:crypto';
import { CID } from 'multiformats/cid';
import { base36 } from 'multiformats/bases/base36';
import { base58btc } from 'multiformats/bases/base58';
import { sha512 } from 'multiformats/hashes/sha2';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertContentCid, cidOf, cidOfFile, matchesCid, parseCid, verifyBytes } from '../src/storage/cid.ts';
import { StorageErrorCode } from '../src/storage/errors.ts';

/** RFC 4648 base32, lower case, no padding: written out here so the check owes nothing to multiformats. */
function base32(bytes: Uint8Array): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** CIDv1 by hand: multibase 'b' + base32(varint 1, varint 0x55, multihash 0x12 0x20 digest). */
function handMadeCid(bytes: Uint8Array): string {
  const digest = createHash('sha256').update(bytes).digest();
  return 'b' + base32(Uint8Array.from([0x01, 0x55, 0x12, 0x20, ...digest]));
}

/** Deterministic test inputs: sha256 counter stream. */
function inputOf(length: number, label: string): Uint8Array {
  const out = new Uint8Array(length);
  for (let block = 0; block * 32 < length; block++) {
    out.set(createHash('sha256').update(`${label}/${block}`).digest().subarray(0, Math.min(32, length - block * 32)), block * 32);
  }
  return out;
}

t.test('known CIDs for known inputs', async (t) => {
  t.equal((await cidOf(new Uint8Array(0))).toString(), 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', 'empty bytes');
  t.equal((await cidOf(new TextEncoder().encode('hello world'))).toString(), 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e', '"hello world"');
  // What `ipfs add --only-hash` prints on Kubo 0.43.1 initialised with `--profile unixfs-v1-2025`
  // (storage-kubo.test.ts checks many more against a running Kubo).
  t.equal((await cidOf(new Uint8Array(2.5 * 1024 * 1024))).toString(), 'bafybeif3v42creaqbssp7zqoih3ezzm3fmmw2dyyo2gmngb3amw2zppz7i', '2.5 MiB of zeros');
});

t.test('multiformats agrees with a hand-built multihash over node:crypto sha256', async (t) => {
  for (const length of [0, 1, 2, 31, 32, 33, 1000, 65536, 1 << 20]) {
    const bytes = inputOf(length, `cid-${length}`);
    t.equal((await cidOf(bytes)).toString(), handMadeCid(bytes), `${length} bytes`);
  }
});

t.test('parseCid accepts our profile in canonical base32 and nothing else', async (t) => {
  const cid = await cidOf(new TextEncoder().encode('r3mes'));
  const text = cid.toString();
  t.ok(parseCid(text).equals(cid), 'round trip');
  t.match(text, /^bafkrei[a-z2-7]{52}$/, 'base32 lower, 59 chars');

  const rejects = (input: string, pattern: RegExp, label: string) =>
    t.throws(() => parseCid(input), { name: 'StorageError', code: StorageErrorCode.InvalidCid, message: pattern }, label);
  rejects('', /empty/, 'empty string');
  rejects('not-a-cid', /is not a CID/, 'garbage');
  rejects(text.slice(0, -1), /is not a CID/, 'truncated');
  rejects(text.slice(0, -1) + '1', /is not a CID/, 'base32 has no 1');
  rejects('QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH', /version 0/, 'CIDv0');
  rejects(CID.createV1(0x71, cid.multihash).toString(), /codec 0x71; only raw \(0x55\) and dag-pb \(0x70, a UnixFS file\) are accepted/, 'dag-cbor codec');
  const dagPb = CID.createV1(0x70, cid.multihash);
  t.ok(parseCid(dagPb.toString()).equals(dagPb), 'dag-pb (a UnixFS file root) is our profile too');
  t.match(dagPb.toString(), /^bafybei[a-z2-7]{52}$/);
  rejects(dagPb.toString(base58btc), /not in canonical base32 form/, 'base58btc spelling of a dag-pb CID');
  rejects(CID.createV1(0x55, await sha512.digest(new Uint8Array(0))).toString(), /not hashed with sha2-256/, 'sha2-512');
  rejects(cid.toString(base58btc), /not in canonical base32 form/, 'base58btc spelling of the same CID');
  rejects(cid.toString(base36), /not in canonical base32 form/, 'base36 spelling of the same CID');
  rejects(text.toUpperCase(), /is not a CID/, 'upper-case base32 spelling');
});

t.test('content over one chunk (1 MiB) is named by its UnixFS root, and only by it', async (t) => {
  const oneChunk = inputOf(1 << 20, 'one-chunk');
  t.equal((await cidOf(oneChunk)).code, 0x55, 'exactly 1 MiB: still the raw CID');
  const big = inputOf((1 << 20) + 1, 'over');
  const cid = await cidOf(big);
  t.equal(cid.code, 0x70, '1 MiB + 1 byte: a dag-pb root');
  t.match(cid.toString(), /^bafybei[a-z2-7]{52}$/);
  await t.resolves(verifyBytes(cid, big));
  const tampered = Uint8Array.from(big);
  tampered[big.length - 1] ^= 1;
  await t.rejects(verifyBytes(cid, tampered, 'peer Y'), { code: StorageErrorCode.IntegrityMismatch, message: /^peer Y: 1048577 bytes hash to bafybei\w+, not to the requested bafybei\w+; rejected$/ }, 'a flip in the last leaf');
  // The raw CID of the same bytes names them too, but is not the CID we give them: refused, so
  // one content keeps one CID (the chain compares CIDs as strings).
  const rawCid = CID.parse(handMadeCid(big));
  t.equal(await matchesCid(rawCid, big), false, 'the raw CID of content over 1 MiB is not its CID');
  await t.rejects(verifyBytes(rawCid, big), { code: StorageErrorCode.IntegrityMismatch, message: /hash to bafybei\w+, not to the requested bafkrei/ });
});

t.test('verifyBytes and matchesCid', async (t) => {
  const bytes = new TextEncoder().encode('adapter delta');
  const cid = await cidOf(bytes);
  await t.resolves(verifyBytes(cid, bytes));
  t.equal(await matchesCid(cid, bytes), true);
  const tampered = Uint8Array.from(bytes);
  tampered[0] ^= 1;
  t.equal(await matchesCid(cid, tampered), false);
  await t.rejects(verifyBytes(cid, tampered, 'peer X'), {
    name: 'StorageError',
    code: StorageErrorCode.IntegrityMismatch,
    message: /^peer X: 13 bytes hash to bafkrei\w+, not to the requested bafkrei\w+; rejected$/,
  });
  t.throws(() => assertContentCid(CID.createV1(0x71, cid.multihash)), { code: StorageErrorCode.InvalidCid });
});

t.test('cidOfFile (read 1 MiB at a time) gives the CID cidOf gives the same bytes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'r3mes-cidfile-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const MiB = 1024 * 1024;
  for (const size of [0, 1, MiB - 1, MiB, MiB + 1, 2 * MiB, 3 * MiB + 5]) {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 2654435761) >>> 24;
    const path = join(dir, `f${size}`);
    await writeFile(path, bytes);
    const got = await cidOfFile(path);
    t.equal(got.cid.toString(), (await cidOf(bytes)).toString(), `${size} bytes`);
    t.equal(got.size, size);
  }
});

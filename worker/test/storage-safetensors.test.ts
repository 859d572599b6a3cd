import t, { type Test } from 'tap';
import {
  decodeSafetensors,
  encodeSafetensors,
  type IntTensor,
} from '../src/storage/safetensors.ts';
import { StorageErrorCode, type StorageErrorCodeValue } from '../src/storage/errors.ts';

const i8 = (shape: number[], values: number[]): IntTensor => ({ dtype: 'I8', shape, data: Int8Array.from(values) });
const i16 = (shape: number[], values: number[]): IntTensor => ({ dtype: 'I16', shape, data: Int16Array.from(values) });
const i32 = (shape: number[], values: number[]): IntTensor => ({ dtype: 'I32', shape, data: Int32Array.from(values) });

function headerText(bytes: Uint8Array): string {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return Buffer.from(bytes.subarray(8, 8 + length)).toString('utf8');
}

/** A file from a literal header and data section, for building corrupt cases by hand. */
function fileWith(header: string, data: number[] = [], declaredLength?: bigint): Uint8Array {
  const json = Buffer.from(header, 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function rejects(
  t: Test,
  bytes: Uint8Array,
  pattern: RegExp,
  code: StorageErrorCodeValue = StorageErrorCode.CorruptSafetensors,
  options = {},
): void {
  t.throws(() => decodeSafetensors(bytes, options), { name: 'StorageError', code, message: pattern }, pattern.source);
}

t.test('round trip keeps every dtype, shape, extreme value and metadata', async (t) => {
  const tensors = new Map<string, IntTensor>([
    ['lora.a', i8([2, 3], [-128, 127, 0, -1, 1, 5])],
    ['lora.b', i16([3, 1], [-32768, 32767, -2])],
    ['acc', i32([2, 2], [-2147483648, 2147483647, 0, 123456789])],
    ['scalar', i32([], [-7])],
    ['empty', i16([0, 4], [])],
  ]);
  const metadata = { format: 'r3mes-lora-delta', window: '42' };
  const bytes = encodeSafetensors(tensors, metadata);
  const back = decodeSafetensors(bytes, { requireCanonical: true });
  t.same([...back.metadata.entries()].sort(), Object.entries(metadata).sort());
  t.equal(back.tensors.size, tensors.size);
  for (const [name, tensor] of tensors) {
    const got = back.tensors.get(name);
    t.ok(got, name);
    t.equal(got?.dtype, tensor.dtype, `${name} dtype`);
    t.same(got?.shape, tensor.shape, `${name} shape`);
    t.equal(got?.data.constructor, tensor.data.constructor, `${name} array type`);
    t.same(Array.from(got?.data ?? []), Array.from(tensor.data), `${name} values`);
  }
});

t.test('same tensors and metadata give identical bytes whatever the insertion order', async (t) => {
  const a = i8([4], [1, 2, 3, 4]);
  const b = i16([2], [-5, 600]);
  const c = i32([1, 1], [70000]);
  const first = encodeSafetensors(new Map([['a', a], ['b', b], ['c', c]]), new Map([['x', '1'], ['y', '2']]));
  const second = encodeSafetensors({ c, a, b }, { y: '2', x: '1' });
  const third = encodeSafetensors(new Map([['b', b], ['c', c], ['a', a]]), { x: '1', y: '2' });
  t.same(Buffer.from(second), Buffer.from(first));
  t.same(Buffer.from(third), Buffer.from(first));
  // Re-encoding what was read gives the same bytes again (the canonical form is a fixed point).
  const read = decodeSafetensors(first);
  t.same(Buffer.from(encodeSafetensors(read.tensors, read.metadata)), Buffer.from(first));
});

t.test('the canonical layout, byte for byte', async (t) => {
  const bytes = encodeSafetensors({ b: i8([2], [1, -1]), a: i16([1], [258]) }, { z: '1', a: '2' });
  const header = '{"__metadata__":{"a":"2","z":"1"},"a":{"data_offsets":[0,2],"dtype":"I16","shape":[1]},' +
    '"b":{"data_offsets":[2,4],"dtype":"I8","shape":[2]}}';
  const padded = header + ' '.repeat((8 - (header.length % 8)) % 8);
  t.equal(headerText(bytes), padded, 'sorted keys, no whitespace, space padding');
  t.equal(padded.length % 8, 0);
  t.equal(bytes.length, 8 + padded.length + 4);
  t.same(Array.from(bytes.subarray(8 + padded.length)), [0x02, 0x01, 0x01, 0xff], 'little-endian, sorted order');
});

t.test('names sort by UTF-8 bytes: uppercase < __metadata__ < lowercase, and astral after BMP', async (t) => {
  const one = i8([1], [1]);
  const bytes = encodeSafetensors({ a: one, B: one, 'é': one, '😀': one, 'ｚ': one }, { k: 'v' });
  const keys = Object.keys(JSON.parse(headerText(bytes)) as object);
  // JSON.parse would reorder integer-like keys; none are used here, so this is file order.
  t.same(keys, ['B', '__metadata__', 'a', 'é', 'ｚ', '😀']);
});

t.test('no metadata: no __metadata__ key; empty file is an 8-byte header of {} and spaces', async (t) => {
  t.notMatch(headerText(encodeSafetensors({ w: i8([1], [3]) })), /__metadata__/);
  const empty = encodeSafetensors({});
  t.equal(headerText(empty), '{}      ');
  t.equal(decodeSafetensors(empty, { requireCanonical: true }).tensors.size, 0);
});

t.test('padding: spaces up to the next multiple of 8, none when already a multiple', async (t) => {
  let unpadded = 0;
  for (let n = 1; n <= 8; n++) {
    const text = headerText(encodeSafetensors({ ['x'.repeat(n)]: i8([1], [9]) }));
    const json = text.trimEnd();
    t.equal(text.length, Math.ceil(json.length / 8) * 8, `name length ${n}`);
    t.match(text.slice(json.length), /^ *$/);
    if (json.length % 8 === 0) {
      unpadded++;
      t.equal(text, json, 'no padding when the JSON is a multiple of 8');
    }
  }
  t.equal(unpadded, 1, 'one of eight name lengths lands exactly on a multiple of 8');
});

t.test('the writer refuses tensors it cannot write', async (t) => {
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['empty name', () => encodeSafetensors({ '': i8([1], [1]) }), /name is empty/],
    ['reserved name', () => encodeSafetensors({ __metadata__: i8([1], [1]) }), /reserved/],
    ['lone surrogate', () => encodeSafetensors({ ['a\ud800']: i8([1], [1]) }), /well-formed/],
    ['shape/data mismatch', () => encodeSafetensors({ w: i8([2, 2], [1, 2, 3]) }), /holds 4 elements but data has 3/],
    ['wrong array type', () => encodeSafetensors({ w: { dtype: 'I16', shape: [1], data: new Int32Array(1) } as unknown as IntTensor }), /needs a Int16Array/],
    ['float dtype', () => encodeSafetensors({ w: { dtype: 'F32', shape: [1], data: new Float32Array(1) } as unknown as IntTensor }), /unsupported dtype/],
    ['negative dim', () => encodeSafetensors({ w: i8([-1], []) }), /non-negative integer/],
    ['metadata not a string', () => encodeSafetensors({}, { k: 1 } as unknown as Record<string, string>), /not a string/],
  ];
  for (const [label, run, pattern] of cases) {
    t.throws(run, { name: 'StorageError', code: StorageErrorCode.InvalidTensor, message: pattern }, label);
  }
});

t.test('corrupt files are rejected, each with its own clear error', async (t) => {
  const entry = (dtype: string, shape: unknown, offsets: unknown) =>
    JSON.stringify({ dtype, shape, data_offsets: offsets });
  const good = `{"w":${entry('I16', [2], [0, 4])}}`;
  t.ok(decodeSafetensors(fileWith(good, [1, 0, 2, 0])), 'control case decodes');

  rejects(t, new Uint8Array(5), /shorter than the 8-byte header length/);
  rejects(t, fileWith('', []), /header length is 0/);
  rejects(t, fileWith(good, [1, 0, 2, 0], 1000n), /runs past the end/);
  rejects(t, fileWith(good, [1, 0, 2, 0], 1n << 40n), /exceeds the limit/);
  rejects(t, fileWith(good, [1, 0, 2, 0]), /exceeds the limit of 16 bytes/, StorageErrorCode.CorruptSafetensors, { maxHeaderBytes: 16 });
  {
    const bad = fileWith('{"w":"\u00ff"}');
    bad[8 + 6] = 0xff; // not a UTF-8 lead byte in that position
    rejects(t, bad, /not valid UTF-8/);
  }
  rejects(t, fileWith(' {}'), /does not start with "\{"/);
  rejects(t, fileWith('{"w":'), /not valid JSON/);
  rejects(t, fileWith('{}{}'), /not valid JSON/);
  rejects(t, fileWith(`{"w":${entry('F32', [1], [0, 4])}}`, [0, 0, 0, 0]), /unsupported dtype "F32"/);
  rejects(t, fileWith(`{"w":${entry('U8', [1], [0, 1])}}`, [0]), /unsupported dtype "U8"/);
  rejects(t, fileWith('{"w":[1,2]}'), /entry is not an object/);
  rejects(t, fileWith(`{"w":${entry('I8', 'x', [0, 1])}}`, [0]), /shape is not an array/);
  rejects(t, fileWith(`{"w":${entry('I8', [1.5], [0, 1])}}`, [0]), /not a non-negative integer/);
  rejects(t, fileWith(`{"w":${entry('I8', [-1], [0, 1])}}`, [0]), /not a non-negative integer/);
  rejects(t, fileWith(`{"w":${entry('I8', [4294967296, 4294967296], [0, 1])}}`, [0]), /more elements than 2\^53/);
  rejects(t, fileWith(`{"w":${entry('I16', [3], [0, 4])}}`, [1, 0, 2, 0]), /needs 6 bytes but data_offsets span 4/);
  rejects(t, fileWith(`{"w":${entry('I16', [2], [0])}}`, [1, 0, 2, 0]), /two non-negative integers/);
  rejects(t, fileWith(`{"w":${entry('I16', [2], [-4, 0])}}`, [1, 0, 2, 0]), /two non-negative integers/);
  rejects(t, fileWith(`{"w":${entry('I16', [0], [4, 0])}}`, [1, 0, 2, 0]), /end before they begin/);
  rejects(t, fileWith('{"w":{"dtype":"I8","shape":[1],"data_offsets":[0,1],"extra":1}}', [0]), /unknown field "extra"/);
  rejects(t, fileWith(`{"":${entry('I8', [1], [0, 1])}}`, [0]), /empty name/);
  // Layout: gap, overlap, past the end, trailing bytes.
  rejects(t, fileWith(`{"a":${entry('I8', [1], [0, 1])},"b":${entry('I8', [1], [2, 3])}}`, [1, 2, 3]), /leaving a gap after byte 1/);
  rejects(t, fileWith(`{"a":${entry('I8', [2], [0, 2])},"b":${entry('I8', [2], [1, 3])}}`, [1, 2, 3]), /inside the previous tensor/);
  rejects(t, fileWith(`{"a":${entry('I8', [4], [0, 4])}}`, [1, 2]), /past the 2-byte data section/);
  rejects(t, fileWith(`{"a":${entry('I8', [1], [0, 1])}}`, [1, 2]), /cover 1 bytes but the data section holds 2/);
  rejects(t, fileWith(`{"a":${entry('I8', [1], [1, 2])}}`, [1, 2]), /leaving a gap after byte 0/);
  // Metadata.
  rejects(t, fileWith('{"__metadata__":[]}'), /"__metadata__" is not an object/);
  rejects(t, fileWith('{"__metadata__":{"k":1}}'), /metadata "k" is not a string/);
});

t.test('valid but non-canonical files decode, and are refused under requireCanonical', async (t) => {
  const canonical = encodeSafetensors({ a: i8([1], [1]), b: i8([1], [2]) });
  const variants: [string, Uint8Array][] = [
    ['whitespace in header', fileWith('{"a": {"dtype":"I8","shape":[1],"data_offsets":[0,1]}, "b": {"dtype":"I8","shape":[1],"data_offsets":[1,2]}}', [1, 2])],
    ['unsorted tensor layout', fileWith('{"a":{"data_offsets":[1,2],"dtype":"I8","shape":[1]},"b":{"data_offsets":[0,1],"dtype":"I8","shape":[1]}}', [2, 1])],
    ['no padding', fileWith('{"a":{"data_offsets":[0,1],"dtype":"I8","shape":[1]},"b":{"data_offsets":[1,2],"dtype":"I8","shape":[1]}}', [1, 2])],
    ['empty metadata written out', fileWith('{"__metadata__":{},"a":{"data_offsets":[0,1],"dtype":"I8","shape":[1]},"b":{"data_offsets":[1,2],"dtype":"I8","shape":[1]}}', [1, 2])],
  ];
  for (const [label, bytes] of variants) {
    t.not(Buffer.compare(bytes, canonical), 0, `${label} differs from canonical`);
    const read = decodeSafetensors(bytes);
    t.same(Array.from(read.tensors.get('a')?.data ?? []), [1], `${label} decodes`);
    t.same(Buffer.from(encodeSafetensors(read.tensors, read.metadata)), Buffer.from(canonical), `${label} re-encodes canonically`);
    rejects(t, bytes, /not in canonical form/, StorageErrorCode.CorruptSafetensors, { requireCanonical: true });
  }
});

t.test('decoding copes with unaligned tensors and a Uint8Array view at an odd offset', async (t) => {
  const bytes = encodeSafetensors({ a: i8([3], [1, 2, 3]), b: i32([2], [-1, 65536]) });
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  const read = decodeSafetensors(shifted.subarray(1), { requireCanonical: true });
  t.same(Array.from(read.tensors.get('b')?.data ?? []), [-1, 65536]);
  // Small Buffers are views into a shared pool: the tensors must not see the pool around them.
  const pooled = Buffer.from(bytes);
  t.not(pooled.byteLength, pooled.buffer.byteLength, 'a pooled Buffer');
  const fromPool = decodeSafetensors(pooled, { requireCanonical: true });
  t.same(Array.from(fromPool.tensors.get('a')?.data ?? []), [1, 2, 3]);
  t.same(Array.from(fromPool.tensors.get('b')?.data ?? []), [-1, 65536]);
});

import t from 'tap';
import { BinaryReader, BinaryWriter } from 'cosmjs-types/binary';
import { MsgSend } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { originalReadString, readStringAsciiFast } from '../../app/proto-runtime.ts';
import { xorshift32 } from '../helpers/rng.ts';

/** A protobuf length-delimited payload: varint length, then the bytes. */
function lengthDelimited(bytes: Uint8Array): Uint8Array {
  const prefix: number[] = [];
  let n = bytes.length;
  while (n >= 0x80) {
    prefix.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  prefix.push(n);
  return new Uint8Array([...prefix, ...bytes]);
}

function both(bytes: Uint8Array): { fast: string; original: string } {
  const frame = lengthDelimited(bytes);
  return {
    fast: readStringAsciiFast.call(new BinaryReader(frame)),
    original: originalReadString.call(new BinaryReader(frame)),
  };
}

t.test('the patched BinaryReader.string is the fast one', async (t) => {
  t.equal(BinaryReader.prototype.string, readStringAsciiFast);
  t.not(originalReadString, readStringAsciiFast);
});

t.test('fast string decoding equals cosmjs-types utf8Read on every kind of input', async (t) => {
  const fixed: Array<[string, Uint8Array]> = [
    ['empty', new Uint8Array()],
    ['address', new TextEncoder().encode('r3mes1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu')],
    ['type url', new TextEncoder().encode('/cosmos.bank.v1beta1.MsgSend')],
    ['all 128 ASCII code units', Uint8Array.from({ length: 128 }, (_, i) => i)],
    ['ASCII over the short path (257 bytes)', new Uint8Array(257).fill(0x61)],
    ['ASCII over utf8Read chunking (20,000 bytes)', Uint8Array.from({ length: 20_000 }, (_, i) => 0x20 + (i % 95))],
    ['two-byte UTF-8', new TextEncoder().encode('héllo wörld')],
    ['three-byte UTF-8', new TextEncoder().encode('日本語のメモ')],
    ['four-byte UTF-8', new TextEncoder().encode('memo 🚀 🌍')],
    ['non-ASCII last', new TextEncoder().encode(`${'a'.repeat(300)}é`)],
    ['lone continuation byte', Uint8Array.of(0x61, 0x80, 0x62)],
    ['truncated two-byte sequence', Uint8Array.of(0x61, 0xc3)],
    ['0xFF', Uint8Array.of(0xff, 0xfe, 0x41)],
    ['overlong encoding', Uint8Array.of(0xc0, 0xaf)],
  ];
  for (const [name, bytes] of fixed) {
    const { fast, original } = both(bytes);
    t.equal(fast, original, name);
  }
  const next = xorshift32(0x5eed);
  let compared = 0;
  for (let i = 0; i < 2000; i++) {
    const length = next() % 600;
    // Mostly ASCII, sometimes any byte: valid, invalid and truncated sequences alike.
    const anyByte = next() % 4 === 0;
    const bytes = Uint8Array.from({ length }, () => (anyByte ? next() & 0xff : next() & 0x7f));
    const { fast, original } = both(bytes);
    if (fast !== original) {
      t.fail(`random case ${i} (length ${length}) differs`);
      return;
    }
    compared++;
  }
  t.equal(compared, 2000, '2,000 random byte strings decode identically');
});

t.test('a MsgSend round-trips through the patched reader and writer', async (t) => {
  const msg = { fromAddress: 'r3mes1from', toAddress: 'r3mes1tö', amount: [{ denom: 'ur3mes', amount: '12345678901234567890' }] };
  const bytes = MsgSend.encode(msg).finish();
  t.equal(bytes.buffer.byteLength, bytes.length, 'encode returns an exact-size array, not a view into a slab');
  t.same(MsgSend.decode(bytes), msg);
  const writer = BinaryWriter.create();
  writer.uint32(10).string('x');
  t.same(Array.from(writer.finish()), [10, 1, 0x78]);
});

t.test('readerOver decodes like a copying reader, as views into the same bytes', async (t) => {
  const { TxRaw } = await import('cosmjs-types/cosmos/tx/v1beta1/tx');
  const { readerOver } = await import('../../app/proto-runtime.ts');
  const bytes = TxRaw.encode({ bodyBytes: Uint8Array.of(1, 2, 3), authInfoBytes: Uint8Array.of(4, 5), signatures: [new Uint8Array(64).fill(7)] }).finish();
  const shared = TxRaw.decode(readerOver(bytes));
  t.same(shared, TxRaw.decode(bytes), 'same message as the stock (copying) decode');
  t.equal(shared.bodyBytes.buffer, bytes.buffer, 'fields are views into the input, not into a copy');
  t.not(TxRaw.decode(bytes).bodyBytes.buffer, bytes.buffer, 'the stock reader copies (what readerOver saves)');
  t.throws(() => TxRaw.decode(readerOver(bytes.subarray(0, bytes.length - 3))), 'a truncated input still fails to decode');
});

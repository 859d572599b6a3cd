import t from 'tap';
import {
  DEFAULT_MAX_FRAME_BYTES, FrameDecoder, FrameError, FrameTooLargeError,
  encodeFrame, encodeFrames, uvarintSize, writeUvarint,
} from '../../app/abci/framing.ts';

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Feeds `stream` in pieces cut at `cuts` (sorted offsets) and collects every frame. */
function decodeInPieces(stream: Uint8Array, cuts: number[], decoder = new FrameDecoder()): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let prev = 0;
  for (const cut of [...cuts, stream.length]) {
    frames.push(...decoder.push(stream.subarray(prev, cut)));
    prev = cut;
  }
  return frames;
}

t.test('varint prefix is unsigned, not zigzag', async (t) => {
  t.equal(hex(encodeFrame(bytes(1, 0))), '01' + '00');
  t.equal(hex(encodeFrame(new Uint8Array(0))), '00');
  // 300 = 0b1_0010_1100 -> ac 02 (zigzag would be d8 04).
  t.equal(hex(encodeFrame(bytes(300, 0)).subarray(0, 2)), 'ac02');
  t.equal(uvarintSize(0), 1);
  t.equal(uvarintSize(127), 1);
  t.equal(uvarintSize(128), 2);
  t.equal(uvarintSize(16383), 2);
  t.equal(uvarintSize(16384), 3);
  t.equal(uvarintSize(2 ** 32), 5);
  const out = new Uint8Array(10);
  const end = writeUvarint(out, 0, 2 ** 35 + 5);
  t.equal(end, 6, 'lengths past 2^32 encode without shift overflow');
  t.throws(() => writeUvarint(out, 0, -1), RangeError);
  t.throws(() => writeUvarint(out, 0, 1.5), RangeError);
});

t.test('one frame split at every byte boundary (2-byte length)', async (t) => {
  const payload = bytes(200, 7);
  const stream = encodeFrame(payload);
  t.equal(stream.length, 202);
  for (let cut = 0; cut <= stream.length; cut++) {
    const frames = decodeInPieces(stream, [cut]);
    if (frames.length !== 1 || hex(frames[0]) !== hex(payload)) {
      t.fail(`split at ${cut} decoded wrongly`);
      return;
    }
  }
  t.pass('all 203 split points decode the same frame');
});

t.test('many frames split at every pair of byte boundaries', async (t) => {
  const payloads = [bytes(3, 1), new Uint8Array(0), bytes(130, 2), bytes(1, 3), new Uint8Array(0)];
  const stream = encodeFrames(payloads);
  const want = payloads.map(hex);
  let checked = 0;
  for (let a = 0; a <= stream.length; a++) {
    for (let b = a; b <= stream.length; b++) {
      const got = decodeInPieces(stream, [a, b]).map(hex);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        t.fail(`cuts ${a},${b} decoded wrongly`);
        return;
      }
      checked++;
    }
  }
  t.ok(checked > 10000, `checked ${checked} ways to split the stream`);
});

t.test('byte-at-a-time and coalesced delivery agree', async (t) => {
  const payloads = Array.from({ length: 50 }, (_, i) => bytes((i * 37) % 300, i));
  const stream = encodeFrames(payloads);
  const want = payloads.map(hex);

  const whole = new FrameDecoder().push(stream).map(hex);
  t.same(whole, want, 'all frames from one coalesced chunk');

  const dec = new FrameDecoder();
  const oneByOne: string[] = [];
  for (let i = 0; i < stream.length; i++) {
    for (const f of dec.push(stream.subarray(i, i + 1))) oneByOne.push(hex(f));
  }
  t.same(oneByOne, want, 'all frames byte by byte');
  t.ok(dec.idle, 'decoder idle at a frame boundary');
});

t.test('encodeFrames equals concatenated encodeFrame', async (t) => {
  const payloads = [bytes(5, 1), bytes(200, 2), new Uint8Array(0)];
  const joined = Buffer.concat(payloads.map((p) => encodeFrame(p)));
  t.equal(hex(encodeFrames(payloads)), hex(joined));
});

t.test('3-byte and larger varint lengths', async (t) => {
  for (const size of [16384, 70000, 2_100_000]) {
    const payload = bytes(size, size);
    const stream = encodeFrame(payload);
    t.equal(stream.length - size, uvarintSize(size));
    // Split inside the prefix and in the middle of the payload.
    const frames = decodeInPieces(stream, [1, 2, Math.floor(size / 2)]);
    t.equal(frames.length, 1);
    t.equal(Buffer.compare(Buffer.from(frames[0]), Buffer.from(payload)), 0, `${size}-byte frame intact`);
  }
});

t.test('zero-length frames', async (t) => {
  const dec = new FrameDecoder();
  const frames = dec.push(Uint8Array.of(0, 0, 0));
  t.equal(frames.length, 3);
  t.ok(frames.every((f) => f.length === 0));
  t.ok(dec.idle);
});

t.test('oversize frames are rejected with a clear error', async (t) => {
  const dec = new FrameDecoder({ maxFrameBytes: 100 });
  t.equal(dec.push(encodeFrame(bytes(100, 0))).length, 1, 'exactly the limit is accepted');
  const err = t.throws(() => dec.push(encodeFrame(bytes(101, 0))));
  t.ok(err instanceof FrameTooLargeError, 'FrameTooLargeError');
  t.match((err as Error).message, /over the limit of 100 bytes/);
  t.throws(() => dec.push(Uint8Array.of(0)), FrameTooLargeError, 'decoder stays failed');

  // The prefix alone is enough to reject: no payload bytes are awaited or buffered.
  const early = new FrameDecoder({ maxFrameBytes: 1024 });
  const prefix = new Uint8Array(5);
  writeUvarint(prefix, 0, 2 ** 30 - 1); // ff ff ff ff 03: already 16383 after two bytes
  t.throws(() => early.push(prefix.subarray(0, 2)), FrameTooLargeError);

  t.equal(new FrameDecoder().maxFrameBytes, DEFAULT_MAX_FRAME_BYTES);
  t.equal(DEFAULT_MAX_FRAME_BYTES, 64 * 1024 * 1024);
  t.throws(() => new FrameDecoder({ maxFrameBytes: -1 }), RangeError);
});

t.test('an endless varint is rejected', async (t) => {
  const dec = new FrameDecoder();
  // Eleven continuation bytes carrying zero value: never over the limit, never ending.
  t.throws(() => dec.push(new Uint8Array(11).fill(0x80)), FrameError);
});

t.test('a frame inside one chunk is returned without copying', async (t) => {
  const stream = encodeFrame(bytes(10, 0));
  const [frame] = new FrameDecoder().push(stream);
  t.equal(frame.buffer, stream.buffer);
});

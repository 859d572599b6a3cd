// SHA-256 of a test-vector output as its canonical tensor bytes: int8 outputs (x8) as bytes,
// acc64 outputs (gA, gB, loss, lora dx) as int64 LE, everything else as int32 LE.
import { createHash } from 'node:crypto';

const INT8 = new Set(['normquant.x8']);
const INT64 = new Set(['lora.gA', 'lora.gB', 'lora.dx', 'xent.loss']);

export function vectorHash(op: string, name: string, v: readonly number[]): string {
  const key = `${op}.${name}`;
  const width = INT8.has(key) ? 1 : INT64.has(key) ? 8 : 4;
  const buf = Buffer.alloc(v.length * width);
  v.forEach((x, i) => {
    if (width === 1) buf.writeInt8(x, i);
    else if (width === 8) buf.writeBigInt64LE(BigInt(x), 8 * i);
    else buf.writeInt32LE(x, 4 * i);
  });
  return createHash('sha256').update(buf).digest('hex');
}

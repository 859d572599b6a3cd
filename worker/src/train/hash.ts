// Canonical bytes and SHA-256 hashes of tensors and of the training state (SPEC.md §6).

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { type AdapterState, type LoraLayer, presentTargets } from '../model/adapter.ts';

/** Little-endian bytes of an integer tensor (int8 as bytes, int16/int32 as 2/4 bytes LE). */
export function tensorBytes(t: Int8Array | Int16Array | Int32Array | Uint8Array): Uint8Array {
  const out = new Uint8Array(t.length * t.BYTES_PER_ELEMENT);
  const view = new DataView(out.buffer);
  if (t instanceof Int32Array) t.forEach((v, i) => view.setInt32(4 * i, v, true));
  else if (t instanceof Int16Array) t.forEach((v, i) => view.setInt16(2 * i, v, true));
  else if (t instanceof Int8Array) t.forEach((v, i) => view.setInt8(i, v));
  else out.set(t);
  return out;
}

export function tensorHash(t: Int8Array | Int16Array | Int32Array | Uint8Array): string {
  return bytesToHex(sha256(tensorBytes(t)));
}

function pairsBytes(rs: readonly LoraLayer[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (const rec of rs) for (const p of presentTargets(rec)) parts.push(tensorBytes(rec[p]!.a), tensorBytes(rec[p]!.b));
  return parts;
}

/** Parameters (layer-major, the targets in canonical order q,k,v,o,gate,up,down, A then B) followed by the momentum in the same order. */
export function stateBytes(s: AdapterState): Uint8Array {
  const parts = [...pairsBytes(s.params), ...pairsBytes(s.momentum)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const STATE_DOMAIN = new TextEncoder().encode('r3mes/state/v1');

/** SHA-256(utf8("r3mes/state/v1") ‖ u64le(step) ‖ state bytes). */
export function stateHash(step: number, s: AdapterState): Uint8Array {
  const body = stateBytes(s);
  const msg = new Uint8Array(STATE_DOMAIN.length + 8 + body.length);
  msg.set(STATE_DOMAIN, 0);
  const view = new DataView(msg.buffer);
  view.setUint32(STATE_DOMAIN.length, step >>> 0, true);
  view.setUint32(STATE_DOMAIN.length + 4, Math.floor(step / 4294967296), true);
  msg.set(body, STATE_DOMAIN.length + 8);
  return sha256(msg);
}

/**
 * The beacon tx: the proposer's VRF proof, carried as the first tx of a block (see README,
 * "Beacon tx"). It is not a Cosmos tx and never enters the mempool.
 *
 *   offset  0      0x00
 *   offset  1..5   "R3VRF" (0x52 0x33 0x56 0x52 0x46)
 *   offset  6      format version 0x01
 *   offset  7..14  height, u64 big-endian
 *   offset 15..94  ECVRF proof (80 bytes, suite ELL2)
 *   total 95 bytes
 *
 * A protobuf message never starts with 0x00 (a key of field number 0 is invalid), so no valid
 * Cosmos TxRaw can be mistaken for a beacon tx. "Beacon-format" means: starts with the 6-byte
 * magic, whatever follows. Everything beacon-format that is not the one valid beacon tx of the
 * block is refused (CheckTx, ProcessProposal) or fails (FinalizeBlock).
 */
import { readU64be, u64be } from '../../app/core/bytes.ts';
import { VRF_PROOF_LENGTH } from './vrf.ts';

export const BEACON_TX_MAGIC: Uint8Array = Uint8Array.of(0x00, 0x52, 0x33, 0x56, 0x52, 0x46);
export const BEACON_TX_VERSION = 0x01;
export const BEACON_TX_LENGTH = BEACON_TX_MAGIC.length + 1 + 8 + VRF_PROOF_LENGTH;

export interface BeaconTx {
  height: bigint;
  proof: Uint8Array;
}

/** True for anything that starts with the beacon magic: such bytes are never a user tx. */
export function isBeaconFormat(tx: Uint8Array): boolean {
  if (tx.length < BEACON_TX_MAGIC.length) return false;
  for (let i = 0; i < BEACON_TX_MAGIC.length; i++) if (tx[i] !== BEACON_TX_MAGIC[i]) return false;
  return true;
}

export function encodeBeaconTx(height: bigint, proof: Uint8Array): Uint8Array {
  if (proof.length !== VRF_PROOF_LENGTH) throw new Error(`beacon proof must be ${VRF_PROOF_LENGTH} bytes, got ${proof.length}`);
  if (height < 0n || height >= 1n << 64n) throw new Error(`beacon height ${height} is not a u64`);
  const out = new Uint8Array(BEACON_TX_LENGTH);
  out.set(BEACON_TX_MAGIC, 0);
  out[BEACON_TX_MAGIC.length] = BEACON_TX_VERSION;
  out.set(u64be(height), BEACON_TX_MAGIC.length + 1);
  out.set(proof, BEACON_TX_MAGIC.length + 9);
  return out;
}

/** The beacon tx in `tx`, or undefined when it is not exactly one (magic, version 1, 95 bytes). */
export function decodeBeaconTx(tx: Uint8Array): BeaconTx | undefined {
  if (tx.length !== BEACON_TX_LENGTH || !isBeaconFormat(tx) || tx[BEACON_TX_MAGIC.length] !== BEACON_TX_VERSION) return undefined;
  return {
    height: readU64be(tx.subarray(BEACON_TX_MAGIC.length + 1, BEACON_TX_MAGIC.length + 9)),
    proof: tx.slice(BEACON_TX_MAGIC.length + 9),
  };
}

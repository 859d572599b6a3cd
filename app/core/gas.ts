import { sdkErrors } from './errors.ts';
import { type KVStore, type StringKeyedStore, stringKeyed } from './store/types.ts';
import { fromKeyString } from './store/bytes.ts';

/**
 * The deterministic gas schedule, the Cosmos SDK's defaults, so that gas a
 * CosmJS client estimates by simulation means the same thing here.
 */
export const gasSchedule = {
  txSizePerByte: 10,
  secp256k1Verify: 1000,
  readFlat: 1000,
  readPerByte: 3,
  writeFlat: 2000,
  writePerByte: 30,
  deleteFlat: 1000,
  iterNextFlat: 30,
} as const;

/**
 * Gas is counted in `number`: every limit is capped at MAX_TX_GAS (far below
 * 2^53), so sums stay exact integers.
 */
export const MAX_TX_GAS = 1_000_000_000;

export class GasMeter {
  private used = 0;
  constructor(readonly limit: number) {}

  consume(amount: number, descriptor: string): void {
    this.used += amount;
    if (this.used > this.limit) {
      throw sdkErrors.outOfGas(`out of gas in location: ${descriptor}; gasWanted: ${this.limit}, gasUsed: ${this.used}`);
    }
  }

  get consumed(): number {
    return this.used;
  }
}

/** A meter with no limit, for simulation and block-level work that no tx pays for. */
export function infiniteGasMeter(): GasMeter {
  return new GasMeter(Number.MAX_SAFE_INTEGER);
}

/** Charges every store access of a tx to its gas meter. */
export class GasMeteredStore implements StringKeyedStore {
  private readonly innerS: StringKeyedStore | undefined;

  constructor(
    private readonly inner: KVStore,
    private readonly meter: GasMeter,
  ) {
    this.innerS = stringKeyed(inner);
  }

  // The latin1 key string has one char per key byte: `key.length` is the byte length, so these
  // charge exactly what the byte methods below charge.
  getS(key: string): Uint8Array | undefined {
    const value = this.innerS !== undefined ? this.innerS.getS(key) : this.inner.get(fromKeyString(key));
    this.meter.consume(gasSchedule.readFlat + gasSchedule.readPerByte * (key.length + (value?.length ?? 0)), 'ReadFlat');
    return value;
  }

  hasS(key: string): boolean {
    this.meter.consume(gasSchedule.readFlat, 'Has');
    return this.innerS !== undefined ? this.innerS.hasS(key) : this.inner.has(fromKeyString(key));
  }

  setS(key: string, value: Uint8Array): void {
    this.meter.consume(gasSchedule.writeFlat + gasSchedule.writePerByte * (key.length + value.length), 'WriteFlat');
    if (this.innerS !== undefined) this.innerS.setS(key, value);
    else this.inner.set(fromKeyString(key), value);
  }

  deleteS(key: string): void {
    this.meter.consume(gasSchedule.deleteFlat, 'Delete');
    if (this.innerS !== undefined) this.innerS.deleteS(key);
    else this.inner.delete(fromKeyString(key));
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const value = this.inner.get(key);
    this.meter.consume(gasSchedule.readFlat + gasSchedule.readPerByte * (key.length + (value?.length ?? 0)), 'ReadFlat');
    return value;
  }

  has(key: Uint8Array): boolean {
    this.meter.consume(gasSchedule.readFlat, 'Has');
    return this.inner.has(key);
  }

  set(key: Uint8Array, value: Uint8Array): void {
    this.meter.consume(gasSchedule.writeFlat + gasSchedule.writePerByte * (key.length + value.length), 'WriteFlat');
    this.inner.set(key, value);
  }

  delete(key: Uint8Array): void {
    this.meter.consume(gasSchedule.deleteFlat, 'Delete');
    this.inner.delete(key);
  }

  *iterate(prefix: Uint8Array): IterableIterator<[Uint8Array, Uint8Array]> {
    for (const entry of this.inner.iterate(prefix)) {
      this.meter.consume(gasSchedule.iterNextFlat + gasSchedule.readPerByte * (entry[0].length + entry[1].length), 'IterNext');
      yield entry;
    }
  }
}

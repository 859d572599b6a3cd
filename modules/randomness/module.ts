import type { AppModule, ModuleParams } from '../../app/core/module.ts';
import { toHex } from '../../app/core/bytes.ts';
import {
  QueryBeaconRequest, QueryBeaconResponse, QueryLatestBeaconResponse, QueryParamsResponse,
} from '../../proto/gen/r3mes/randomness/v1/query.ts';
import type { Beacon, Params } from '../../proto/gen/r3mes/randomness/v1/types.ts';
import { beaconErrors } from './errors.ts';
import { BEACON_LENGTH, type BeaconKeeper, DEFAULT_BEACON_RETENTION_BLOCKS, validateParams } from './keeper.ts';

const Q = '/r3mes.randomness.v1.Query/';

/**
 * Genesis of the randomness module (JSON, hex for bytes, decimal strings for u64):
 * `genesisBeacon` "" means the default SHA-512("r3mes-genesis-beacon" ‖ chain_id);
 * `beacons` (ascending by height) are those an exported chain still kept.
 */
export interface RandomnessGenesisJson {
  params: { beaconRetentionBlocks: string };
  genesisBeacon: string;
  beacons: Array<{ height: string; value: string; proposer: string; proof: string }>;
}

export function beaconToJson(beacon: Beacon) {
  return { height: beacon.height.toString(), value: toHex(beacon.value), proposer: toHex(beacon.proposer).toUpperCase(), proof: toHex(beacon.proof) };
}

function paramsToJson(params: Params): RandomnessGenesisJson['params'] {
  return { beaconRetentionBlocks: params.beaconRetentionBlocks.toString() };
}

const U64 = /^(0|[1-9]\d{0,19})$/;

function parseU64(text: unknown, what: string, error: typeof beaconErrors.invalidGenesis): bigint {
  if (typeof text !== 'string' || !U64.test(text) || BigInt(text) >= 1n << 64n) throw error(`${what} must be a u64 as a decimal string`);
  return BigInt(text);
}

function parseHex(text: unknown, what: string): Buffer {
  if (typeof text !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(text)) throw beaconErrors.invalidGenesis(`${what} must be hex`);
  return Buffer.from(text, 'hex');
}

export function paramsFromJson(value: unknown, error: typeof beaconErrors.invalidGenesis = beaconErrors.invalidParams): Params {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw error('params must be a JSON object');
  for (const key of Object.keys(value)) if (key !== 'beaconRetentionBlocks') throw error(`unknown randomness param "${key}"`);
  const params = { beaconRetentionBlocks: parseU64((value as Record<string, unknown>).beaconRetentionBlocks, 'beaconRetentionBlocks', error) };
  validateParams(params);
  return params;
}

export function randomnessParams(beacons: BeaconKeeper): ModuleParams {
  return {
    get: (store) => paramsToJson(beacons.getParams(store)),
    set: (store, value) => beacons.setParams(store, paramsFromJson(value)),
  };
}

/**
 * The randomness AppModule: no messages and no block hooks — the app itself stores each
 * height's beacon in FinalizeBlock before any tx or hook runs (the beacon tx is not a Cosmos tx).
 */
export function randomnessModule(beacons: BeaconKeeper): AppModule<RandomnessGenesisJson> {
  return {
    name: 'randomness',
    msgs: [],
    params: randomnessParams(beacons),
    queries: {
      [`${Q}Params`]: (store) => QueryParamsResponse.encode({ params: beacons.getParams(store) }).finish(),
      [`${Q}Beacon`]: (store, data) => {
        const { height } = QueryBeaconRequest.decode(data);
        const beacon = beacons.beacon(store, height);
        if (beacon === undefined) throw beaconErrors.beaconNotFound(`no beacon stored for height ${height} (not reached yet, or pruned)`);
        return QueryBeaconResponse.encode({ beacon }).finish();
      },
      [`${Q}LatestBeacon`]: (store) => {
        const beacon = beacons.latest(store);
        if (beacon === undefined) throw beaconErrors.beaconNotFound('no block has been finalized yet');
        return QueryLatestBeaconResponse.encode({ beacon }).finish();
      },
    },
    defaultGenesis: () => ({ params: { beaconRetentionBlocks: DEFAULT_BEACON_RETENTION_BLOCKS.toString() }, genesisBeacon: '', beacons: [] }),
    initGenesis(store, json) {
      if (typeof json !== 'object' || json === null || Array.isArray(json)) throw beaconErrors.invalidGenesis('must be a JSON object');
      for (const key of Object.keys(json)) {
        if (!['params', 'genesisBeacon', 'beacons'].includes(key)) throw beaconErrors.invalidGenesis(`unknown field "${key}"`);
      }
      beacons.setParams(store, paramsFromJson(json.params ?? { beaconRetentionBlocks: DEFAULT_BEACON_RETENTION_BLOCKS.toString() }, beaconErrors.invalidGenesis));
      const genesisBeacon = parseHex(json.genesisBeacon ?? '', 'genesisBeacon');
      if (genesisBeacon.length !== 0) {
        if (genesisBeacon.length !== BEACON_LENGTH) throw beaconErrors.invalidGenesis(`genesisBeacon must be ${BEACON_LENGTH} bytes (or "" for the default)`);
        beacons.setGenesisBeacon(store, genesisBeacon);
      }
      const list = json.beacons ?? [];
      if (!Array.isArray(list)) throw beaconErrors.invalidGenesis('beacons must be an array');
      beacons.importBeacons(store, list.map((entry, i) => {
        if (typeof entry !== 'object' || entry === null) throw beaconErrors.invalidGenesis(`beacons[${i}] must be an object`);
        return {
          height: parseU64(entry.height, `beacons[${i}].height`, beaconErrors.invalidGenesis),
          value: parseHex(entry.value, `beacons[${i}].value`),
          proposer: parseHex(entry.proposer, `beacons[${i}].proposer`),
          proof: parseHex(entry.proof ?? '', `beacons[${i}].proof`),
        };
      }));
    },
    exportGenesis: (store) => ({
      params: paramsToJson(beacons.getParams(store)),
      genesisBeacon: toHex(beacons.explicitGenesisBeacon(store) ?? new Uint8Array()),
      beacons: [...beacons.beacons(store)].map(beaconToJson),
    }),
  };
}

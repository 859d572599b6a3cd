// Bytes a miner moves per submission against the bytes of the backbone it trains on: the frozen
// backbone (as the int8 safetensors model file, and packed at 2 bits per weight), the adapter delta
// file it uploads to the content store, and the signed MsgSubmitGradient tx that goes on chain.
// The file sizes are real encodings (encodeSafetensors, encodeDelta, a signed TxRaw) for the
// devnet's tiny model and the genesis model; the largest config the SPEC allows is computed
// from the same formulas, which the two encoded rows check.
// Run: npx tsx --conditions=r3mes-source worker/bench/bandwidth.ts  (the condition: @r3mes/client from its sources)

import { DirectSecp256k1Wallet } from '@cosmjs/proto-signing';
import { SigningStargateClient } from '@cosmjs/stargate';
import { TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { r3mesRegistry } from '@r3mes/client';
import { TYPE_SUBMIT_GRADIENT } from '../src/chain/client.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { adapterDelta, encodeDelta } from '../src/output/delta.ts';
import type { ModelIdentity } from '../src/output/metadata.ts';
import { encodeSafetensors, type IntTensor } from '../src/storage/safetensors.ts';

interface Row {
  readonly name: string;
  readonly cfg: ModelConfig;
  /** encode the files (small configs) or only compute their sizes */
  readonly encode: boolean;
}

const seed = new Uint8Array(32).fill(7);
const rows: Row[] = [
  { name: 'devnet tiny (D64 L2 F128 r8)', cfg: { vocab: 256, dModel: 64, nLayers: 2, nHeads: 2, dFF: 128, seqLen: 64, loraRank: 8, seed }, encode: true },
  { name: 'genesis (D256 L4 F1024 r8)', cfg: { vocab: 256, dModel: 256, nLayers: 4, nHeads: 4, dFF: 1024, seqLen: 256, loraRank: 8, seed }, encode: true },
  { name: 'largest allowed (D1024 L24 F2048 r16)', cfg: { vocab: 256, dModel: 1024, nLayers: 24, nHeads: 16, dFF: 2048, seqLen: 2048, loraRank: 16, seed }, encode: false },
];

/** Weights of the backbone: embedding, head, and per layer q, k, v, o (D×D), up (F×D), down (D×F). */
const backboneWeights = (c: ModelConfig): number => 2 * 256 * c.dModel + c.nLayers * (4 * c.dModel * c.dModel + 2 * c.dModel * c.dFF);
/** int32 values of the delta: A [r,D] and B [D,r] for q, k, v, o of every layer. */
const deltaValues = (c: ModelConfig): number => c.nLayers * 4 * 2 * c.loraRank * c.dModel;

function backboneFile(cfg: ModelConfig): Uint8Array {
  const bb = generateBackbone(cfg);
  const tensors = new Map<string, IntTensor>();
  tensors.set('embed', { dtype: 'I8', shape: [256, cfg.dModel], data: bb.embed });
  tensors.set('head', { dtype: 'I8', shape: [256, cfg.dModel], data: bb.head!.w });
  bb.layers.forEach((layer, l) => {
    for (const [k, w] of Object.entries(layer)) tensors.set(`layer.${l}.${k}`, { dtype: 'I8', shape: [w.rows, w.cols], data: w.w });
  });
  return encodeSafetensors(tensors);
}

async function signedTxBytes(): Promise<number> {
  const wallet = await DirectSecp256k1Wallet.fromKey(new Uint8Array(32).fill(3), 'r3mes');
  const [{ address }] = await wallet.getAccounts();
  const client = await SigningStargateClient.offline(wallet, { registry: r3mesRegistry() });
  const value = {
    miner: address, windowId: 123n, subnet: 0n, modelVersion: 1n,
    gradientCid: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', // a CIDv1 raw sha2-256 is 59 characters
    gradientHash: new Uint8Array(32).fill(1), traceRoot: new Uint8Array(32).fill(2), chunkIndex: 2999n,
    lossBefore: 300000n, lossAfter: 290000n, backend: 'webgpu',
  };
  const raw = await client.sign(address, [{ typeUrl: TYPE_SUBMIT_GRADIENT, value }], { amount: [{ denom: 'ur3mes', amount: '2000' }], gas: '200000' }, '', {
    accountNumber: 7n, sequence: 12, chainId: 'r3mes-1',
  });
  return TxRaw.encode(raw).finish().length;
}

const kb = (n: number): string => (n / 1024).toFixed(1).padStart(10);
const txBytes = await signedTxBytes();
console.log('per submission: the delta file goes to the content store, the signed tx to the chain');
console.log(`signed MsgSubmitGradient tx: ${txBytes} bytes (CID, gradient hash, trace root, losses, signature, fee)`);
console.log('');
console.log('model                                  backbone KiB   (2-bit KiB)    delta KiB  backbone/delta  delta/tx');
for (const { name, cfg, encode } of rows) {
  let backbone = backboneWeights(cfg);
  let delta = deltaValues(cfg) * 4;
  if (encode) {
    const file = backboneFile(cfg);
    const enc = await encodeDelta(adapterDelta(initAdapter(cfg), initAdapter(cfg)), {
      model: { version: 1n, backbone: { seed }, cfg } satisfies ModelIdentity, miner: 'r3mes1x', window: 1n, ordinal: 0n, chunkIndex: 0n,
      chunkHash: '0'.repeat(64), backend: 'cpu', lr: 256, stepHashes: [new Uint8Array(32), new Uint8Array(32), new Uint8Array(32)], lossBefore: 0, lossAfter: 0,
    });
    if (file.length < backbone || enc.bytes.length < delta) throw new Error(`${name}: an encoded file is smaller than its tensor bytes`);
    backbone = file.length;
    delta = enc.bytes.length;
  }
  const packed = backboneWeights(cfg) / 4; // 2 bits per ternary weight, as the WebGPU kernels hold it
  console.log(
    `${name.padEnd(38)} ${kb(backbone)}  ${kb(packed).padStart(14)}  ${kb(delta).padStart(9)}  ${(backbone / delta).toFixed(1).padStart(13)}×  ${(delta / txBytes).toFixed(0).padStart(7)}×`
      + (encode ? '' : '  (computed)'),
  );
}

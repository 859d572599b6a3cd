// What `r3mes-worker model inspect DIR` reports (README "inspect"): the architecture, parameter
// counts, memory estimates per backend, and the manifest CID.

import { architectureHash, type BitNetArchitecture } from './config.ts';
import { BitNetCheckpoint, type CheckpointForm, PROJECTIONS, type Projection, projectionShape } from './loader.ts';
import { buildManifest } from './manifest.ts';

export const DEFAULT_LORA_TARGETS: readonly Projection[] = ['q', 'k', 'v', 'o'];
export const DEFAULT_INSPECT_RANK = 16;
export const CHUNK_TOKENS = 2048;
/** Tokens whose logits are held at once (the LM head and its loss run over blocks of this many). */
export const LOGIT_BLOCK_TOKENS = 256;

export interface ParameterCounts {
  /** Ternary BitLinear weights, all layers. */
  ternary: number;
  /** bf16 values: embedding, norm gains, (untied) LM head, and the per-tensor scales of the packed form. */
  bf16: number;
  /** LoRA parameters (A and B) for `loraRank` on `loraTargets` of every layer. */
  lora: number;
  loraRank: number;
  loraTargets: Projection[];
}

export function parameterCounts(a: BitNetArchitecture, form: CheckpointForm, rank: number, targets: readonly Projection[]): ParameterCounts {
  let ternaryPerLayer = 0;
  let loraPerLayer = 0;
  for (const p of PROJECTIONS) {
    const [rows, cols] = projectionShape(a, p);
    ternaryPerLayer += rows * cols;
    if (targets.includes(p)) loraPerLayer += rank * (rows + cols);
  }
  const D = a.hiddenSize;
  const embed = a.vocabSize * D;
  const bf16 = embed * (a.tieWordEmbeddings ? 1 : 2) + a.numLayers * (3 * D + a.intermediateSize) + D + (form === 'packed' ? 7 * a.numLayers : 0);
  return { ternary: ternaryPerLayer * a.numLayers, bf16, lora: loraPerLayer * a.numLayers, loraRank: rank, loraTargets: [...targets] };
}

export interface MemoryEstimate {
  /** Bytes of the weights held: the bf16 embedding (and LM head), and the packed ternary weights (2 bits each) resident. */
  weightBytes: number;
  /** LoRA parameters, optimizer moments and exact gradient sums: 4 + 4 + 8 bytes a parameter. */
  adapterBytes: number;
  /** Activations of one step on a chunk, with per-layer recomputation (formula in the README). */
  activationBytes: number;
  totalBytes: number;
}

export interface MemoryEstimates {
  chunkTokens: number;
  /** CPU: ternary weights streamed a layer at a time (two layers resident: the one in use and the next). */
  cpu: MemoryEstimate;
  /** GPU: every layer's packed weights resident on the device. */
  gpu: MemoryEstimate;
}

export function memoryEstimates(a: BitNetArchitecture, counts: ParameterCounts, T = CHUNK_TOKENS): MemoryEstimates {
  const D = a.hiddenSize;
  const F = a.intermediateSize;
  const KV = a.numKvHeads * a.headDim;
  const L = a.numLayers;
  const V = a.vocabSize;
  const perLayerTernary = counts.ternary / L;
  const perLayerGains = 3 * D + F + 7;
  const embedding = V * D * 2 * (a.tieWordEmbeddings ? 1 : 2) + D * 2;
  const layerPacked = perLayerTernary / 4 + perLayerGains * 2;
  const adapterBytes = counts.lora * 16;
  // Residual stream checkpoints at every layer boundary (int32), plus one layer's working set
  // while it is recomputed and differentiated (values and gradients, int32): norm outputs,
  // q/k/v, attention output and its sub-norm, the FFN input, gate/up/activation, ffn sub-norm;
  // attention probabilities of one head at a time (values and gradients); logits of one block
  // of LOGIT_BLOCK_TOKENS tokens (values and gradients).
  const residual = (L + 1) * T * D * 4;
  const layerWork = 2 * T * (6 * D + 2 * KV + 4 * F) * 4;
  const attention = 2 * T * T * 4;
  const logits = 2 * Math.min(T, LOGIT_BLOCK_TOKENS) * V * 4;
  const activationBytes = residual + layerWork + attention + logits;
  const cpuWeights = embedding + Math.min(2, L) * layerPacked;
  const gpuWeights = embedding + L * layerPacked;
  return {
    chunkTokens: T,
    cpu: { weightBytes: cpuWeights, adapterBytes, activationBytes, totalBytes: cpuWeights + adapterBytes + activationBytes },
    gpu: { weightBytes: gpuWeights, adapterBytes, activationBytes, totalBytes: gpuWeights + adapterBytes + activationBytes },
  };
}

export interface InspectReport {
  dir: string;
  architecture: BitNetArchitecture;
  architectureHash: string;
  form: CheckpointForm;
  files: { name: string; size: number; cid: string }[];
  extraTensors: string[];
  parameters: ParameterCounts;
  memory: MemoryEstimates;
  manifestCid: string;
}

export async function inspectCheckpoint(dir: string, rank = DEFAULT_INSPECT_RANK, targets: readonly Projection[] = DEFAULT_LORA_TARGETS): Promise<InspectReport & { manifestBytes: Uint8Array }> {
  const ckpt = await BitNetCheckpoint.open(dir);
  const extraTensors = ckpt.extraTensors;
  await ckpt.close();
  const { manifest, bytes, cid } = await buildManifest(dir);
  const a = ckpt.arch;
  const parameters = parameterCounts(a, ckpt.form, rank, targets);
  return {
    dir,
    architecture: a,
    architectureHash: architectureHash(a),
    form: ckpt.form,
    files: manifest.files,
    extraTensors,
    parameters,
    memory: memoryEstimates(a, parameters),
    manifestCid: cid,
    manifestBytes: bytes,
  };
}

const GIB = 1024 ** 3;
const fmtBytes = (n: number) => (n >= GIB ? `${(n / GIB).toFixed(2)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`);
const fmtCount = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(3)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${n}`) + ` (${n})`;

/** The human-readable report. */
export function formatInspect(r: InspectReport): string {
  const a = r.architecture;
  const lines = [
    `model ${r.dir}`,
    `  architecture      ${a.architecture} (${r.form} weights)`,
    `  layers            ${a.numLayers}`,
    `  hidden / ffn      ${a.hiddenSize} / ${a.intermediateSize}`,
    `  heads             ${a.numHeads} query, ${a.numKvHeads} key/value (GQA ${a.numHeads / a.numKvHeads}:1), head dim ${a.headDim}`,
    `  vocabulary        ${a.vocabSize}${a.tieWordEmbeddings ? ' (tied embedding / LM head)' : ' (separate LM head)'}`,
    `  context           ${a.maxPositions}, RoPE θ ${a.ropeTheta}, RMSNorm ε ${a.rmsNormEps}`,
    `  architecture hash ${r.architectureHash}`,
    'parameters',
    `  ternary           ${fmtCount(r.parameters.ternary)}`,
    `  bf16              ${fmtCount(r.parameters.bf16)}`,
    `  LoRA rank ${r.parameters.loraRank} on ${r.parameters.loraTargets.join(',')}: ${fmtCount(r.parameters.lora)}`,
    `memory estimate, one step on a ${r.memory.chunkTokens}-token chunk (weights + adapter + activations)`,
  ];
  for (const [label, m] of [['cpu (packed 2-bit, layer streaming)', r.memory.cpu], ['gpu (packed 2-bit, all layers resident)', r.memory.gpu]] as const) {
    lines.push(`  ${label}: ${fmtBytes(m.totalBytes)} = ${fmtBytes(m.weightBytes)} + ${fmtBytes(m.adapterBytes)} + ${fmtBytes(m.activationBytes)}`);
  }
  lines.push('files');
  for (const f of r.files) lines.push(`  ${f.name}  ${f.size} bytes  ${f.cid}`);
  if (r.extraTensors.length > 0) lines.push(`ignored tensors: ${r.extraTensors.join(', ')}`);
  lines.push(`manifest CID ${r.manifestCid}`);
  return `${lines.join('\n')}\n`;
}

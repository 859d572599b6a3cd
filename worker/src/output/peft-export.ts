// A head checkpoint as a Hugging Face PEFT LoRA adapter directory (training README "Checkpoints",
// worker README "checkpoint export"), so the trained adapter loads in the tools people use:
//
//   adapter_config.json             peft_type LORA, r, lora_alpha, target_modules (HF names),
//                                   base_model_name_or_path when known
//   adapter_model.safetensors       F32 tensors, PEFT's state-dict keys
//                                   base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight …
//   adapter_model.int32.safetensors the exact integer form (I32, the same keys, canonical bytes)
//   README.md                       where it came from, and the scale
//
// Facts of PEFT's format this follows (PEFT docs, developer_guides/checkpoint.md): the saved
// state-dict keys start with `base_model.model.` (PeftModel wraps LoraModel wraps the model) and
// carry no adapter name; lora_A and lora_B are nn.Linear, so lora_A.weight is [r, in_features] and
// lora_B.weight is [out_features, r]; the adapter's output is scaled by lora_alpha / r.
//
// The numbers (worker/SPEC.md §1, §4.3): A and B are Q16 integers (real = int · 2^-16), and the
// forward adds (α/r) · B_real · A_real · x — the LoRA forward of PEFT with the same r and α. |int|
// ≤ 2^16, so int · 2^-16 is exact in float32 (17 significant bits ≤ 24).

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type LoraTarget, loraAlpha, loraDims, loraTargets } from '../model/config.ts';
import { encodeSafetensors, type IntTensor } from '../storage/safetensors.ts';
import type { HeadCheckpointFile } from './head-checkpoint.ts';
import { modelMetadata } from './metadata.ts';

/** The Hugging Face (Llama / BitNet b1.58 2B4T) module of each LoRA target, under model.layers.{i}. */
export const HF_MODULES: Readonly<Record<LoraTarget, string>> = {
  q: 'self_attn.q_proj', k: 'self_attn.k_proj', v: 'self_attn.v_proj', o: 'self_attn.o_proj',
  gate: 'mlp.gate_proj', up: 'mlp.up_proj', down: 'mlp.down_proj',
};

/** Q16: a LoRA parameter's real value is its integer times 2^-16 (SPEC §1, "A, B"). */
export const LORA_PARAM_SCALE = 2 ** -16;

export interface PeftTensor {
  readonly name: string;
  readonly shape: readonly [number, number];
  readonly ints: Int32Array;
}

export interface PeftAdapter {
  readonly config: Record<string, unknown>;
  readonly tensors: readonly PeftTensor[];
}

/** PEFT's key of layer `layer`'s target `p`, matrix A or B. */
export function peftKey(layer: number, p: LoraTarget, matrix: 'A' | 'B'): string {
  return `base_model.model.model.layers.${layer}.${HF_MODULES[p]}.lora_${matrix}.weight`;
}

/** The adapter config and tensors of a head checkpoint (no files written). */
export function peftAdapter(file: HeadCheckpointFile, options: { baseModel?: string } = {}): PeftAdapter {
  const cfg = file.model.cfg;
  const targets = loraTargets(cfg);
  const r = cfg.loraRank;
  const tensors: PeftTensor[] = [];
  file.params.forEach((layer, l) => {
    for (const p of targets) {
      const pair = layer[p];
      if (!pair) throw new Error(`checkpoint layer ${l} has no LoRA target ${p}`);
      const { K, N } = loraDims(cfg, p);
      tensors.push({ name: peftKey(l, p, 'A'), shape: [r, K], ints: pair.a });
      tensors.push({ name: peftKey(l, p, 'B'), shape: [N, r], ints: pair.b });
    }
  });
  const config = {
    base_model_name_or_path: options.baseModel ?? null,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    lora_alpha: loraAlpha(cfg),
    lora_dropout: 0,
    peft_type: 'LORA',
    r,
    target_modules: targets.map((p) => HF_MODULES[p].split('.')[1]),
    task_type: 'CAUSAL_LM',
  };
  return { config, tensors };
}

/**
 * A safetensors file of F32 tensors (each int · 2^-16), keys sorted, header padded to 8 bytes,
 * `__metadata__` {"format":"pt"} as PyTorch writers put it.
 */
export function floatSafetensors(tensors: readonly PeftTensor[]): Uint8Array {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of sorted) {
    const bytes = t.ints.length * 4;
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const head = Buffer.from(json);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of sorted) {
    for (let i = 0; i < t.ints.length; i++, at += 4) view.setFloat32(at, t.ints[i] * LORA_PARAM_SCALE, true);
  }
  return out;
}

/** Writes the PEFT directory of `file` (checkpoint `cid`) into `dir`; returns the paths written. */
export async function writePeftDirectory(dir: string, file: HeadCheckpointFile, cid: string, options: { baseModel?: string } = {}): Promise<string[]> {
  const adapter = peftAdapter(file, options);
  await mkdir(dir, { recursive: true });
  const exact = new Map<string, IntTensor>(adapter.tensors.map((t) => [t.name, { dtype: 'I32', shape: [...t.shape], data: t.ints }]));
  const files: Array<[string, Uint8Array | string]> = [
    ['adapter_config.json', `${JSON.stringify(adapter.config, null, 2)}\n`],
    ['adapter_model.safetensors', floatSafetensors(adapter.tensors)],
    ['adapter_model.int32.safetensors', encodeSafetensors(exact, {
      ...modelMetadata(file.model), scale: '2^-16', checkpoint_cid: cid, through_window: file.throughWindow.toString(),
      windows: file.windows.join(','),
    })],
    ['README.md', [
      `# R3MES adapter checkpoint ${cid}`,
      '',
      `The LoRA adapter of model version ${file.model.version} consolidated through window ${file.throughWindow}`,
      `(applied windows: ${file.windows.join(', ') || 'none'}), exported for PEFT (\`PeftModel.from_pretrained\`).`,
      '',
      '- `adapter_model.safetensors`: float32, each value = its integer × 2^-16 (exact).',
      '- `adapter_model.int32.safetensors`: the exact integers (Q16) under the same keys, as the chain agreed them.',
      '',
    ].join('\n')],
  ];
  const paths: string[] = [];
  for (const [name, content] of files) {
    const path = join(dir, name);
    await writeFile(path, content);
    paths.push(path);
  }
  return paths;
}

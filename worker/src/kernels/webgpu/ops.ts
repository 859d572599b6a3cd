// The WebGPU backend's SPEC ops, one import for callers: each function takes the GpuContext
// first, then the CPU kernel's own arguments, and resolves to the CPU kernel's result.

export { ternlin, ternlinBackward, encodeTernlin, encodeTernlinBackward } from './ternlin.ts';
export { normquant, normquantBackward, encodeNormquant, encodeNormquantBackward, allocNormQuant } from './normquant.ts';
export type { NormQuant, NormQuantGpu } from './normquant.ts';
export { toq8, encodeToq8 } from './toq8.ts';
export { relu2, relu2Backward, encodeRelu2, encodeRelu2Backward } from './relu2.ts';
export { signumStep, encodeSignumStep } from './signum.ts';
export { ropeTable, ropeApply, ropeBackward, encodeRopeTable, encodeRope } from './rope.ts';
export type { RopeTable } from './rope.ts';
export { crossEntropy, encodeCrossEntropy, lossTotal } from './xent.ts';
export { loraA12, loraB10, loraForward, loraBackward, encodeLoraNarrow, encodeLoraForward, encodeLoraBackward } from './lora.ts';
export type { LoraBackwardGpu } from './lora.ts';
export { attention, attentionBackward, encodeAttention, encodeAttentionBackward } from './attention.ts';
export type { AttentionOut, AttentionGrads, AttentionBackwardGpu } from './attention.ts';

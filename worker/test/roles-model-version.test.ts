// A chain model version → the worker's model config (roles/model.ts identityOfVersion): the
// byte-level family stays SPEC v1 bit for bit; the 2B4T family's fields become SPEC v2 config
// fields (and the model trains); a version from a Hugging Face directory is refused by name.
import t from 'tap';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ModelVersion } from '../src/chain/client.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import { isV2, v2Features } from '../src/model/config.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { identityOfVersion } from '../src/roles/model.ts';
import { trainStep } from '../src/train/step.ts';

const V1_FIELDS = { nKvHeads: 0, ffn: '', ropeTheta: 0, ropeLayout: '', normGains: false, embedding: '' };
const version = (over: Partial<ModelVersion> = {}): ModelVersion => ({
  number: 2n, modelCid: '', backboneSeed: bytesToHex(new Uint8Array(32).fill(4)), manifestCid: '', architectureHash: '',
  architecture: { dModel: 64, nLayers: 2, nHeads: 4, dFf: 128, vocabSize: 256, seqLen: 32, ...V1_FIELDS },
  lora: { rank: 4, alpha: 8, targets: ['q', 'k', 'v', 'o'] }, status: 1, activationHeight: 0n, migrationBlocks: 0n,
  migrationEndHeight: 0n, deprecatedHeight: 0n, proposalId: 0n, ...over,
});

t.test('a byte-level version is a SPEC v1 config (alpha not applied)', async (t) => {
  const { cfg } = identityOfVersion(version());
  t.equal(isV2(cfg), false, `no v2 feature (${v2Features(cfg).join(', ')})`);
  t.equal(cfg.vocab, 256);
});

t.test('a 2B4T-family version becomes a SPEC v2 config with every field the chain sets, and trains', async (t) => {
  const v = version({
    architecture: { dModel: 64, nLayers: 2, nHeads: 4, dFf: 96, vocabSize: 300, seqLen: 32, nKvHeads: 2, ffn: 'gated', ropeTheta: 500000, ropeLayout: 'half', normGains: true, embedding: 'bf16-tied' },
    lora: { rank: 4, alpha: 8, targets: ['q', 'v', 'gate', 'down'] },
  });
  const { cfg } = identityOfVersion(v);
  t.match(cfg, { vocab: 300, nKvHeads: 2, ffn: 'gated', ropeTheta: 500000, ropeLayout: 'half', normGains: true, embedding: 'bf16-tied', loraAlpha: 8, loraTargets: ['q', 'v', 'gate', 'down'] });
  const bb = generateBackbone(cfg);
  const chunk = Uint32Array.from({ length: 64 }, (_, i) => (i * 13 + 5) % 300);
  const r = trainStep(bb, initAdapter(cfg), chunk, 1, { lr: 256 });
  t.equal(r.hash.length, 32, 'a v2 step from a chain version');
  t.same(Object.keys(r.state.params[0]).sort(), ['down', 'gate', 'q', 'v'], 'the adapter holds exactly the version\'s targets');
});

t.test('a version from a Hugging Face directory is refused by name until the worker is given the directory', async (t) => {
  t.throws(() => identityOfVersion(version({ backboneSeed: '', manifestCid: 'bafkreibnoelefnzgwbcacyt4vh52ymxvzbjq7mmqhtcnwarfq4lzegsiqe', architectureHash: 'ab'.repeat(32) })), /Hugging Face model directory/);
});

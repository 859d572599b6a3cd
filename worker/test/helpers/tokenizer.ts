// A small LLaMA-3-style byte-level BPE tokenizer.json, written by the tests (no download here):
// the GPT-2 byte↔unicode alphabet as the base vocabulary, a few merges, the LLaMA-3 split regex,
// ByteLevel pre-tokenizer and decoder, and <|begin_of_text|> / <|end_of_text|> as special tokens.
// It is only data: the tokenizing is done by @huggingface/tokenizers reading it.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to U+0100 upwards. */
export function byteAlphabet(): string[] {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = keep.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + n++);
  return out;
}

const MERGES: [string, string][] = [
  ['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['i', 'n'], ['Ġ', 'a'], ['e', 'r'], ['o', 'n'], ['Ġ', 's'], ['r', 'e'], ['a', 't'],
  ['e', 'n'], ['Ġ', 'w'], ['in', 'g'], ['o', 'r'], ['Ġ', 'o'], ['Ġ', 'c'], ['e', 's'], ['Ġ', 'b'], ['Ġo', 'f'], ['a', 'n'],
];

export const BOS = '<|begin_of_text|>';
export const EOS = '<|end_of_text|>';

export function tokenizerJson(): { json: object; vocabSize: number; bosId: number; eosId: number } {
  const alphabet = byteAlphabet();
  const vocab: Record<string, number> = {};
  alphabet.forEach((ch, b) => { vocab[ch] = b; });
  let next = 256;
  for (const [a, b] of MERGES) vocab[a + b] ??= next++;
  const bosId = next++;
  const eosId = next++;
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const json = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [special(bosId, BOS), special(eosId, EOS)],
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
          behavior: 'Isolated', invert: false,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab, merges: MERGES,
    },
  };
  return { json, vocabSize: next, bosId, eosId };
}

/** Writes tokenizer.json and tokenizer_config.json (bos/eos tokens) into `dir`; returns the ids. */
export function writeTokenizerDir(dir: string): { vocabSize: number; bosId: number; eosId: number } {
  mkdirSync(dir, { recursive: true });
  const { json, ...ids } = tokenizerJson();
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json, null, 2));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: BOS, eos_token: EOS, tokenizer_class: 'PreTrainedTokenizerFast' }));
  return ids;
}

import t from 'tap';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import {
  VRF_PROOF_LENGTH,
  VRF_SUITE_ELL2,
  VRF_SUITE_TAI,
  type VrfSuite,
  generateKeyPair,
  proofToHash,
  prove,
  publicKeyFromSecret,
  validateKey,
  verify,
} from '../../modules/randomness/vrf.ts';
import { RandomnessError } from '../../modules/randomness/errors.ts';

/**
 * RFC 9381 Appendix B.3 (ECVRF-EDWARDS25519-SHA512-TAI, Examples 16-18) and B.4
 * (ECVRF-EDWARDS25519-SHA512-ELL2, Examples 19-21): SK, PK, alpha, pi, beta.
 * Copied from the RFC's appendix as reproduced in independent implementations' test suites
 * (B.3: facebook/akd akd_core/src/ecvrf/tests.rs, which cites RFC 9381 B.3 and also lists
 * the intermediate x, H, k, U, V; B.4: two independent repositories citing RFC 9381 Examples
 * 19-21 agreed byte for byte). SK/PK are the RFC 8032 7.1 TEST 1-3 keys.
 */
interface Vector {
  readonly example: number;
  readonly suite: VrfSuite;
  readonly sk: string;
  readonly pk: string;
  readonly alpha: string;
  readonly pi: string;
  readonly beta: string;
}

const VECTORS: readonly Vector[] = [
  // B.3 ECVRF-EDWARDS25519-SHA512-TAI
  {
    example: 16,
    suite: VRF_SUITE_TAI,
    sk: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    alpha: '',
    pi:
      '8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f' +
      '26f8a57ccaed74ee1b190bed1f479d97' +
      '27d2d0f9b005a6e456a35d4fb0daab1268a1b0db10836d9826a528ca76567805',
    beta:
      '90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff' +
      '66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae',
  },
  {
    example: 17,
    suite: VRF_SUITE_TAI,
    sk: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    alpha: '72',
    pi:
      'f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed593' +
      '3bf0864a62558b3ed7f2fea45c92a465' +
      '301b3bbf5e3e54ddf2d935be3b67926da3ef39226bbc355bdc9850112c8f4b02',
    beta:
      'eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb' +
      '5e33821bc613efb94db5e5b54c70a848a0bef4553a41befc57663b56373a5031',
  },
  {
    example: 18,
    suite: VRF_SUITE_TAI,
    sk: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pk: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    alpha: 'af82',
    pi:
      '9bc0f79119cc5604bf02d23b4caede71393cedfbb191434dd016d30177ccbf80' +
      '96bb474e53895c362d8628ee9f9ea3c0' +
      'e52c7a5c691b6c18c9979866568add7a2d41b00b05081ed0f58ee5e31b3a970e',
    beta:
      '645427e5d00c62a23fb703732fa5d892940935942101e456ecca7bb217c61c45' +
      '2118fec1219202a0edcf038bb6373241578be7217ba85a2687f7a0310b2df19f',
  },
  // B.4 ECVRF-EDWARDS25519-SHA512-ELL2
  {
    example: 19,
    suite: VRF_SUITE_ELL2,
    sk: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    alpha: '',
    pi:
      '7d9c633ffeee27349264cf5c667579fc583b4bda63ab71d001f89c10003ab46f' +
      '14adf9a3cd8b8412d9038531e865c341' +
      'cafa73589b023d14311c331a9ad15ff2fb37831e00f0acaa6d73bc9997b06501',
    beta:
      '9d574bf9b8302ec0fc1e21c3ec5368269527b87b462ce36dab2d14ccf80c53cc' +
      'cf6758f058c5b1c856b116388152bbe509ee3b9ecfe63d93c3b4346c1fbc6c54',
  },
  {
    example: 20,
    suite: VRF_SUITE_ELL2,
    sk: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    alpha: '72',
    pi:
      '47b327393ff2dd81336f8a2ef10339112401253b3c714eeda879f12c509072ef' +
      '055b48372bb82efbdce8e10c8cb9a2f9' +
      'd60e93908f93df1623ad78a86a028d6bc064dbfc75a6a57379ef855dc6733801',
    beta:
      '38561d6b77b71d30eb97a062168ae12b667ce5c28caccdf76bc88e093e463598' +
      '7cd96814ce55b4689b3dd2947f80e59aac7b7675f8083865b46c89b2ce9cc735',
  },
  {
    example: 21,
    suite: VRF_SUITE_ELL2,
    sk: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pk: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    alpha: 'af82',
    pi:
      '926e895d308f5e328e7aa159c06eddbe56d06846abf5d98c2512235eaa57fdce' +
      '35b46edfc655bc828d44ad09d1150f31' +
      '374e7ef73027e14760d42e77341fe05467bb286cc2c9d7fde29120a0b2320d04',
    beta:
      '121b7f9b9aaaa29099fc04a94ba52784d44eac976dd1a3cca458733be5cd090a' +
      '7b5fbd148444f17f8daf1fb55cb04b1ae85a626e30a54b4b0f8abf4a43314a58',
  },
];

const SUITES: readonly VrfSuite[] = [VRF_SUITE_TAI, VRF_SUITE_ELL2];
const Q = ed25519.Point.Fn.ORDER;

/**
 * Canonical encodings of the 8 points of the torsion subgroup E[8] of edwards25519
 * (identity; order 2; two of order 4; four of order 8). The test below recomputes the
 * subgroup from the curve and checks this list is exactly it, so no constant is taken on trust.
 */
const TORSION_ENCODINGS: readonly string[] = [
  '0100000000000000000000000000000000000000000000000000000000000000', // identity (0, 1)
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // (0, -1), order 2
  '0000000000000000000000000000000000000000000000000000000000000000', // (+sqrt(-1), 0), order 4
  '0000000000000000000000000000000000000000000000000000000000000080', // (-sqrt(-1), 0), order 4
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
];

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[bit >> 3] ^= 1 << (bit & 7);
  return out;
}

function leToInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

function intToLe(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

t.test('RFC 9381 B.3 / B.4 vectors: pk, proof, beta, verify', async (t) => {
  for (const v of VECTORS) {
    const sk = hexToBytes(v.sk);
    const alpha = hexToBytes(v.alpha);
    const name = `Example ${v.example}`;
    t.equal(bytesToHex(publicKeyFromSecret(sk)), v.pk, `${name}: pk from sk`);
    const pi = prove(sk, alpha, v.suite);
    t.equal(pi.length, VRF_PROOF_LENGTH, `${name}: 80-byte proof`);
    t.equal(bytesToHex(pi), v.pi, `${name}: proof`);
    t.equal(bytesToHex(proofToHash(pi, v.suite)), v.beta, `${name}: proof_to_hash`);
    const result = verify(hexToBytes(v.pk), hexToBytes(v.pi), alpha, v.suite);
    t.ok(result.valid, `${name}: verify`);
    if (result.valid) t.equal(bytesToHex(result.beta), v.beta, `${name}: beta from verify`);
    t.same(validateKey(hexToBytes(v.pk)), { valid: true }, `${name}: pk passes validate_key`);
  }
});

t.test('a proof with any one bit flipped is rejected (all 640 bits, both suites)', async (t) => {
  for (const v of VECTORS.filter((x) => x.example === 17 || x.example === 20)) {
    const pk = hexToBytes(v.pk);
    const alpha = hexToBytes(v.alpha);
    const pi = hexToBytes(v.pi);
    const accepted: number[] = [];
    const reasons = new Map<string, number>();
    for (let bit = 0; bit < VRF_PROOF_LENGTH * 8; bit++) {
      const r = verify(pk, flipBit(pi, bit), alpha, v.suite);
      if (r.valid) accepted.push(bit);
      else reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
    }
    t.same(accepted, [], `Example ${v.example}: no flipped proof verifies`);
    t.ok((reasons.get('challenge-mismatch') ?? 0) > 0, `Example ${v.example}: most fail the challenge`);
  }
});

t.test('wrong alpha, wrong pk, wrong suite fail', async (t) => {
  for (const v of VECTORS) {
    const pk = hexToBytes(v.pk);
    const pi = hexToBytes(v.pi);
    const alpha = hexToBytes(v.alpha);
    t.same(
      verify(pk, pi, Uint8Array.of(...alpha, 0x00), v.suite),
      { valid: false, reason: 'challenge-mismatch' },
      `Example ${v.example}: alpha with an extra byte`,
    );
    const other = VECTORS.find((x) => x.pk !== v.pk);
    if (other === undefined) throw new Error('need two keys');
    t.same(
      verify(hexToBytes(other.pk), pi, alpha, v.suite),
      { valid: false, reason: 'challenge-mismatch' },
      `Example ${v.example}: another valid pk`,
    );
    const otherSuite = v.suite === VRF_SUITE_TAI ? VRF_SUITE_ELL2 : VRF_SUITE_TAI;
    t.notOk(verify(pk, pi, alpha, otherSuite).valid, `Example ${v.example}: other suite`);
  }
});

t.test('torsion list is exactly the 8 small-order points', async (t) => {
  const P = ed25519.Point;
  const decoded = TORSION_ENCODINGS.map((h) => P.fromBytes(hexToBytes(h), false));
  for (const [i, p] of decoded.entries()) {
    t.ok(p.multiplyUnsafe(8n).is0(), `${TORSION_ENCODINGS[i]} has order dividing 8`);
    t.equal(bytesToHex(p.toBytes()), TORSION_ENCODINGS[i], 'canonical encoding');
  }
  t.equal(new Set(TORSION_ENCODINGS).size, 8, '8 distinct points');
  // E[8] is cyclic of order 8: the multiples of any order-8 element are exactly the list.
  const gen = decoded[4];
  const multiples = new Set<string>();
  let acc = P.ZERO;
  for (let i = 0; i < 8; i++) {
    multiples.add(bytesToHex(acc.toBytes()));
    acc = acc.add(gen);
  }
  t.same([...multiples].sort(), [...TORSION_ENCODINGS].sort(), 'list = <order-8 generator>');
});

t.test('small-order, non-canonical and off-curve keys are rejected', async (t) => {
  const v = VECTORS[0];
  const pi = hexToBytes(v.pi);
  for (const hex of TORSION_ENCODINGS) {
    const pk = hexToBytes(hex);
    t.same(validateKey(pk), { valid: false, reason: 'public-key-small-order' }, `validateKey ${hex}`);
    for (const suite of SUITES) {
      t.same(
        verify(pk, pi, new Uint8Array(0), suite),
        { valid: false, reason: 'public-key-small-order' },
        `verify rejects ${hex.slice(0, 8)} (suite ${suite})`,
      );
    }
  }
  // Non-canonical encodings (RFC 8032 5.1.3: y >= p fails; x = 0 with sign bit set fails).
  const nonCanonical = [
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1 (identity)
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p (≡ 0)
    '0100000000000000000000000000000000000000000000000000000000000080', // identity, sign bit 1
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // (0,-1), sign bit 1
  ];
  for (const hex of nonCanonical) {
    t.same(
      validateKey(hexToBytes(hex)),
      { valid: false, reason: 'public-key-not-on-curve' },
      `non-canonical ${hex}`,
    );
    t.notOk(verify(hexToBytes(hex), pi, new Uint8Array(0), VRF_SUITE_TAI).valid, `verify ${hex}`);
  }
  // A y with no x on the curve: the first such small y.
  let offCurve: Uint8Array | undefined;
  for (let y = 2; offCurve === undefined; y++) {
    const enc = intToLe(BigInt(y), 32);
    try {
      ed25519.Point.fromBytes(enc, false);
    } catch {
      offCurve = enc;
    }
  }
  t.same(validateKey(offCurve), { valid: false, reason: 'public-key-not-on-curve' }, 'off-curve y');
  t.same(validateKey(new Uint8Array(31)), { valid: false, reason: 'bad-public-key-length' });
  t.same(validateKey(new Uint8Array(33)), { valid: false, reason: 'bad-public-key-length' });
  // A key with a prime-order part plus a torsion component is accepted, as RFC 9381 5.4.5 says.
  const mixed = ed25519.Point.fromBytes(hexToBytes(v.pk)).add(
    ed25519.Point.fromBytes(hexToBytes(TORSION_ENCODINGS[4])),
  );
  t.same(validateKey(mixed.toBytes()), { valid: true }, 'mixed-order key passes validate_key');
});

t.test('non-canonical s (s + q) and malformed proofs are rejected', async (t) => {
  for (const v of VECTORS) {
    const pk = hexToBytes(v.pk);
    const alpha = hexToBytes(v.alpha);
    const pi = hexToBytes(v.pi);
    const s = leToInt(pi.subarray(48, 80));
    t.ok(s < Q, 'vector s is canonical');
    const bad = Uint8Array.from(pi);
    bad.set(intToLe(s + Q, 32), 48); // s + q < 2^254 fits; same residue mod q
    t.same(verify(pk, bad, alpha, v.suite), { valid: false, reason: 's-not-canonical' }, `Example ${v.example}`);
    t.throws(() => proofToHash(bad, v.suite), RandomnessError);
    const allOnes = Uint8Array.from(pi);
    allOnes.fill(0xff, 48, 80);
    t.same(verify(pk, allOnes, alpha, v.suite), { valid: false, reason: 's-not-canonical' });
  }
  const v = VECTORS[0];
  const pk = hexToBytes(v.pk);
  const pi = hexToBytes(v.pi);
  t.same(verify(pk, pi.subarray(0, 79), new Uint8Array(0), v.suite), {
    valid: false,
    reason: 'bad-proof-length',
  });
  t.same(verify(pk, Uint8Array.of(...pi, 0), new Uint8Array(0), v.suite), {
    valid: false,
    reason: 'bad-proof-length',
  });
  const badGamma = Uint8Array.from(pi);
  badGamma.set(hexToBytes('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'), 0);
  t.same(verify(pk, badGamma, new Uint8Array(0), v.suite), { valid: false, reason: 'gamma-not-on-curve' });
});

t.test('round trip on fresh keys, both suites; inputs checked', async (t) => {
  for (let i = 0; i < 4; i++) {
    const { secretKey, publicKey } = generateKeyPair();
    const alpha = Uint8Array.of(i, 1, 2, 3);
    for (const suite of SUITES) {
      const pi = prove(secretKey, alpha, suite);
      const r = verify(publicKey, pi, alpha, suite);
      t.ok(r.valid, `fresh key ${i} suite ${suite}`);
      if (r.valid) t.same(r.beta, proofToHash(pi, suite), 'beta = proof_to_hash(pi)');
      t.same(prove(secretKey, alpha, suite), pi, 'prove is deterministic');
    }
  }
  t.throws(() => prove(new Uint8Array(31), new Uint8Array(0), VRF_SUITE_TAI), RandomnessError);
  t.throws(() => prove(new Uint8Array(32), new Uint8Array(0), 0x05 as VrfSuite), RandomnessError);
  t.throws(
    () => verify(new Uint8Array(32), new Uint8Array(80), new Uint8Array(0), 0x01 as VrfSuite),
    RandomnessError,
  );
});

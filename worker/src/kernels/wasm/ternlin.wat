;; ternlin (SPEC §4.2) in WebAssembly 128-bit SIMD (no relaxed SIMD: every instruction here has
;; one defined result on every machine). Driven by ternlin.ts, which lays the operands out in
;; linear memory; assembled into ternlin.wasm by build.ts (the test re-assembles and compares).
;;
;; Core: out[r,n] = Σ_k X[r,k]·W[n,k], exact in i32, with i32x4.dot_i16x8_s (8 i16 products,
;; summed in pairs into 4 i32 lanes).
;;
;; Row pairing. The weights are ternary, so two weight rows n = 2p, 2p+1 travel in one i16:
;;   P[p,k] = W[2p,k] + 2^14·W[2p+1,k]        (|P| ≤ 16385, an i16)
;; and one dot product gives Σ X·W[2p] + 2^14·Σ X·W[2p+1] in each lane. Each lane of a chunk
;; accumulator sees 64 values of k per chunk (32 iterations, 2 per iteration); with |X| ≤ 127
;; (SPEC: x8 ∈ [−127, 127]) the low part A1 = Σ X·W[2p] over those 64 values has
;; |A1| ≤ 127·64 = 8128 < 2^13 (an x8 of −128 is still exact with chunks of 31: 128·62 = 7936), so
;;   acc = A1 + 2^14·A2,  A2 = (acc + 2^13) >> 14 (arithmetic),  A1 = acc − (A2 << 14)
;; splits it exactly (|acc| < 2^27: no overflow). The split parts are added into per-lane long
;; accumulators (|Σ| ≤ 127·K: exact i32), kept in a 256-byte scratch at address 0. Twice the
;; multiply-adds per instruction of the plain i16 path.
;;
;; Layouts (bytes; all multiples of 16):
;;   X: [rows/4][kp/8][4 rows][8 k] i16 — 4 rows (tokens) side by side per step of 8 k
;;   P: [pairs/2][kp/8][2 pairs][8 k] i16
;;   out: [rows][ostride] i32, row-major
;; Blocking: 4 rows × 2 pairs (= 4 output columns): 8 chunk accumulators + 2 weight vectors +
;; 1 activation vector live in registers.
(module
  (memory (export "memory") 1)

  ;; src: i8 [rows][kp] row-major → dst: X layout (i16). rows % 4 = 0, kp % 8 = 0.
  ;; Returns 1 if some value is −128 (then mm needs chunk 31), else 0.
  (func (export "prepx") (param $src i32) (param $dst i32) (param $rows i32) (param $kp i32) (result i32)
    (local $tb i32) (local $kb i32) (local $s i32) (local $nk i32) (local $v v128) (local $m128 v128)
    (local.set $nk (i32.shr_u (local.get $kp) (i32.const 3)))
    (block $done
      (br_if $done (i32.eqz (local.get $rows)))
      (br_if $done (i32.eqz (local.get $nk)))
      (loop $rowblock
        (local.set $s (local.get $src))
        (local.set $kb (local.get $nk))
        (loop $kblock
          (local.set $v (v128.load8x8_s (local.get $s)))
          (local.set $m128 (v128.or (local.get $m128) (i16x8.eq (local.get $v) (v128.const i16x8 -128 -128 -128 -128 -128 -128 -128 -128))))
          (v128.store offset=0 (local.get $dst) (local.get $v))
          (local.set $v (v128.load8x8_s (i32.add (local.get $s) (local.get $kp))))
          (local.set $m128 (v128.or (local.get $m128) (i16x8.eq (local.get $v) (v128.const i16x8 -128 -128 -128 -128 -128 -128 -128 -128))))
          (v128.store offset=16 (local.get $dst) (local.get $v))
          (local.set $v (v128.load8x8_s (i32.add (local.get $s) (i32.shl (local.get $kp) (i32.const 1)))))
          (local.set $m128 (v128.or (local.get $m128) (i16x8.eq (local.get $v) (v128.const i16x8 -128 -128 -128 -128 -128 -128 -128 -128))))
          (v128.store offset=32 (local.get $dst) (local.get $v))
          (local.set $v (v128.load8x8_s (i32.add (local.get $s) (i32.mul (local.get $kp) (i32.const 3)))))
          (local.set $m128 (v128.or (local.get $m128) (i16x8.eq (local.get $v) (v128.const i16x8 -128 -128 -128 -128 -128 -128 -128 -128))))
          (v128.store offset=48 (local.get $dst) (local.get $v))
          (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
          (local.set $s (i32.add (local.get $s) (i32.const 8)))
          (local.set $kb (i32.sub (local.get $kb) (i32.const 1)))
          (br_if $kblock (local.get $kb)))
        (local.set $src (i32.add (local.get $src) (i32.shl (local.get $kp) (i32.const 2))))
        (local.set $tb (i32.add (local.get $tb) (i32.const 4)))
        (br_if $rowblock (i32.lt_u (local.get $tb) (local.get $rows)))))
    (v128.any_true (local.get $m128)))

  ;; out[r, n] = Σ_k X[r,k]·W[n,k] for r < rows, n < 2·pairs (X, P layouts above).
  ;; rows % 4 = 0, pairs % 2 = 0, kp % 8 = 0; chunk = 32 if |X| ≤ 127, 31 if X may be −128.
  ;; Output rows are `ostride` i32s apart (≥ 2·pairs: the caller may run column groups).
  (func (export "mm") (param $x i32) (param $p i32) (param $out i32) (param $rows i32) (param $pairs i32) (param $kp i32)
    (param $chunk i32) (param $ostride i32)
    (local $tb i32) (local $pb i32) (local $xb i32) (local $pbase i32) (local $xp i32) (local $wp i32)
    (local $nk i32) (local $left i32) (local $it i32) (local $np i32) (local $o i32)
    (local $w0 v128) (local $w1 v128) (local $xv v128)
    (local $a00 v128) (local $a01 v128) (local $a10 v128) (local $a11 v128)
    (local $a20 v128) (local $a21 v128) (local $a30 v128) (local $a31 v128)
    (local.set $nk (i32.shr_u (local.get $kp) (i32.const 3)))
    (local.set $np (local.get $ostride))
    (block $done
      (br_if $done (i32.eqz (local.get $rows)))
      (br_if $done (i32.eqz (local.get $pairs)))
      (br_if $done (i32.eqz (local.get $nk)))
      (local.set $xb (local.get $x))
      (loop $rowblock
        (local.set $pb (i32.const 0))
        (local.set $pbase (local.get $p))
        (loop $pairblock
          ;; zero the 16 long accumulators: slot (j·4 + q·2 + h)·16, j token, q pair, h half
          (v128.store offset=0 (i32.const 0) (v128.const i64x2 0 0))
          (v128.store offset=16 (i32.const 0) (v128.const i64x2 0 0))
          (v128.store offset=32 (i32.const 0) (v128.const i64x2 0 0))
          (v128.store offset=48 (i32.const 0) (v128.const i64x2 0 0))
          (v128.store offset=64 (i32.const 0) (v128.const i64x2 0 0))
          (v128.store offset=80 (i32.const 0) (v128.const i64x2 0 0))
          (v128.store offset=96 (i32.const 0) (v128.const i64x2 0 0))
          (v128.store offset=112 (i32.const 0) (v128.const i64x2 0 0))
          (v128.store offset=128 (i32.const 0) (v128.const i64x2 0 0))
          (v128.store offset=144 (i32.const 0) (v128.const i64x2 0 0))
          (v128.store offset=160 (i32.const 0) (v128.const i64x2 0 0))
          (v128.store offset=176 (i32.const 0) (v128.const i64x2 0 0))
          (v128.store offset=192 (i32.const 0) (v128.const i64x2 0 0))
          (v128.store offset=208 (i32.const 0) (v128.const i64x2 0 0))
          (v128.store offset=224 (i32.const 0) (v128.const i64x2 0 0))
          (v128.store offset=240 (i32.const 0) (v128.const i64x2 0 0))
          (local.set $xp (local.get $xb))
          (local.set $wp (local.get $pbase))
          (local.set $left (local.get $nk))
          (loop $chunks
            (local.set $it (select (local.get $chunk) (local.get $left) (i32.gt_u (local.get $left) (local.get $chunk))))
            (local.set $left (i32.sub (local.get $left) (local.get $it)))
            (local.set $a00 (v128.const i64x2 0 0)) (local.set $a01 (v128.const i64x2 0 0))
            (local.set $a10 (v128.const i64x2 0 0)) (local.set $a11 (v128.const i64x2 0 0))
            (local.set $a20 (v128.const i64x2 0 0)) (local.set $a21 (v128.const i64x2 0 0))
            (local.set $a30 (v128.const i64x2 0 0)) (local.set $a31 (v128.const i64x2 0 0))
            (loop $inner
              (local.set $w0 (v128.load offset=0 (local.get $wp)))
              (local.set $w1 (v128.load offset=16 (local.get $wp)))
              (local.set $xv (v128.load offset=0 (local.get $xp)))
              (local.set $a00 (i32x4.add (local.get $a00) (i32x4.dot_i16x8_s (local.get $xv) (local.get $w0))))
              (local.set $a01 (i32x4.add (local.get $a01) (i32x4.dot_i16x8_s (local.get $xv) (local.get $w1))))
              (local.set $xv (v128.load offset=16 (local.get $xp)))
              (local.set $a10 (i32x4.add (local.get $a10) (i32x4.dot_i16x8_s (local.get $xv) (local.get $w0))))
              (local.set $a11 (i32x4.add (local.get $a11) (i32x4.dot_i16x8_s (local.get $xv) (local.get $w1))))
              (local.set $xv (v128.load offset=32 (local.get $xp)))
              (local.set $a20 (i32x4.add (local.get $a20) (i32x4.dot_i16x8_s (local.get $xv) (local.get $w0))))
              (local.set $a21 (i32x4.add (local.get $a21) (i32x4.dot_i16x8_s (local.get $xv) (local.get $w1))))
              (local.set $xv (v128.load offset=48 (local.get $xp)))
              (local.set $a30 (i32x4.add (local.get $a30) (i32x4.dot_i16x8_s (local.get $xv) (local.get $w0))))
              (local.set $a31 (i32x4.add (local.get $a31) (i32x4.dot_i16x8_s (local.get $xv) (local.get $w1))))
              (local.set $xp (i32.add (local.get $xp) (i32.const 64)))
              (local.set $wp (i32.add (local.get $wp) (i32.const 32)))
              (local.set $it (i32.sub (local.get $it) (i32.const 1)))
              (br_if $inner (local.get $it)))
            (call $split (i32.const 0) (local.get $a00))
            (call $split (i32.const 32) (local.get $a01))
            (call $split (i32.const 64) (local.get $a10))
            (call $split (i32.const 96) (local.get $a11))
            (call $split (i32.const 128) (local.get $a20))
            (call $split (i32.const 160) (local.get $a21))
            (call $split (i32.const 192) (local.get $a30))
            (call $split (i32.const 224) (local.get $a31))
            (br_if $chunks (local.get $left)))
          ;; out[tb + j, 4·pb .. 4·pb + 3] = lane sums of slots j·4 .. j·4 + 3
          (local.set $o (i32.add (local.get $out)
            (i32.shl (i32.add (i32.mul (local.get $tb) (local.get $np)) (i32.shl (local.get $pb) (i32.const 1))) (i32.const 2))))
          (v128.store (local.get $o) (call $hsum4 (i32.const 0)))
          (local.set $o (i32.add (local.get $o) (i32.shl (local.get $np) (i32.const 2))))
          (v128.store (local.get $o) (call $hsum4 (i32.const 64)))
          (local.set $o (i32.add (local.get $o) (i32.shl (local.get $np) (i32.const 2))))
          (v128.store (local.get $o) (call $hsum4 (i32.const 128)))
          (local.set $o (i32.add (local.get $o) (i32.shl (local.get $np) (i32.const 2))))
          (v128.store (local.get $o) (call $hsum4 (i32.const 192)))
          (local.set $pbase (i32.add (local.get $pbase) (i32.shl (local.get $kp) (i32.const 2))))
          (local.set $pb (i32.add (local.get $pb) (i32.const 2)))
          (br_if $pairblock (i32.lt_u (local.get $pb) (local.get $pairs))))
        (local.set $xb (i32.add (local.get $xb) (i32.shl (local.get $kp) (i32.const 3))))
        (local.set $tb (i32.add (local.get $tb) (i32.const 4)))
        (br_if $rowblock (i32.lt_u (local.get $tb) (local.get $rows))))))

  ;; slot pair at a: [a] += A1 (low row), [a+16] += A2 (high row) of acc = A1 + 2^14·A2.
  (func $split (param $a i32) (param $acc v128)
    (local $hi v128)
    (local.set $hi (i32x4.shr_s (i32x4.add (local.get $acc) (v128.const i32x4 8192 8192 8192 8192)) (i32.const 14)))
    (v128.store offset=0 (local.get $a) (i32x4.add (v128.load offset=0 (local.get $a))
      (i32x4.sub (local.get $acc) (i32x4.shl (local.get $hi) (i32.const 14)))))
    (v128.store offset=16 (local.get $a) (i32x4.add (v128.load offset=16 (local.get $a)) (local.get $hi))))

  ;; [Σ lanes of a, of b, of c, of d] for the four vectors at addr, addr+16, +32, +48.
  (func $hsum4 (param $addr i32) (result v128)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128) (local $s1 v128) (local $s2 v128)
    (local.set $a (v128.load offset=0 (local.get $addr)))
    (local.set $b (v128.load offset=16 (local.get $addr)))
    (local.set $c (v128.load offset=32 (local.get $addr)))
    (local.set $d (v128.load offset=48 (local.get $addr)))
    (local.set $s1 (i32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $a) (local.get $b))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $a) (local.get $b))))
    (local.set $s2 (i32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $c) (local.get $d))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $c) (local.get $d))))
    (i32x4.add
      (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $s1) (local.get $s2))
      (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $s1) (local.get $s2))))

  ;; mulShr(a, c, s) = sat32(round-half-away(a·c / 2^s)) (SPEC §2), in the same f64 operations
  ;; as cpu/int.ts `narrow` (product, + 2^(s−1), × 2^−s, floor; all exact while |a·c| < 2^52,
  ;; and IEEE-defined beyond), so the integers agree with the JS kernel on every input.
  ;; h = 2^(s−1), inv = 2^−s (h = 0, inv = 1 for s = 0).
  (func $mulshr (param $a i32) (param $c i32) (param $h f64) (param $inv f64) (result i32)
    (local $x f64) (local $q f64)
    (local.set $x (f64.mul (f64.convert_i32_s (local.get $a)) (f64.convert_i32_s (local.get $c))))
    (local.set $q (f64.min (f64.floor (f64.mul (f64.add (f64.abs (local.get $x)) (local.get $h)) (local.get $inv)))
      (f64.const 2147483647)))
    (if (result i32) (f64.lt (local.get $x) (f64.const 0))
      (then (i32.sub (i32.const 0) (i32.trunc_f64_s (local.get $q))))
      (else (i32.trunc_f64_s (local.get $q)))))

  ;; y[t, n] = mulShr(acc[t, n], c[t], s) for t < T, n < N; acc rows have `stride` i32s.
  ;; Four at a time in f64x2 halves (the same operations as $mulshr), then a scalar tail.
  (func (export "dequant") (param $acc i32) (param $stride i32) (param $c i32) (param $y i32)
    (param $T i32) (param $N i32) (param $h f64) (param $inv f64)
    (local $t i32) (local $n i32) (local $ct i32) (local $row i32) (local $n4 i32)
    (local $cv v128) (local $hv v128) (local $iv v128) (local $a v128) (local $x v128) (local $q v128)
    (local $lo v128)
    (local.set $hv (f64x2.splat (local.get $h)))
    (local.set $iv (f64x2.splat (local.get $inv)))
    (local.set $n4 (i32.and (local.get $N) (i32.const -4)))
    (block $done
      (br_if $done (i32.eqz (local.get $T)))
      (br_if $done (i32.eqz (local.get $N)))
      (loop $tl
        (local.set $ct (i32.load (i32.add (local.get $c) (i32.shl (local.get $t) (i32.const 2)))))
        (local.set $cv (f64x2.convert_low_i32x4_s (i32x4.splat (local.get $ct))))
        (local.set $row (i32.add (local.get $acc) (i32.shl (i32.mul (local.get $t) (local.get $stride)) (i32.const 2))))
        (local.set $n (i32.const 0))
        (block $vdone
          (br_if $vdone (i32.eqz (local.get $n4)))
          (loop $nl
            (local.set $a (v128.load (local.get $row)))
            ;; low two lanes
            (local.set $x (f64x2.mul (f64x2.convert_low_i32x4_s (local.get $a)) (local.get $cv)))
            (local.set $q (f64x2.min (f64x2.floor (f64x2.mul (f64x2.add (f64x2.abs (local.get $x)) (local.get $hv)) (local.get $iv)))
              (v128.const f64x2 2147483647 2147483647)))
            (local.set $lo (i32x4.trunc_sat_f64x2_s_zero
              (v128.or (local.get $q) (v128.and (local.get $x) (v128.const i64x2 0x8000000000000000 0x8000000000000000)))))
            ;; high two lanes
            (local.set $x (f64x2.mul (f64x2.convert_low_i32x4_s
              (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $a) (local.get $a))) (local.get $cv)))
            (local.set $q (f64x2.min (f64x2.floor (f64x2.mul (f64x2.add (f64x2.abs (local.get $x)) (local.get $hv)) (local.get $iv)))
              (v128.const f64x2 2147483647 2147483647)))
            (v128.store (local.get $y) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $lo)
              (i32x4.trunc_sat_f64x2_s_zero
                (v128.or (local.get $q) (v128.and (local.get $x) (v128.const i64x2 0x8000000000000000 0x8000000000000000))))))
            (local.set $row (i32.add (local.get $row) (i32.const 16)))
            (local.set $y (i32.add (local.get $y) (i32.const 16)))
            (local.set $n (i32.add (local.get $n) (i32.const 4)))
            (br_if $nl (i32.lt_u (local.get $n) (local.get $n4)))))
        (block $sdone
          (br_if $sdone (i32.ge_u (local.get $n) (local.get $N)))
          (loop $sl
            (i32.store (local.get $y) (call $mulshr (i32.load (local.get $row)) (local.get $ct) (local.get $h) (local.get $inv)))
            (local.set $row (i32.add (local.get $row) (i32.const 4)))
            (local.set $y (i32.add (local.get $y) (i32.const 4)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (br_if $sl (i32.lt_u (local.get $n) (local.get $N)))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br_if $tl (i32.lt_u (local.get $t) (local.get $T))))))

  ;; Backward input: dy i32 [T][N] (|dy| ≤ 2^20 − 1) → three i8 digit rows per token in dst
  ;; [3·tp][np]: dy = d0 + 2^7·d1 + 2^14·d2, d0, d1 ∈ [−64, 63], d2 ∈ [−64, 64]. Digit row
  ;; i of token t is row i·tp + t. Padding in dst must already be zero.
  ;; Returns 1 if some |dy| > 2^20 − 1 (the caller throws), else 0.
  (func (export "splitdy") (param $src i32) (param $dst i32) (param $T i32) (param $N i32) (param $tp i32) (param $np i32)
    (result i32)
    (local $t i32) (local $n i32) (local $v i32) (local $d i32) (local $o i32) (local $plane i32) (local $bad i32)
    (local.set $plane (i32.mul (local.get $tp) (local.get $np)))
    (block $done
      (br_if $done (i32.eqz (local.get $T)))
      (br_if $done (i32.eqz (local.get $N)))
      (loop $tl
        (local.set $o (i32.add (local.get $dst) (i32.mul (local.get $t) (local.get $np))))
        (local.set $n (i32.const 0))
        (loop $nl
          (local.set $v (i32.load (local.get $src)))
          ;; |v| > 2^20 − 1  ⇔  v + 2^20 − 1 ∉ [0, 2^21 − 2] (unsigned)
          (local.set $bad (i32.or (local.get $bad)
            (i32.gt_u (i32.add (local.get $v) (i32.const 1048575)) (i32.const 2097150))))
          (local.set $d (i32.sub (i32.and (i32.add (local.get $v) (i32.const 64)) (i32.const 127)) (i32.const 64)))
          (i32.store8 (local.get $o) (local.get $d))
          (local.set $v (i32.shr_s (i32.sub (local.get $v) (local.get $d)) (i32.const 7)))
          (local.set $d (i32.sub (i32.and (i32.add (local.get $v) (i32.const 64)) (i32.const 127)) (i32.const 64)))
          (i32.store8 (i32.add (local.get $o) (local.get $plane)) (local.get $d))
          (local.set $v (i32.shr_s (i32.sub (local.get $v) (local.get $d)) (i32.const 7)))
          (i32.store8 (i32.add (local.get $o) (i32.shl (local.get $plane) (i32.const 1))) (local.get $v))
          (local.set $src (i32.add (local.get $src) (i32.const 4)))
          (local.set $o (i32.add (local.get $o) (i32.const 1)))
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (br_if $nl (i32.lt_u (local.get $n) (local.get $N))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br_if $tl (i32.lt_u (local.get $t) (local.get $T)))))
    (local.get $bad))

  ;; Backward join, in place: R[t] ← R[t] + 2^7·R[tp + t] + 2^14·R[2tp + t] for t < tp (whole
  ;; rows of `stride` i32s, stride % 4 = 0). i32 wrapping arithmetic: the true sum is an i32
  ;; by SPEC §4.2, so the wrap is exact. dequant(R, stride, γ…, dx, T, K, 2^15, 2^−16) follows.
  (func (export "joindx") (param $r i32) (param $stride i32) (param $tp i32)
    (local $plane i32) (local $end i32)
    (local.set $plane (i32.shl (i32.mul (local.get $tp) (local.get $stride)) (i32.const 2)))
    (local.set $end (i32.add (local.get $r) (local.get $plane)))
    (block $done
      (br_if $done (i32.eqz (local.get $plane)))
      (loop $l
        (v128.store (local.get $r) (i32x4.add (v128.load (local.get $r))
          (i32x4.add (i32x4.shl (v128.load (i32.add (local.get $r) (local.get $plane))) (i32.const 7))
            (i32x4.shl (v128.load (i32.add (local.get $r) (i32.shl (local.get $plane) (i32.const 1)))) (i32.const 14)))))
        (local.set $r (i32.add (local.get $r) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $r) (local.get $end))))))
)

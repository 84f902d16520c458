;; Single-precision GEMM for the engine: C[m, n] (+)= A[m, k] · B[k, n] (or · B[n, k]ᵀ), row-major.
;;
;; Hand-written; `npm run build:wasm` assembles it (scripts/wasm/assemble.ts, with the `wabt` package,
;; version pinned) into src/engine/wasm/gemmWasm.ts, twice:
;;   - relaxed: as written, every `f32x4.relaxed_madd a b c` (a·b + c) stays a fused multiply-add;
;;   - simd:    each `(f32x4.relaxed_madd a b c)` is rewritten to `(f32x4.add c (f32x4.mul a b))`,
;;              plain SIMD128 that every engine with SIMD validates (Node 20 has no relaxed SIMD).
;; Write every relaxed_madd in that folded form, with three parenthesised operands.
;;
;; Blocking (GotoBLAS-style, simplified):
;;   for each block of KC rows of B (the k axis):
;;     pack B[pc:pc+kc, :] into column panels of NR, each kc × NR contiguous (zero-padded on the right);
;;     for each block of MC rows of A:
;;       pack A[ic:ic+mc, pc:pc+kc] into row panels of MR, each kc × MR contiguous (zero-padded below);
;;       for each B panel (stays in L1), for each A panel (streams from L2):
;;         the micro-kernel keeps an MR × NR tile of C in 10 SIMD registers (5 rows × 2 f32x4) and
;;         runs kc steps of  tile += broadcast(A column) × B row.
;; 5 × 8 was the fastest tile measured under V8 on x64 (16 xmm registers): with plain SIMD it needs
;; 10 accumulators + 2 B vectors + 1 broadcast + 1 product temporary, so nothing spills (Node 20,
;; 512×768×768: 5 × 8 ≈ 45 GFLOP/s, 4 × 8 ≈ 41, while 6 × 8, 4 × 12 and 4 × 16 spill: 26-35).
;; The code spells the tile out in literals: 20 = MR·4 and 32 = NR·4 bytes, 5, 8, 256 and 160; change
;; them together with the globals below.
;; Padding lanes multiply zeros into lanes that are never stored, so NaN/Inf in real entries
;; propagate exactly as in plain float math, and padding can never leak into C.
;;
;; The caller (src/engine/wasm/gemmRuntime.ts) lays out memory: the edge-tile scratch (160 bytes at the
;; exported global "scratch"; it reserves 1 KiB), then the packed A block (MC·KC floats), the packed B block (KC·ceil(n/NR)·NR floats), A,
;; B and C. It reads MR, NR, KC and MC from the exported globals below.
(module
  ;; The caller provides the memory. This line is the private build's; scripts/wasm/assemble.ts makes the
  ;; shared build (WebAssembly threads: one memory for the engine thread and its helper threads) by
  ;; adding `shared` to it. The maximum is gemmRuntime.ts's MAX_BYTES in 64 KiB pages.
  (import "env" "memory" (memory 1 16384))

  (global (export "MR") i32 (i32.const 5))
  (global (export "NR") i32 (i32.const 8))
  (global (export "KC") i32 (i32.const 256))
  (global (export "MC") i32 (i32.const 160))

  ;; Edge tiles are written here first (MR × NR floats), then added into C element by element. Each
  ;; instance (one per thread) sets its own before its first call, so threads never share it.
  (global $scratch (export "scratch") (mut i32) (i32.const 0))

  ;; flags for $gemm
  ;;   bit 0: B is [n, k] (compute A·Bᵀ) instead of [k, n]
  ;;   bit 1: accumulate (C += A·B); otherwise overwrite (C = A·B; C is never read)
  ;;   bit 2: lower only: tiles whose every column j is greater than every row row0 + i are skipped
  ;;          (left as they were); used for causal attention scores, whose masked half is discarded.
  ;;          row0 is the row of the whole product that A's first row is, when a thread computes a
  ;;          block of rows [row0, row0 + m) of it.
  ;;   bit 3: B is packed already, by packBAll at pb (threads share one packed B): b is not read

  ;; The micro-kernel: an MR × NR tile of C from kc steps over packed panels ap (kc × MR) and
  ;; bp (kc × NR). c points at C[i0, j0], ldc is C's row pitch in bytes; mr ≤ MR and nr ≤ NR are the
  ;; rows and columns of the tile that exist. add = 1: C += tile; add = 0: C = tile.
  (func $kernel (param $ap i32) (param $bp i32) (param $kc i32) (param $c i32) (param $ldc i32)
                (param $mr i32) (param $nr i32) (param $add i32)
    (local $end i32) (local $a v128) (local $b0 v128) (local $b1 v128)
    (local $c0a v128) (local $c0b v128) (local $c1a v128) (local $c1b v128) (local $c2a v128)
    (local $c2b v128) (local $c3a v128) (local $c3b v128) (local $c4a v128) (local $c4b v128)
    (local $i i32) (local $j i32) (local $row i32) (local $src i32)
    (local.set $end (i32.add (local.get $ap) (i32.mul (local.get $kc) (i32.const 20))))
    ;; kc ≥ 1 always, so this test is redundant, but keep it: without it V8 (TurboFan, Node 20)
    ;; schedules the five broadcasts ahead of the multiplies, runs out of xmm registers and spills
    ;; accumulators inside the loop, at half the speed (measured: ~22 vs ~45 GFLOP/s).
    (if (i32.lt_u (local.get $ap) (local.get $end)) (then
    (loop $steps
      (local.set $b0 (v128.load (local.get $bp)))
      (local.set $b1 (v128.load offset=16 (local.get $bp)))
      (local.set $a (v128.load32_splat (local.get $ap)))
      (local.set $c0a (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c0a)))
      (local.set $c0b (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c0b)))
      (local.set $a (v128.load32_splat offset=4 (local.get $ap)))
      (local.set $c1a (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c1a)))
      (local.set $c1b (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c1b)))
      (local.set $a (v128.load32_splat offset=8 (local.get $ap)))
      (local.set $c2a (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c2a)))
      (local.set $c2b (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c2b)))
      (local.set $a (v128.load32_splat offset=12 (local.get $ap)))
      (local.set $c3a (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c3a)))
      (local.set $c3b (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c3b)))
      (local.set $a (v128.load32_splat offset=16 (local.get $ap)))
      (local.set $c4a (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c4a)))
      (local.set $c4b (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c4b)))
      (local.set $ap (i32.add (local.get $ap) (i32.const 20)))
      (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
      (br_if $steps (i32.lt_u (local.get $ap) (local.get $end))))))

    (if (i32.and (i32.eq (local.get $mr) (i32.const 5)) (i32.eq (local.get $nr) (i32.const 8)))
      (then
        ;; A whole tile: straight into C, one row (two vectors) at a time.
        (if (local.get $add)
          (then
            (local.set $c0a (f32x4.add (v128.load (local.get $c)) (local.get $c0a)))
            (local.set $c0b (f32x4.add (v128.load offset=16 (local.get $c)) (local.get $c0b)))
            (local.set $c1a (f32x4.add (v128.load (i32.add (local.get $c) (local.get $ldc))) (local.get $c1a)))
            (local.set $c1b (f32x4.add (v128.load offset=16 (i32.add (local.get $c) (local.get $ldc))) (local.get $c1b)))
            (local.set $row (i32.add (local.get $c) (i32.shl (local.get $ldc) (i32.const 1))))
            (local.set $c2a (f32x4.add (v128.load (local.get $row)) (local.get $c2a)))
            (local.set $c2b (f32x4.add (v128.load offset=16 (local.get $row)) (local.get $c2b)))
            (local.set $c3a (f32x4.add (v128.load (i32.add (local.get $row) (local.get $ldc))) (local.get $c3a)))
            (local.set $c3b (f32x4.add (v128.load offset=16 (i32.add (local.get $row) (local.get $ldc))) (local.get $c3b)))
            (local.set $row (i32.add (local.get $row) (i32.shl (local.get $ldc) (i32.const 1))))
            (local.set $c4a (f32x4.add (v128.load (local.get $row)) (local.get $c4a)))
            (local.set $c4b (f32x4.add (v128.load offset=16 (local.get $row)) (local.get $c4b)))))
        (v128.store (local.get $c) (local.get $c0a))
        (v128.store offset=16 (local.get $c) (local.get $c0b))
        (local.set $c (i32.add (local.get $c) (local.get $ldc)))
        (v128.store (local.get $c) (local.get $c1a))
        (v128.store offset=16 (local.get $c) (local.get $c1b))
        (local.set $c (i32.add (local.get $c) (local.get $ldc)))
        (v128.store (local.get $c) (local.get $c2a))
        (v128.store offset=16 (local.get $c) (local.get $c2b))
        (local.set $c (i32.add (local.get $c) (local.get $ldc)))
        (v128.store (local.get $c) (local.get $c3a))
        (v128.store offset=16 (local.get $c) (local.get $c3b))
        (local.set $c (i32.add (local.get $c) (local.get $ldc)))
        (v128.store (local.get $c) (local.get $c4a))
        (v128.store offset=16 (local.get $c) (local.get $c4b)))
      (else
        ;; An edge tile: spill to the scratch tile, then copy the mr × nr entries that exist.
        (v128.store offset=0 (global.get $scratch) (local.get $c0a))
        (v128.store offset=16 (global.get $scratch) (local.get $c0b))
        (v128.store offset=32 (global.get $scratch) (local.get $c1a))
        (v128.store offset=48 (global.get $scratch) (local.get $c1b))
        (v128.store offset=64 (global.get $scratch) (local.get $c2a))
        (v128.store offset=80 (global.get $scratch) (local.get $c2b))
        (v128.store offset=96 (global.get $scratch) (local.get $c3a))
        (v128.store offset=112 (global.get $scratch) (local.get $c3b))
        (v128.store offset=128 (global.get $scratch) (local.get $c4a))
        (v128.store offset=144 (global.get $scratch) (local.get $c4b))
        (local.set $src (global.get $scratch))
        (local.set $i (i32.const 0))
        (loop $rows
          (local.set $row (local.get $c))
          (local.set $j (i32.const 0))
          (loop $cols
            (f32.store (local.get $row)
              (if (result f32) (local.get $add)
                (then (f32.add (f32.load (local.get $row)) (f32.load (local.get $src))))
                (else (f32.load (local.get $src)))))
            (local.set $row (i32.add (local.get $row) (i32.const 4)))
            (local.set $src (i32.add (local.get $src) (i32.const 4)))
            (br_if $cols (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (local.get $nr))))
          ;; Skip the scratch row's unused columns: it is NR = 8 floats wide.
          (local.set $src (i32.add (local.get $src) (i32.shl (i32.sub (i32.const 8) (local.get $nr)) (i32.const 2))))
          (local.set $c (i32.add (local.get $c) (local.get $ldc)))
          (br_if $rows (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $mr)))))))

  ;; Packs rows pc … pc+kc-1 of B (all n columns) into panels of NR columns: panel q holds
  ;; B[pc+p, q·NR + c] at pb + 4·(q·kc·NR + p·NR + c), zeros where q·NR + c ≥ n.
  ;; bt = 1: B is stored as [n, k] (B[p, j] is at b + 4·(j·k + p)).
  (func $packB (param $b i32) (param $pb i32) (param $pc i32) (param $kc i32) (param $k i32)
               (param $n i32) (param $bt i32)
    (local $j0 i32) (local $w i32) (local $p i32) (local $c i32) (local $src i32) (local $dst i32)
    (local $pitch i32) (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128)
    (loop $panels
      (local.set $w (i32.sub (local.get $n) (local.get $j0)))
      (if (i32.gt_u (local.get $w) (i32.const 8)) (then (local.set $w (i32.const 8))))
      (if (i32.and (i32.eqz (local.get $bt)) (i32.eq (local.get $w) (i32.const 8)))
        (then
          ;; Whole panel of a [k, n] B: two vectors per row.
          (local.set $src (i32.add (local.get $b)
            (i32.shl (i32.add (i32.mul (local.get $pc) (local.get $n)) (local.get $j0)) (i32.const 2))))
          (local.set $pitch (i32.shl (local.get $n) (i32.const 2)))
          (local.set $p (i32.const 0))
          (loop $rows
            (v128.store (local.get $pb) (v128.load (local.get $src)))
            (v128.store offset=16 (local.get $pb) (v128.load offset=16 (local.get $src)))
            (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
            (local.set $src (i32.add (local.get $src) (local.get $pitch)))
            (br_if $rows (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc)))))
        (else
          (local.set $c (i32.const 0))
          (local.set $p (i32.const 0))
          (if (i32.and (local.get $bt) (i32.eq (local.get $w) (i32.const 8)))
            (then
              ;; Whole panel of an [n, k] B: its eight rows j0 … j0+7 become the panel's eight
              ;; columns. Four steps of k at a time, as two 4 × 4 blocks transposed in registers
              ;; (rows 0-3 → lanes 0-3 of the packed rows, rows 4-7 → lanes 4-7); the last kc mod 4
              ;; steps are left to the general loop below, which starts at p.
              (local.set $pitch (i32.shl (local.get $k) (i32.const 2)))
              (local.set $src (i32.add (local.get $b)
                (i32.shl (i32.add (i32.mul (local.get $j0) (local.get $k)) (local.get $pc)) (i32.const 2))))
              (local.set $dst (local.get $pb))
              (block $quadsDone
                (loop $quads
                  (br_if $quadsDone (i32.gt_u (i32.add (local.get $p) (i32.const 4)) (local.get $kc)))
                  (local.set $c (i32.const 0))
                  (loop $halves
                    ;; r_i = B row (j0 + c + i), k columns pc+p … pc+p+3
                    (local.set $r0 (v128.load (i32.add (local.get $src) (i32.mul (local.get $pitch) (local.get $c)))))
                    (local.set $r1 (v128.load (i32.add (local.get $src)
                      (i32.mul (local.get $pitch) (i32.add (local.get $c) (i32.const 1))))))
                    (local.set $r2 (v128.load (i32.add (local.get $src)
                      (i32.mul (local.get $pitch) (i32.add (local.get $c) (i32.const 2))))))
                    (local.set $r3 (v128.load (i32.add (local.get $src)
                      (i32.mul (local.get $pitch) (i32.add (local.get $c) (i32.const 3))))))
                    ;; t0 = [r0₀ r1₀ r0₁ r1₁], t1 = [r2₀ r3₀ r2₁ r3₁]; then the k steps p and p+1
                    (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
                    (local.set $t1 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
                    (v128.store offset=0 (local.get $dst)
                      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)))
                    (v128.store offset=32 (local.get $dst)
                      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1)))
                    ;; t0 = [r0₂ r1₂ r0₃ r1₃], t1 = [r2₂ r3₂ r2₃ r3₃]; the k steps p+2 and p+3
                    (local.set $t0 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
                    (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
                    (v128.store offset=64 (local.get $dst)
                      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)))
                    (v128.store offset=96 (local.get $dst)
                      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1)))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                    (br_if $halves (i32.lt_u (local.tee $c (i32.add (local.get $c) (i32.const 4))) (i32.const 8))))
                  ;; dst went 16 bytes × 2 across the lanes: on to packed row p + 4
                  (local.set $dst (i32.add (local.get $dst) (i32.const 96)))
                  (local.set $src (i32.add (local.get $src) (i32.const 16)))
                  (local.set $p (i32.add (local.get $p) (i32.const 4)))
                  (br $quads)))
              (local.set $c (i32.const 0))))
          ;; General case (transposed B's last kc mod 4 steps, or the last, narrower panel): column
          ;; by column from step p on, then zeros in the padding columns.
          (if (i32.lt_u (local.get $p) (local.get $kc))
            (then
              (if (local.get $bt)
                (then
                  (local.set $src (i32.add (local.get $b) (i32.shl
                    (i32.add (i32.add (i32.mul (local.get $j0) (local.get $k)) (local.get $pc)) (local.get $p))
                    (i32.const 2))))
                  (local.set $pitch (i32.const 4)))
                (else
                  (local.set $src (i32.add (local.get $b) (i32.shl
                    (i32.add (i32.mul (i32.add (local.get $pc) (local.get $p)) (local.get $n)) (local.get $j0))
                    (i32.const 2))))
                  (local.set $pitch (i32.shl (local.get $n) (i32.const 2)))))
              (loop $cols
                (local.set $dst (i32.add (i32.add (local.get $pb) (i32.shl (local.get $p) (i32.const 5)))
                                         (i32.shl (local.get $c) (i32.const 2))))
                (if (i32.lt_u (local.get $c) (local.get $w))
                  (then
                    ;; src walks down column j0 + c of B from step p.
                    (call $copyColumn (local.get $src) (local.get $pitch) (local.get $dst) (i32.sub (local.get $kc) (local.get $p)))
                    ;; Next column: one float along a [k, n] row, one row of k floats in [n, k].
                    (local.set $src (i32.add (local.get $src)
                      (select (i32.shl (local.get $k) (i32.const 2)) (i32.const 4) (local.get $bt)))))
                  (else
                    (call $zeroColumn (local.get $dst) (i32.sub (local.get $kc) (local.get $p)))))
                (br_if $cols (i32.lt_u (local.tee $c (i32.add (local.get $c) (i32.const 1))) (i32.const 8))))))
          (local.set $pb (i32.add (local.get $pb) (i32.shl (local.get $kc) (i32.const 5))))))
      (br_if $panels (i32.lt_u (local.tee $j0 (i32.add (local.get $j0) (i32.const 8))) (local.get $n)))))

  ;; count floats from src (pitch bytes apart) to dst (NR floats apart): one column of a B panel.
  (func $copyColumn (param $src i32) (param $pitch i32) (param $dst i32) (param $count i32)
    (loop $rows
      (f32.store (local.get $dst) (f32.load (local.get $src)))
      (local.set $src (i32.add (local.get $src) (local.get $pitch)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
      (br_if $rows (local.tee $count (i32.sub (local.get $count) (i32.const 1))))))

  ;; count zeros, NR floats apart: a padding column of the last B panel.
  (func $zeroColumn (param $dst i32) (param $count i32)
    (loop $rows
      (f32.store (local.get $dst) (f32.const 0))
      (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
      (br_if $rows (local.tee $count (i32.sub (local.get $count) (i32.const 1))))))

  ;; Packs A[ic … ic+mc-1, pc … pc+kc-1] into panels of MR rows: panel q holds A[ic + q·MR + r, pc + p]
  ;; at pa + 4·(q·kc·MR + p·MR + r), zeros where q·MR + r ≥ mc.
  (func $packA (param $a i32) (param $pa i32) (param $ic i32) (param $mc i32) (param $pc i32)
               (param $kc i32) (param $k i32)
    (local $i0 i32) (local $r i32) (local $p i32) (local $src i32) (local $dst i32)
    (loop $panels
      (local.set $r (i32.const 0))
      (loop $rows
        (local.set $dst (i32.add (local.get $pa) (i32.shl (local.get $r) (i32.const 2))))
        (local.set $p (i32.const 0))
        (if (i32.lt_u (i32.add (local.get $i0) (local.get $r)) (local.get $mc))
          (then
            (local.set $src (i32.add (local.get $a) (i32.shl
              (i32.add (i32.mul (i32.add (i32.add (local.get $ic) (local.get $i0)) (local.get $r)) (local.get $k))
                       (local.get $pc))
              (i32.const 2))))
            (loop $cols
              (f32.store (local.get $dst) (f32.load (local.get $src)))
              (local.set $src (i32.add (local.get $src) (i32.const 4)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 20)))
              (br_if $cols (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc)))))
          (else
            (loop $cols
              (f32.store (local.get $dst) (f32.const 0))
              (local.set $dst (i32.add (local.get $dst) (i32.const 20)))
              (br_if $cols (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc))))))
        (br_if $rows (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 1))) (i32.const 5))))
      (local.set $pa (i32.add (local.get $pa) (i32.mul (local.get $kc) (i32.const 20))))
      (br_if $panels (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 5))) (local.get $mc)))))

  ;; Packs all of B (every k block, as gemm packs one at a time) for gemm's flag 8: k block pc lies at
  ;; pb + 4·pc·ceil(n/NR)·NR, so pb needs k·ceil(n/NR)·NR floats. bt = 1: B is [n, k].
  (func (export "packBAll") (param $b i32) (param $pb i32) (param $k i32) (param $n i32) (param $bt i32)
    (local $pc i32) (local $kc i32)
    (loop $kblocks
      (local.set $kc (i32.sub (local.get $k) (local.get $pc)))
      (if (i32.gt_u (local.get $kc) (i32.const 256)) (then (local.set $kc (i32.const 256))))
      (call $packB (local.get $b) (call $packedBlock (local.get $pb) (local.get $pc) (local.get $n))
                   (local.get $pc) (local.get $kc) (local.get $k) (local.get $n) (local.get $bt))
      (br_if $kblocks (i32.lt_u (local.tee $pc (i32.add (local.get $pc) (i32.const 256))) (local.get $k)))))

  ;; Where packBAll put the k block that starts at row pc of B.
  (func $packedBlock (param $pb i32) (param $pc i32) (param $n i32) (result i32)
    (i32.add (local.get $pb)
      (i32.mul (local.get $pc) (i32.shl (i32.and (i32.add (local.get $n) (i32.const 7)) (i32.const -8)) (i32.const 2)))))

  ;; C[m, n] (+)= A[m, k] · B (see flags above). All pointers are byte addresses; m, n, k ≥ 1.
  ;; pa needs MC·KC floats, pb needs KC·ceil(n/NR)·NR floats (or holds packBAll's B, flag 8).
  (func (export "gemm") (param $a i32) (param $b i32) (param $c i32) (param $pa i32) (param $pb i32)
                        (param $m i32) (param $k i32) (param $n i32) (param $flags i32) (param $row0 i32)
    (local $pc i32) (local $kc i32) (local $ic i32) (local $mc i32) (local $jr i32) (local $ir i32)
    (local $mr i32) (local $nr i32) (local $ldc i32) (local $add i32) (local $lower i32) (local $pbk i32)
    (local.set $ldc (i32.shl (local.get $n) (i32.const 2)))
    (local.set $lower (i32.and (local.get $flags) (i32.const 4)))
    (loop $kblocks
      (local.set $kc (i32.sub (local.get $k) (local.get $pc)))
      (if (i32.gt_u (local.get $kc) (i32.const 256)) (then (local.set $kc (i32.const 256))))
      ;; The first k block overwrites C unless the caller asked to accumulate; later blocks add.
      (local.set $add (i32.or (i32.ne (local.get $pc) (i32.const 0))
                              (i32.ne (i32.and (local.get $flags) (i32.const 2)) (i32.const 0))))
      (if (i32.and (local.get $flags) (i32.const 8))
        (then (local.set $pbk (call $packedBlock (local.get $pb) (local.get $pc) (local.get $n))))
        (else
          (call $packB (local.get $b) (local.get $pb) (local.get $pc) (local.get $kc) (local.get $k) (local.get $n)
                       (i32.and (local.get $flags) (i32.const 1)))
          (local.set $pbk (local.get $pb))))
      (local.set $ic (i32.const 0))
      (loop $mblocks
        (local.set $mc (i32.sub (local.get $m) (local.get $ic)))
        (if (i32.gt_u (local.get $mc) (i32.const 160)) (then (local.set $mc (i32.const 160))))
        (call $packA (local.get $a) (local.get $pa) (local.get $ic) (local.get $mc) (local.get $pc)
                     (local.get $kc) (local.get $k))
        (local.set $jr (i32.const 0))
        (loop $colpanels
          (local.set $nr (i32.sub (local.get $n) (local.get $jr)))
          (if (i32.gt_u (local.get $nr) (i32.const 8)) (then (local.set $nr (i32.const 8))))
          (local.set $ir (i32.const 0))
          (loop $rowpanels
            (local.set $mr (i32.sub (local.get $mc) (local.get $ir)))
            (if (i32.gt_u (local.get $mr) (i32.const 5)) (then (local.set $mr (i32.const 5))))
            ;; Lower only: skip the tile when its first column lies right of its last row.
            (if (i32.or (i32.eqz (local.get $lower))
                        (i32.lt_u (local.get $jr)
                          (i32.add (i32.add (i32.add (local.get $row0) (local.get $ic)) (local.get $ir)) (local.get $mr))))
              (then
                (call $kernel
                  (i32.add (local.get $pa) (i32.mul (local.get $ir) (i32.shl (local.get $kc) (i32.const 2))))
                  (i32.add (local.get $pbk) (i32.mul (local.get $jr) (i32.shl (local.get $kc) (i32.const 2))))
                  (local.get $kc)
                  (i32.add (local.get $c)
                    (i32.shl (i32.add (i32.mul (i32.add (local.get $ic) (local.get $ir)) (local.get $n)) (local.get $jr))
                             (i32.const 2)))
                  (local.get $ldc) (local.get $mr) (local.get $nr) (local.get $add))))
            (br_if $rowpanels (i32.lt_u (local.tee $ir (i32.add (local.get $ir) (i32.const 5))) (local.get $mc))))
          (br_if $colpanels (i32.lt_u (local.tee $jr (i32.add (local.get $jr) (i32.const 8))) (local.get $n))))
        (br_if $mblocks (i32.lt_u (local.tee $ic (i32.add (local.get $ic) (i32.const 160))) (local.get $m))))
      (br_if $kblocks (i32.lt_u (local.tee $pc (i32.add (local.get $pc) (i32.const 256))) (local.get $k)))))
)

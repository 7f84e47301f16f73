/**
 * Seeded weight initializers for the SimpleRNN engine.
 *
 * Contract: for every seed s and shape [a, b] accepted below (except the
 * orthogonal seed-0 case documented on `orthogonal`),
 *   glorotUniform(s, [a, b]) equals
 *     tf.initializers.glorotUniform({seed: s}).apply([a, b]).dataSync()
 *   orthogonal(s, [a, b]) equals
 *     tf.initializers.orthogonal({seed: s}).apply([a, b]).dataSync()
 * of @tensorflow/tfjs 4.22 on its CPU backend, bit for bit (float32, row-major,
 * including the sign of zeros). test/engine/initializers.test.ts checks this
 * against the real tfjs.
 *
 * To get bit-exact results we replay tfjs's computation with the same order of
 * operations: every tfjs op stores its result in a Float32Array, so each op
 * boundary is a rounding to float32 (Math.fround or a Float32Array store
 * here), while arithmetic inside a single CPU kernel (a reduction's running
 * sum, a matMul block's dot product) is done in double precision. Merging,
 * reordering or "simplifying" any of these steps changes the last bits.
 */

import { alea } from './random.js';

/** A 2-D shape [rows, cols]; results are row-major. */
export type Shape2D = readonly [number, number];

/**
 * tfjs-backend-cpu's matMul block size (MathBackendCPU.blockSize = 48). The
 * kernel sums each block of the shared dimension in double precision and adds
 * that partial sum to the float32 output element, so the output is rounded to
 * float32 once per block of 48 terms.
 */
const MATMUL_BLOCK_SIZE = 48;

function assertShape(shape: Shape2D, who: string): void {
  const [rows, cols] = shape;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new RangeError(`${who}: shape must be two positive integers, got [${rows}, ${cols}]`);
  }
}

function assertSeed(seed: number, who: string): void {
  if (!Number.isFinite(seed)) {
    throw new RangeError(`${who}: seed must be a finite number, got ${seed}`);
  }
}

/**
 * Glorot (Xavier) uniform initializer: U(-limit, limit) with
 * limit = sqrt(3 * scale), scale = 1 / max(1, (fanIn + fanOut) / 2),
 * where [fanIn, fanOut] = shape (tfjs VarianceScaling, mode 'fanAvg',
 * distribution 'uniform').
 *
 * Porting note (rounding): tfjs's UniformRandom computes, in double,
 * `min + range * u` with min = -limit and range = max - min = 2 * limit, and
 * only the final value is rounded to float32 (by the Float32Array store). The
 * expression must stay in exactly that form: e.g. `limit * (2 * u - 1)` gives
 * different last bits.
 *
 * Porting note (seed 0): tfjs's UniformRandom only replaces a null/undefined
 * seed with Math.random(); seed 0 is a real seed ("0"), so glorotUniform(0, …)
 * matches tfjs like any other seed.
 */
export function glorotUniform(seed: number, shape: Shape2D): Float32Array {
  assertShape(shape, 'glorotUniform');
  assertSeed(seed, 'glorotUniform');
  const [fanIn, fanOut] = shape;
  let scale = 1.0;
  scale /= Math.max(1, (fanIn + fanOut) / 2);
  const limit = Math.sqrt(3 * scale);
  const min = -limit;
  const range = limit - min;
  // tfjs converts a numeric seed with toString(), which is String(seed).
  const random = alea(String(seed));
  const out = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < out.length; i++) {
    out[i] = min + range * random();
  }
  return out;
}

/**
 * `count` standard normal samples from the Marsaglia polar method, as tfjs's
 * MPRandGauss(mean 0, stdDev 1, not truncated) generates them from
 * alea(seedString), rounded to float32 (as randomNormal's float32 buffer does).
 *
 * Each accepted pair (v1, v2) yields two samples, X first then Y; an odd
 * `count` simply drops the last Y, as tfjs does.
 */
export function marsagliaNormals(seedString: string, count: number): Float32Array {
  const random = alea(seedString);
  const out = new Float32Array(count);
  const mean = 0;
  const stdDev = 1;
  let i = 0;
  while (i < count) {
    let v1: number;
    let v2: number;
    let s: number;
    do {
      v1 = 2 * random() - 1;
      v2 = 2 * random() - 1;
      s = v1 * v1 + v2 * v2;
    } while (s >= 1 || s === 0);
    const mul = Math.sqrt((-2.0 * Math.log(s)) / s);
    // Same expression shape as tfjs: mean + stdDev * v * mul, in double.
    out[i++] = mean + stdDev * v1 * mul;
    if (i < count) out[i++] = mean + stdDev * v2 * mul;
  }
  return out;
}

/** Sign as tfjs's CPU Sign kernel computes it: -1, 1, or 0 (also for NaN). */
function tfSign(x: number): number {
  if (x < 0) return -1;
  if (x > 0) return 1;
  return 0;
}

/** Result of `householderQr`: Q is [m, k] and R is [k, n], k = min(m, n). */
export interface QrResult {
  readonly q: Float32Array;
  readonly r: Float32Array;
}

/**
 * Reduced QR decomposition of the row-major float32 matrix `a` of shape
 * [m, n], replaying tfjs-core's `linalg.qr(x, false)` (qr2d, Householder
 * reflections) op by op with the float32 roundings of the CPU backend.
 *
 * Per column j (len = m - j), tfjs computes:
 *   normX = sqrt(sum(pow(abs(R[j:, j]), 2)))      (Sum kernel: double
 *           running sum over the column in row order, rounded once)
 *   s     = R[j, j] > 0 ? -1 : 1
 *   u1    = R[j, j] - s * normX
 *   w     = [1, R[j+1:, j] / u1]
 *   tau   = -((s * u1) / normX)                   (s * u1 via a 1x1 matMul)
 *   tw    = tau * w
 *   R[j:, :] = R[j:, :] - tw · (wᵀ · R[j:, :])
 *   Q[:, j:] = Q[:, j:] - (Q[:, j:] · w) · twᵀ
 * starting from Q = I(m), each op's result rounded to float32. Both matrix
 * updates read the pre-update matrix (tfjs builds new tensors).
 *
 * Porting note (matMul rounding): the CPU BatchMatMul kernel splits the
 * shared dimension into blocks of 48, sums each block in double (in k order)
 * and adds it to the float32 output (`out += blockSum`), i.e.
 * out = fround(out + blockSum) per block, starting from 0. A plain
 * double-precision dot product rounded once is NOT bit-identical for
 * len > 48. The outer products (shared dimension 1) become
 * fround(0 + 0 + a * b); the `0 +` turns a -0 product into +0, which we keep
 * so that signed zeros match too.
 */
export function householderQr(a: Float32Array, m: number, n: number): QrResult {
  if (a.length !== m * n) {
    throw new RangeError(`householderQr: expected ${m * n} values for [${m}, ${n}], got ${a.length}`);
  }
  const k = Math.min(m, n);
  const q = new Float32Array(m * m);
  for (let i = 0; i < m; i++) q[i * m + i] = 1;
  const r = Float32Array.from(a);

  const w = new Float32Array(m); // Householder vector, first `len` entries used
  const tw = new Float32Array(m); // tau * w
  const wtR = new Float32Array(n); // wᵀ · R[j:, :], float32 matMul output
  const blockSums = new Float64Array(n); // per-column partial sums of one block
  const qw = new Float32Array(m); // Q[:, j:] · w, float32 matMul output

  for (let j = 0; j < k; j++) {
    const len = m - j;

    // normX = sqrt(sum(pow(abs(x), 2))) over x = R[j:, j]. Each op rounds to
    // float32; the Sum kernel accumulates in double. Math.pow (not x * x) is
    // what the Pow kernel calls.
    let sumSq = 0;
    for (let i = 0; i < len; i++) {
      // Written as tfjs-core writes it, so the bits match by construction.
      // biome-ignore lint/style/useExponentiationOperator: see above
      sumSq += Math.fround(Math.pow(Math.abs(r[(j + i) * n + j]), 2));
    }
    const normX = Math.fround(Math.sqrt(Math.fround(sumSq)));

    const rjj = r[j * n + j];
    // where(greater(rjj, 0), -1, 1): never 0, unlike sign().
    const s = rjj > 0 ? -1 : 1;
    const u1 = Math.fround(rjj - Math.fround(s * normX));

    w[0] = 1;
    for (let i = 1; i < len; i++) {
      w[i] = r[(j + i) * n + j] / u1;
    }

    // tau = neg(div(matMul(s, u1), normX)); the 1x1 matMul is 0 + (0 + s*u1).
    const su1 = Math.fround(0 + (0 + s * u1));
    const tau = Math.fround(-1 * Math.fround(su1 / normX));
    for (let i = 0; i < len; i++) tw[i] = tau * w[i];

    // wtR = wᵀ · R[j:, :] ([1, len] x [len, n]) with the kernel's blocking.
    wtR.fill(0);
    for (let k0 = 0; k0 < len; k0 += MATMUL_BLOCK_SIZE) {
      const kEnd = Math.min(k0 + MATMUL_BLOCK_SIZE, len);
      blockSums.fill(0);
      for (let kk = k0; kk < kEnd; kk++) {
        const wk = w[kk];
        const rowBase = (j + kk) * n;
        for (let c = 0; c < n; c++) {
          blockSums[c] += wk * r[rowBase + c];
        }
      }
      for (let c = 0; c < n; c++) wtR[c] += blockSums[c]; // Float32Array store rounds
    }

    // R[j:, :] -= tw · wtR (outer product via a matMul with shared dim 1).
    for (let i = 0; i < len; i++) {
      const twi = tw[i];
      const rowBase = (j + i) * n;
      for (let c = 0; c < n; c++) {
        r[rowBase + c] = r[rowBase + c] - Math.fround(0 + (0 + twi * wtR[c]));
      }
    }

    // qw = Q[:, j:] · w ([m, len] x [len, 1]) with the kernel's blocking.
    for (let i = 0; i < m; i++) {
      const rowBase = i * m + j;
      let acc = 0; // float32 output element
      for (let k0 = 0; k0 < len; k0 += MATMUL_BLOCK_SIZE) {
        const kEnd = Math.min(k0 + MATMUL_BLOCK_SIZE, len);
        let blockSum = 0.0;
        for (let kk = k0; kk < kEnd; kk++) {
          blockSum += q[rowBase + kk] * w[kk];
        }
        acc = Math.fround(acc + blockSum);
      }
      qw[i] = acc;
    }

    // Q[:, j:] -= qw · twᵀ (outer product via a matMul with shared dim 1).
    for (let i = 0; i < m; i++) {
      const qwi = qw[i];
      const rowBase = i * m + j;
      for (let kk = 0; kk < len; kk++) {
        q[rowBase + kk] = q[rowBase + kk] - Math.fround(0 + (0 + qwi * tw[kk]));
      }
    }
  }

  if (m <= n) {
    // Q is already [m, m] = [m, k]; R is [m, n] = [k, n].
    return { q, r };
  }
  // Reduced form: keep the leading n columns of Q and n rows of R.
  const qReduced = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    qReduced.set(q.subarray(i * m, i * m + n), i * n);
  }
  return { q: qReduced, r: r.slice(0, n * n) };
}

/**
 * Orthogonal initializer (gain 1): draws a [max(rows, cols), min(rows, cols)]
 * standard normal matrix, takes Q of its QR decomposition, multiplies each
 * column of Q by the sign of the matching diagonal entry of R, and transposes
 * when rows < cols, exactly as tfjs-layers' Orthogonal does.
 *
 * Porting note (seed 0 / falsy seeds): tfjs's MPRandGauss seeds with
 * `seed ? seed : Math.random()`, so tfjs's `orthogonal({seed: 0})` is NOT
 * deterministic (it behaves as unseeded), unlike glorotUniform where 0 is a
 * real seed. We cannot reproduce a Math.random() seed, so for seed 0 we use
 * alea("0"), the same string glorotUniform uses: our result is deterministic
 * and orthogonal, but no tfjs call produces it. Every other finite seed
 * matches tfjs bit for bit.
 *
 * Porting note (gain): tfjs finally multiplies by scalar(gain); with gain 1
 * that float32 multiply is the identity (signed zeros included), so it is
 * omitted.
 */
export function orthogonal(seed: number, shape: Shape2D): Float32Array {
  assertShape(shape, 'orthogonal');
  assertSeed(seed, 'orthogonal');
  const [rows, cols] = shape;
  const m = Math.max(rows, cols);
  const n = Math.min(rows, cols);

  const normals = marsagliaNormals(String(seed), m * n);
  const { q, r } = householderQr(normals, m, n); // q: [m, n], r: [n, n]

  // mul(Q, sign(diag(R))): float32 multiply by -1/0/1 (keeps -0 semantics).
  const signs = new Float32Array(n);
  for (let c = 0; c < n; c++) signs[c] = tfSign(r[c * n + c]);
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < n; c++) q[i * n + c] = q[i * n + c] * signs[c];
  }

  if (rows >= cols) return q; // already [rows, cols] = [m, n]

  // rows < cols: the result is Qᵀ, shape [n, m] = [rows, cols].
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < n; c++) out[c * m + i] = q[i * n + c];
  }
  return out;
}

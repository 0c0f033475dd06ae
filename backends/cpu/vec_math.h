/*
 * vec_math.h: constants and scalar pieces shared by the vec_<level>.c files,
 * so that every level uses the same formulas (the activation quantisers must
 * agree bit for bit) and the same approximation of exp.
 *
 * Only plain C here: each level's intrinsics stay in its own file, compiled
 * with that level's flags.
 */
#ifndef ERG_CPU_VEC_MATH_H
#define ERG_CPU_VEC_MATH_H

/*
 * Activation quantiser scales (q8a and q8k): x ~= d * q with q = round(x * id).
 * Every level computes amax exactly (a max is exact in any order) and then
 * calls this, so d, id and therefore every q are identical across levels.
 */
static inline void erg_q8_scales(float amax, float *d, float *id) {
    *d = amax / 127.0f;
    *id = amax > 0.0f ? 127.0f / amax : 0.0f;
}

/*
 * exp(x) for the SIMD levels: n = round(x / ln2), r = x - n*ln2 in two FMA
 * steps (Cody-Waite: ln2 = HI + LO), exp(r) = 1 + r + r^2 * P(r) on
 * |r| <= ln2/2 with P of degree 5 (Cephes' expf minimax coefficients), then
 * the result is scaled by 2^n with a single rounding (AVX2: as
 * 2^(n>>1) * 2^(n - (n>>1)), both factors normal; AVX-512: scalef), so that
 * results between FLT_MIN and 0 come out as correctly rounded subnormals and
 * results past FLT_MAX as inf; both levels give identical results.
 * Inputs are clamped to [ERG_EXP_LO, ERG_EXP_HI] first (exp(-104) rounds to
 * 0, exp(89) to inf); NaN passes through.
 * Max relative error 8.5e-8, measured on every float in [-87.3, 88.7]
 * against double exp.
 */
#define ERG_EXP_LO (-104.0f)
#define ERG_EXP_HI 89.0f
#define ERG_LOG2E 1.44269504088896341f
#define ERG_LN2_HI 0.693147182464599609375f   /* ln2 rounded to float */
#define ERG_LN2_LO (-1.90465429995776805e-9f) /* ln2 - ERG_LN2_HI */
#define ERG_EXP_P0 1.9875691500e-4f
#define ERG_EXP_P1 1.3981999507e-3f
#define ERG_EXP_P2 8.3334519073e-3f
#define ERG_EXP_P3 4.1665795894e-2f
#define ERG_EXP_P4 1.6666665459e-1f
#define ERG_EXP_P5 5.0000001201e-1f

/*
 * GELU (tanh form) through a sigmoid: 0.5 * (1 + tanh(u)) == sigmoid(2u), so
 *   gelu(x) = x * sigmoid(t), t = x * (ERG_GELU_C1 + ERG_GELU_C2 * x^2)
 * with C1 = 2 * sqrt(2/pi) and C2 = C1 * 0.044715. Unlike 1 + tanh(u), this
 * keeps full relative precision for negative x.
 */
#define ERG_GELU_C1 1.59576912160573071f
#define ERG_GELU_C2 0.0713548162726008f


#endif

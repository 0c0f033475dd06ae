// matmul_epilogue.glsl: the fused epilogues of the matmul kernels, applied
// to each result as it is written (the kernel declares its SWIGLU constant
// and the push block p first):
//  MATMUL         y
//  MATMUL_ADD     y + addend (src2, broadcast by modulo per dim), where p.add
//                 is set: a branch at the write only, so it shares MATMUL's
//                 pipelines
//  MATMUL_SWIGLU  silu(y) * up, with SWIGLU set: up is the product with the
//                 weights in binding 2, the kernel's second accumulator
// Products per result: MATMUL_SWIGLU accumulates gate and up together.
const uint PRODS = SWIGLU ? 2u : 1u;

float epilogue(float y, float up, uint n, uint m, uint b2, uint b3) {
    if (SWIGLU)
        return y / (1.0 + exp(-y)) * up;
    if (p.add != 0u)
        y += src2_f32(p.off_c + 4u * (n % p.ne_c0) + (m % p.ne_c1) * p.nb_c1 +
                      (b2 % p.ne_c2) * p.nb_c2 + (b3 % p.ne_c3) * p.nb_c3);
    return y;
}

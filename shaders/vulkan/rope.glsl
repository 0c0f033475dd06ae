// rope.glsl: the angle of ROPE's pair j at a position, shared by rope.comp
// and attention.comp's rotation of q. Angles need more than float precision
// at large positions, so where the device has 64-bit floats (USE_FP64)
// theta is formed and reduced modulo 2 pi in double before the float
// sin/cos. step = base^(-2 / n_dims) comes from the host as a float pair.

#ifdef USE_FP64
#define real double
#else
#define real float
#endif

const uint MODE_NEOX = 2u;

real pow_int(real b, uint e) {
    real r = real(1.0);
    while (e != 0u) {
        if ((e & 1u) != 0u)
            r *= b;
        b *= b;
        e >>= 1;
    }
    return r;
}

// (cos, sin) of pos * freq_scale * step^j / factor.
vec2 rope_cos_sin(int pos, float freq_scale, float step_hi, float step_lo, uint j, float factor) {
    real step_ = real(step_hi) + real(step_lo);
    real theta = real(pos) * real(freq_scale) * pow_int(step_, j);
    theta /= real(factor);
    const real TWO_PI = real(6.283185307179586476925286766559);
    theta -= TWO_PI * floor(theta / TWO_PI);
    return vec2(cos(float(theta)), sin(float(theta)));
}

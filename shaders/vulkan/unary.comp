#version 450
// Elementwise ops of one source, one invocation per element: SCALE, SILU,
// GELU, CPY (F32 to F32, F16 or BF16) and FILL (writes f0, reads nothing),
// each chosen by the OP constant.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const uint OP = 0;
const uint OP_SCALE = 0, OP_SILU = 1, OP_GELU = 2, OP_CPY_F32 = 3, OP_CPY_F16 = 4,
           OP_CPY_BF16 = 5, OP_FILL = 6;
// gelu(x) = x * sigmoid(x * (C1 + C2 x^2)), C1 = 2 sqrt(2/pi), C2 = C1 * 0.044715
const float GELU_C1 = 1.59576912160573071, GELU_C2 = 0.0713548162726008;

layout(push_constant) uniform PC { erg_vk_push_unary p; };

void main() {
    uint e = group_index() * 256u + gl_LocalInvocationID.x;
    if (e >= p.ne0 * p.ne1 * p.ne2 * p.ne3)
        return;
    uvec4 i = unravel(e, p.ne0, p.ne1, p.ne2);
    uint d = p.off_d + i.x * p.nb_d0 + i.y * p.nb_d1 + i.z * p.nb_d2 + i.w * p.nb_d3;
    if (OP == OP_FILL) {
        dst_f32(d, p.f0);
        return;
    }
    float x = src0_f32(p.off_a + i.x * p.nb_a0 + i.y * p.nb_a1 + i.z * p.nb_a2 + i.w * p.nb_a3);
    if (OP >= OP_CPY_F32) {  // the CPY ops are in DT_* order
        dst_store(OP - OP_CPY_F32, d, x);
        return;
    }
    float y = x;
    if (OP == OP_SCALE)
        y = x * p.f0;
    else if (OP == OP_SILU)
        y = x / (1.0 + exp(-x));
    else if (OP == OP_GELU)
        y = x / (1.0 + exp(-x * (GELU_C1 + GELU_C2 * x * x)));
    dst_f32(d, y);
}

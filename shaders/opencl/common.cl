/*
 * common.cl: what every kernel family shares.
 *
 * A tensor arrives as a byte buffer, a byte offset into it and erg's byte
 * strides (erg_tensor.nb as a long4), so views, permuted tensors and strided
 * KV-cache rows run without copies. Everything computes in F32: halves are
 * read with vload_half and written with vstore_half_rte (core OpenCL 1.2,
 * no cl_khr_fp16), bytes through uchar pointers.
 *
 * Build options the host may add (each only where the device has the
 * extension): ERG_SUBGROUPS (cl_khr_subgroups or cl_intel_subgroups) makes
 * the work-group reductions reduce inside sub-groups first.
 */
#ifdef ERG_SUBGROUPS
#ifdef ERG_SUBGROUPS_INTEL
#pragma OPENCL EXTENSION cl_intel_subgroups : enable
#else
#pragma OPENCL EXTENSION cl_khr_subgroups : enable
#endif
#endif

/* Work-items of a work-group, in every kernel (ERG_CL_LWS on the host). */
#define LWS 64
#define KERNEL __kernel __attribute__((reqd_work_group_size(LWS, 1, 1)))

float load_f16(__global const uchar *p) { return vload_half(0, (__global const half *)p); }

float load_bf16(__global const uchar *p) {
    return as_float((uint)(*(__global const ushort *)p) << 16);
}

/* Round to nearest even, as erg_f32_to_bf16; a NaN stays a quiet NaN. */
void store_bf16(__global uchar *p, float v) {
    uint x = as_uint(v);
    ushort h;
    if ((x & 0x7fffffffu) > 0x7f800000u)
        h = (ushort)((x >> 16) | 0x40u);
    else
        h = (ushort)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
    *(__global ushort *)p = h;
}

/* Codes of the types a kernel writes (erg_dtype). */
#define DT_F32 0
#define DT_F16 1
#define DT_BF16 30

/* Stores v at p as F32, F16 or BF16, rounding to nearest even. */
void store_as(__global uchar *p, float v, int type) {
    if (type == DT_F16)
        vstore_half_rte(v, 0, (__global half *)p);
    else if (type == DT_BF16)
        store_bf16(p, v);
    else
        *(__global float *)p = v;
}

/* The address of row (i1, i2, i3) of a tensor. */
__global const uchar *row_at(__global const uchar *base, long4 nb, long i1, long i2, long i3) {
    return base + i1 * nb.s1 + i2 * nb.s2 + i3 * nb.s3;
}

__global uchar *row_at_w(__global uchar *base, long4 nb, long i1, long i2, long i3) {
    return base + i1 * nb.s1 + i2 * nb.s2 + i3 * nb.s3;
}

/* Row r of a tensor of shape ne, as (i1, i2, i3). */
long4 row_index(long r, long4 ne) {
    return (long4)(0, r % ne.s1, (r / ne.s1) % ne.s2, r / (ne.s1 * ne.s2));
}

/* The sum of the lanes of a float8. */
float hsum8(float8 a) {
    float4 b = a.lo + a.hi;
    float2 c = b.lo + b.hi;
    return c.x + c.y;
}

/* The sum of every work-item's v, returned to all of them. scratch holds
 * LWS floats; every work-item of the group must call. */
float group_sum(float v, __local float *scratch) {
#ifdef ERG_SUBGROUPS
    float s = sub_group_reduce_add(v);
    if (get_sub_group_local_id() == 0)
        scratch[get_sub_group_id()] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    float total = 0.0f;
    for (uint i = 0; i < get_num_sub_groups(); i++)
        total += scratch[i];
#else
    uint lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = LWS / 2; s > 0; s >>= 1) {
        if (lid < s)
            scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float total = scratch[0];
#endif
    barrier(CLK_LOCAL_MEM_FENCE); /* scratch is free again for the next reduction */
    return total;
}

/* The same for the maximum. */
float group_max(float v, __local float *scratch) {
#ifdef ERG_SUBGROUPS
    float s = sub_group_reduce_max(v);
    if (get_sub_group_local_id() == 0)
        scratch[get_sub_group_id()] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    float best = scratch[0];
    for (uint i = 1; i < get_num_sub_groups(); i++)
        best = fmax(best, scratch[i]);
#else
    uint lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = LWS / 2; s > 0; s >>= 1) {
        if (lid < s)
            scratch[lid] = fmax(scratch[lid], scratch[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float best = scratch[0];
#endif
    barrier(CLK_LOCAL_MEM_FENCE);
    return best;
}

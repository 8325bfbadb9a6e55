// GroupNorm over x [B, C, S] (S = H·W) with G groups: one block per (batch, group), whose C/G·S elements are contiguous.
// Fused epilogue: SiLU (UNet ResBlocks: GN → SiLU).
// Statistics are two-pass in f32 (mean, then centred variance) so large groups keep their precision.
#include "common.cuh"

template <class T, bool SILU>
__global__ void groupnorm_fwd(const T* __restrict__ x, const T* __restrict__ weight, const T* __restrict__ bias,
    T* __restrict__ y, float* __restrict__ mean_out, float* __restrict__ rstd_out, int C, i64 S, int G, float eps)
{
    __shared__ float scratch[32];
    const int bg = blockIdx.x, g = bg % G, cpg = C / G;
    const i64 n = (i64)cpg * S, base = (i64)bg * n;   // (b·C + g·cpg)·S = bg·cpg·S
    float mean, rstd;
    block_moments(x, base, n, eps, scratch, mean, rstd);
    if (threadIdx.x == 0) { mean_out[bg] = mean; rstd_out[bg] = rstd; }
    for (i64 i = threadIdx.x; i < n; i += blockDim.x)
    {
        const int c = g * cpg + (int)(i / S);
        float z = (to_float(x[base + i]) - mean) * rstd;
        if (weight) z *= to_float(weight[c]);
        if (bias) z += to_float(bias[c]);
        if (SILU) z *= sigmoidf_(z);
        y[base + i] = from_float<T>(z);
    }
}

// Gradient reaching the affine output z = x̂·w + b (through SiLU when fused).
template <bool SILU> __device__ __forceinline__ float dz_of(float dy, float z)
{
    if (!SILU) return dy;
    const float s = sigmoidf_(z);
    return dy * s * (1.f + z * (1.f - s));
}

// dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dz·w, per (batch, group) block.
template <class T, bool SILU>
__global__ void groupnorm_bwd_input(const T* __restrict__ x, const T* __restrict__ weight, const T* __restrict__ bias,
    const float* __restrict__ mean, const float* __restrict__ rstd, const T* __restrict__ dy, T* __restrict__ dx,
    int C, i64 S, int G)
{
    __shared__ float scratch[32];
    const int bg = blockIdx.x, g = bg % G, cpg = C / G;
    const i64 n = (i64)cpg * S, base = (i64)bg * n;
    const float mu = mean[bg], rs = rstd[bg];
    float sum_d = 0.f, sum_dx = 0.f;
    for (i64 i = threadIdx.x; i < n; i += blockDim.x)
    {
        const int c = g * cpg + (int)(i / S);
        const float w = weight ? to_float(weight[c]) : 1.f, xh = (to_float(x[base + i]) - mu) * rs;
        const float z = xh * w + (bias ? to_float(bias[c]) : 0.f);
        const float dxh = dz_of<SILU>(to_float(dy[base + i]), z) * w;
        sum_d += dxh;
        sum_dx += dxh * xh;
    }
    const float mean_d = block_sum(sum_d, scratch) / (float)n;
    const float mean_dx = block_sum(sum_dx, scratch) / (float)n;
    for (i64 i = threadIdx.x; i < n; i += blockDim.x)
    {
        const int c = g * cpg + (int)(i / S);
        const float w = weight ? to_float(weight[c]) : 1.f, xh = (to_float(x[base + i]) - mu) * rs;
        const float z = xh * w + (bias ? to_float(bias[c]) : 0.f);
        const float dxh = dz_of<SILU>(to_float(dy[base + i]), z) * w;
        dx[base + i] = from_float<T>(rs * (dxh - mean_d - xh * mean_dx));
    }
}

// dweight[c] = Σ_{b,s} dz·x̂, dbias[c] = Σ_{b,s} dz: one block per channel (deterministic, no atomics).
template <class T, bool SILU>
__global__ void groupnorm_bwd_params(const T* __restrict__ x, const T* __restrict__ weight, const T* __restrict__ bias,
    const float* __restrict__ mean, const float* __restrict__ rstd, const T* __restrict__ dy,
    T* __restrict__ dweight, T* __restrict__ dbias, int B, int C, i64 S, int G)
{
    __shared__ float scratch[32];
    const int c = blockIdx.x, g = c / (C / G);
    const float w = weight ? to_float(weight[c]) : 1.f, b0 = bias ? to_float(bias[c]) : 0.f;
    float sw = 0.f, sb = 0.f;
    for (int b = 0; b < B; ++b)
    {
        const float mu = mean[b * G + g], rs = rstd[b * G + g];
        const i64 base = ((i64)b * C + c) * S;
        for (i64 i = threadIdx.x; i < S; i += blockDim.x)
        {
            const float xh = (to_float(x[base + i]) - mu) * rs;
            const float dz = dz_of<SILU>(to_float(dy[base + i]), xh * w + b0);
            sw += dz * xh;
            sb += dz;
        }
    }
    sw = block_sum(sw, scratch);
    sb = block_sum(sb, scratch);
    if (threadIdx.x == 0)
    {
        if (dweight) dweight[c] = from_float<T>(sw);
        if (dbias) dbias[c] = from_float<T>(sb);
    }
}

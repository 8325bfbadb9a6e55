// The personalization op family (docs/personalization.md): PFStorer's gated residual F̂ = F + γ ⊙ (P + b), the epilogue
// of the personalization block's output projection (P = its GEMM result, b its bias, γ the per-channel gate), over rows
// of C channels (tokens × channels); and the L_Pers attention-map loss.
#include "common.cuh"

template <class T> __global__ void personalize_fwd(const T* __restrict__ f, const T* __restrict__ p, const T* __restrict__ bias,
    const T* __restrict__ gamma, T* __restrict__ y, i64 rows, int C)
{
    FOR_EACH(i, rows * C)
    {
        const int c = (int)(i % C);
        const float proj = to_float(p[i]) + (bias ? to_float(bias[c]) : 0.f);
        y[i] = from_float<T>(to_float(f[i]) + to_float(gamma[c]) * proj);
    }
}

// dP = γ ⊙ dy (the projection's gradient input; dF = dy needs no kernel).
template <class T> __global__ void personalize_bwd_proj(const T* __restrict__ gamma, const T* __restrict__ dy, T* __restrict__ dp, i64 rows, int C)
{
    FOR_EACH(i, rows * C) dp[i] = from_float<T>(to_float(gamma[i % C]) * to_float(dy[i]));
}

// dγ[c] = Σ_rows dy·(P + b): block (32, 8) over 32 columns, like the LayerNorm parameter gradient.
template <class T> __global__ void personalize_bwd_gamma(const T* __restrict__ p, const T* __restrict__ bias, const T* __restrict__ dy,
    T* __restrict__ dgamma, i64 rows, int C)
{
    __shared__ float part[8][33];
    const int c = blockIdx.x * 32 + threadIdx.x;
    float acc = 0.f;
    if (c < C)
    {
        const float b = bias ? to_float(bias[c]) : 0.f;
        for (i64 r = threadIdx.y; r < rows; r += blockDim.y) acc += to_float(dy[r * C + c]) * (to_float(p[r * C + c]) + b);
    }
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < C)
    {
        for (int k = 1; k < (int)blockDim.y; ++k) acc += part[k][threadIdx.x];
        dgamma[c] = from_float<T>(acc);
    }
}

// Largest value over a block and the first index holding it (ties go to the lower index, as the CPU twin's IndexOfMax).
__device__ __forceinline__ void block_argmax(float& v, int& idx, float* sv, int* si)
{
    for (int o = 16; o > 0; o >>= 1)
    {
        const float ov = __shfl_xor_sync(0xffffffffu, v, o);
        const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
        if (ov > v || (ov == v && oi < idx)) { v = ov; idx = oi; }
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) { sv[warp] = v; si[warp] = idx; }
    __syncthreads();
    v = lane < (int)(blockDim.x >> 5) ? sv[lane] : -INF_F;
    idx = lane < (int)(blockDim.x >> 5) ? si[lane] : 0x7fffffff;
    for (int o = 16; o > 0; o >>= 1)
    {
        const float ov = __shfl_xor_sync(0xffffffffu, v, o);
        const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
        if (ov > v || (ov == v && oi < idx)) { v = ov; idx = oi; }
    }
}

__device__ __forceinline__ float block_max(float v, float* scratch)
{
    v = warp_max(v);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < (int)(blockDim.x >> 5) ? scratch[lane] : -INF_F;
    return warp_max(v);
}

// L_Pers of one placement: mean over [rows, n] of (a/max a − e/max e)², max per row. One block walks every row.
template <class T> __global__ void map_loss_fwd(const T* __restrict__ a, const T* __restrict__ e, float* __restrict__ loss, i64 rows, int n)
{
    __shared__ float scratch[32];
    float total = 0.f;
    for (i64 r = 0; r < rows; ++r)
    {
        const T* ar = a + r * n;
        const T* er = e + r * n;
        float ma = -INF_F, me = -INF_F;
        for (int i = threadIdx.x; i < n; i += blockDim.x) { ma = fmaxf(ma, to_float(ar[i])); me = fmaxf(me, to_float(er[i])); }
        ma = block_max(ma, scratch);
        me = block_max(me, scratch);
        float s = 0.f;
        for (int i = threadIdx.x; i < n; i += blockDim.x)
        {
            const float d = to_float(ar[i]) / ma - to_float(er[i]) / me;
            s += d * d;
        }
        total += block_sum(s, scratch);
    }
    if (threadIdx.x == 0) loss[0] = total / (float)(rows * n);
}

// ∂L/∂aᵢ = dLoss · 2/(rows·n) · (dᵢ/m − [i = argmax]·Σₖ dₖaₖ/m²) with m = max a, d = a/m − e/max e. One block per row.
template <class T> __global__ void map_loss_bwd(const T* __restrict__ a, const T* __restrict__ e, const float* __restrict__ dloss,
    T* __restrict__ da, i64 rows, int n)
{
    __shared__ float scratch[32];
    __shared__ int scratch_idx[32];
    const T* ar = a + blockIdx.x * (i64)n;
    const T* er = e + blockIdx.x * (i64)n;
    T* dar = da + blockIdx.x * (i64)n;
    float m = -INF_F, me = -INF_F;
    int j = 0x7fffffff;
    for (int i = threadIdx.x; i < n; i += blockDim.x)
    {
        const float v = to_float(ar[i]);
        if (v > m) { m = v; j = i; }
        me = fmaxf(me, to_float(er[i]));
    }
    block_argmax(m, j, scratch, scratch_idx);
    me = block_max(me, scratch);
    const float scale = 2.f * dloss[0] / (float)(rows * n);
    float cross = 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x)
    {
        const float ai = to_float(ar[i]);
        const float d = ai / m - to_float(er[i]) / me;
        cross += d * ai;
        dar[i] = from_float<T>(scale * d / m);
    }
    cross = block_sum(cross, scratch);
    __syncthreads();   // the argmax entry is rewritten after every thread has stored its plain term
    if (threadIdx.x == 0) dar[j] = from_float<T>(to_float(dar[j]) - scale * cross / (m * m));
}

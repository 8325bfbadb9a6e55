// The personalization op family (docs/personalization.md): PFStorer's gated residual F̂ = F + γ ⊙ (P + b), the epilogue
// of the personalization block's output projection (P = its GEMM result, b its bias, γ the per-channel gate), over rows
// of C channels (tokens × channels); the L_Pers attention-map loss; and the fused personalized cross-attention.
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

// ---------------------------------------------------------------------------------------------------------------------
// Personalized cross-attention: the generated stream's queries q [B,Tq,H·D] attend to the reference stream's keys and
// values k, v [B,Tk,H·D] under the key mask M [B,Tk] (0 = masked: logit −FLT_MAX for every head and query, as ViCo's
// masked_fill), and the epilogue writes y = f + γ ⊙ o (f [B,Tq,H·D], γ [H·D]) instead of o itself; o is also written
// when training needs it (dγ and the backward's row terms read it). lse [B,H,Tq] keeps log Σ exp for the backward.
// One warp per (row, head); lane l owns head dims l, l+32, … (NPL of them); f32 arithmetic whatever the storage.
// Grid: (ceil(rows / PERS_WARPS), H, B) with PERS_WARPS warps per block.
#define PERS_WARPS 8

// Masked-or-scaled logit of one (query, key) pair from the lane-held query q and the key row kr.
template <class T, int NPL>
__device__ __forceinline__ float pers_logit(const float (&q)[NPL], const T* __restrict__ kr, int D, float scale, bool keep)
{
    float s = 0.f;
    const int lane = threadIdx.x & 31;
#pragma unroll
    for (int e = 0; e < NPL; ++e)
    {
        const int d = lane + 32 * e;
        if (d < D) s += q[e] * to_float(kr[d]);
    }
    s = warp_sum(s);
    return keep ? s * scale : -FLT_MAX_;
}

// Probability from a recomputed logit and the row's lse. A fully masked row has every logit at −FLT_MAX, so lse =
// −FLT_MAX + log Tk rounds back to −FLT_MAX and exp(s − lse) would say 1: its softmax is uniform, 1/Tk.
__device__ __forceinline__ float pers_prob(float s, float lse, int Tk)
{
    return lse == -FLT_MAX_ ? 1.f / (float)Tk : expf(s - lse);
}

template <class T, int NPL>
__global__ void __launch_bounds__(PERS_WARPS * 32) pers_attn_fwd(const T* __restrict__ q, const T* __restrict__ k,
    const T* __restrict__ v, const float* __restrict__ key_mask, const T* __restrict__ f, const T* __restrict__ gamma,
    T* __restrict__ y, T* __restrict__ o, float* __restrict__ lse, int H, int Tq, int Tk, int D, float scale)
{
    const int i = blockIdx.x * PERS_WARPS + (threadIdx.x >> 5), h = blockIdx.y, b = blockIdx.z, lane = threadIdx.x & 31;
    if (i >= Tq) return;
    const int W = H * D;
    const i64 row = ((i64)b * Tq + i) * W + h * D;
    float qr[NPL], acc[NPL];
#pragma unroll
    for (int e = 0; e < NPL; ++e)
    {
        const int d = lane + 32 * e;
        qr[e] = d < D ? to_float(q[row + d]) : 0.f;
        acc[e] = 0.f;
    }
    // Online softmax. A row whose every key is masked sees equal logits −FLT_MAX: exp(0) = 1 each, the uniform average.
    float m = -INF_F, l = 0.f;
    for (int j = 0; j < Tk; ++j)
    {
        const i64 key = ((i64)b * Tk + j) * W + h * D;
        const float s = pers_logit<T, NPL>(qr, k + key, D, scale, key_mask[(i64)b * Tk + j] != 0.f);
        const float m_new = fmaxf(m, s);
        const float correction = expf(m - m_new), p = expf(s - m_new);
        l = l * correction + p;
#pragma unroll
        for (int e = 0; e < NPL; ++e)
        {
            const int d = lane + 32 * e;
            acc[e] = acc[e] * correction + (d < D ? p * to_float(v[key + d]) : 0.f);
        }
        m = m_new;
    }
    const float inv = 1.f / l;
#pragma unroll
    for (int e = 0; e < NPL; ++e)
    {
        const int d = lane + 32 * e;
        if (d >= D) continue;
        const float out = acc[e] * inv;
        y[row + d] = from_float<T>(to_float(f[row + d]) + to_float(gamma[h * D + d]) * out);
        if (o) o[row + d] = from_float<T>(out);
    }
    if (lane == 0) lse[((i64)b * H + h) * Tq + i] = m + logf(l);
}

// Row term of the backward: delta[b,h,i] = Σ_d dO·o over the head, with dO = γ ⊙ dy (the epilogue's gradient into o).
template <class T>
__global__ void __launch_bounds__(PERS_WARPS * 32) pers_attn_bwd_delta(const T* __restrict__ o, const T* __restrict__ dy,
    const T* __restrict__ gamma, float* __restrict__ delta, int H, int Tq, int D)
{
    const int i = blockIdx.x * PERS_WARPS + (threadIdx.x >> 5), h = blockIdx.y, b = blockIdx.z, lane = threadIdx.x & 31;
    if (i >= Tq) return;
    const i64 row = ((i64)b * Tq + i) * H * D + h * D;
    float s = 0.f;
    for (int d = lane; d < D; d += 32) s += to_float(gamma[h * D + d]) * to_float(dy[row + d]) * to_float(o[row + d]);
    s = warp_sum(s);
    if (lane == 0) delta[((i64)b * H + h) * Tq + i] = s;
}

// dq_i = scale · Σ_j P_ij (dO_i·v_j − delta_i) k_j over kept keys (a masked logit is a constant: no gradient).
template <class T, int NPL>
__global__ void __launch_bounds__(PERS_WARPS * 32) pers_attn_bwd_dq(const T* __restrict__ q, const T* __restrict__ k,
    const T* __restrict__ v, const float* __restrict__ key_mask, const T* __restrict__ gamma, const T* __restrict__ dy,
    const float* __restrict__ lse, const float* __restrict__ delta, T* __restrict__ dq, int H, int Tq, int Tk, int D, float scale)
{
    const int i = blockIdx.x * PERS_WARPS + (threadIdx.x >> 5), h = blockIdx.y, b = blockIdx.z, lane = threadIdx.x & 31;
    if (i >= Tq) return;
    const int W = H * D;
    const i64 row = ((i64)b * Tq + i) * W + h * D;
    const i64 stat = ((i64)b * H + h) * Tq + i;
    const float L = lse[stat], Di = delta[stat];
    float qr[NPL], dor[NPL], acc[NPL];
#pragma unroll
    for (int e = 0; e < NPL; ++e)
    {
        const int d = lane + 32 * e;
        qr[e] = d < D ? to_float(q[row + d]) : 0.f;
        dor[e] = d < D ? to_float(gamma[h * D + d]) * to_float(dy[row + d]) : 0.f;
        acc[e] = 0.f;
    }
    for (int j = 0; j < Tk; ++j)
    {
        if (key_mask[(i64)b * Tk + j] == 0.f) continue;
        const i64 key = ((i64)b * Tk + j) * W + h * D;
        const float p = pers_prob(pers_logit<T, NPL>(qr, k + key, D, scale, true), L, Tk);
        float dp = 0.f;
#pragma unroll
        for (int e = 0; e < NPL; ++e)
        {
            const int d = lane + 32 * e;
            if (d < D) dp += dor[e] * to_float(v[key + d]);
        }
        const float ds = p * (warp_sum(dp) - Di) * scale;
#pragma unroll
        for (int e = 0; e < NPL; ++e)
        {
            const int d = lane + 32 * e;
            if (d < D) acc[e] += ds * to_float(k[key + d]);
        }
    }
#pragma unroll
    for (int e = 0; e < NPL; ++e)
    {
        const int d = lane + 32 * e;
        if (d < D) dq[row + d] = from_float<T>(acc[e]);
    }
}

// dv_j = Σ_i P_ij dO_i (masked keys too: a fully masked row spreads over every key); dk_j = scale · Σ_i P_ij (dO_i·v_j −
// delta_i) q_i for kept keys, 0 for masked ones. One warp per (key, head).
template <class T, int NPL>
__global__ void __launch_bounds__(PERS_WARPS * 32) pers_attn_bwd_dkdv(const T* __restrict__ q, const T* __restrict__ k,
    const T* __restrict__ v, const float* __restrict__ key_mask, const T* __restrict__ gamma, const T* __restrict__ dy,
    const float* __restrict__ lse, const float* __restrict__ delta, T* __restrict__ dk, T* __restrict__ dv,
    int H, int Tq, int Tk, int D, float scale)
{
    const int j = blockIdx.x * PERS_WARPS + (threadIdx.x >> 5), h = blockIdx.y, b = blockIdx.z, lane = threadIdx.x & 31;
    if (j >= Tk) return;
    const int W = H * D;
    const i64 key = ((i64)b * Tk + j) * W + h * D;
    const bool keep = key_mask[(i64)b * Tk + j] != 0.f;
    float kr[NPL], vr[NPL], g[NPL], dka[NPL], dva[NPL];
#pragma unroll
    for (int e = 0; e < NPL; ++e)
    {
        const int d = lane + 32 * e;
        kr[e] = d < D ? to_float(k[key + d]) : 0.f;
        vr[e] = d < D ? to_float(v[key + d]) : 0.f;
        g[e] = d < D ? to_float(gamma[h * D + d]) : 0.f;
        dka[e] = dva[e] = 0.f;
    }
    for (int i = 0; i < Tq; ++i)
    {
        const i64 row = ((i64)b * Tq + i) * W + h * D;
        const i64 stat = ((i64)b * H + h) * Tq + i;
        float s = 0.f, dp = 0.f, dor[NPL];
#pragma unroll
        for (int e = 0; e < NPL; ++e)
        {
            const int d = lane + 32 * e;
            dor[e] = d < D ? g[e] * to_float(dy[row + d]) : 0.f;
            if (d < D) s += to_float(q[row + d]) * kr[e];
            dp += dor[e] * vr[e];
        }
        s = keep ? warp_sum(s) * scale : -FLT_MAX_;
        const float p = pers_prob(s, lse[stat], Tk);
        const float ds = keep ? p * (warp_sum(dp) - delta[stat]) * scale : 0.f;
#pragma unroll
        for (int e = 0; e < NPL; ++e)
        {
            const int d = lane + 32 * e;
            dva[e] += p * dor[e];
            if (d < D) dka[e] += ds * to_float(q[row + d]);
        }
    }
#pragma unroll
    for (int e = 0; e < NPL; ++e)
    {
        const int d = lane + 32 * e;
        if (d >= D) continue;
        if (dk) dk[key + d] = from_float<T>(dka[e]);
        if (dv) dv[key + d] = from_float<T>(dva[e]);
    }
}

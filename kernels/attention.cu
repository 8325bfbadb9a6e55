// Multi-head scaled-dot-product attention, flash style: scores never reach device memory; an online softmax keeps a
// running max m and sum l per query row, and lse = m + log l is saved for the backward pass.
// Layout: q [B,Tq,H·D], k [B,Tk,H·D], v [B,Tk,H·Dv], o [B,Tq,H·Dv] (heads interleaved, as to_q/to_k/to_v produce them),
// lse [B,H,Tq]. Masking: key_mask[b,j] == 0 sets the scaled logit to −FLT_MAX (ViCo's masked_fill, so a fully masked
// row becomes uniform); causal drops keys j > i entirely (OpenCLIP's −inf mask).
//
// Two forward paths:
//  - attn_fwd_rows: one warp per query row, K/V tiles of 32 keys in shared memory (f32), each lane scores one key.
//    Exact f32 arithmetic: the parity path, the small-KV path (77-token text cross-attention fits in three tiles),
//    and any head dim up to 32·NPL.
//  - attn_fwd_mma: bf16 tensor cores (mma.sync m16n8k16, f32 accumulate) for head dims 64 and 128: a warp owns 16
//    query rows, a block 64; S = Q·Kᵀ and O += P·V both on tensor cores, P re-used from the S accumulators in
//    registers (the FlashAttention-2 layout trick).
// Backward (f32, recomputing probabilities from lse): delta_i = dO_i·O_i (+ the head-averaged probability term),
// then one kernel for dq (warp per query row) and one for dk, dv (warp per key row) — no atomics.
#include "common.cuh"

#define ROWS_WARPS 8
#define KEY_TILE 32

__device__ __forceinline__ bool key_masked(const float* key_mask, int b, int Tk, int j)
{
    return key_mask && key_mask[(i64)b * Tk + j] == 0.f;
}

// Shared-memory floats attn_fwd_rows needs (the host computes the same from KernelShapes.AttentionRowsSmem).
template <class T, int NPL>
__global__ void __launch_bounds__(ROWS_WARPS * 32) attn_fwd_rows(const T* __restrict__ q, const T* __restrict__ k,
    const T* __restrict__ v, T* __restrict__ o, float* __restrict__ lse, const float* __restrict__ key_mask,
    int H, int Tq, int Tk, int D, int Dv, float scale, int causal)
{
    extern __shared__ float smem[];
    float* ks = smem;                          // [KEY_TILE][D + 1]: +1 so lanes reading one column per key miss bank conflicts
    float* vs = ks + KEY_TILE * (D + 1);       // [KEY_TILE][Dv]
    float* qs = vs + KEY_TILE * Dv;            // [ROWS_WARPS][D], pre-scaled
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, h = blockIdx.y, b = blockIdx.z;
    const int i = blockIdx.x * ROWS_WARPS + warp;
    const bool active = i < Tq;
    const i64 qk_row = (i64)H * D, v_row = (i64)H * Dv;
    float* qrow = qs + warp * D;
    if (active)
        for (int d = lane; d < D; d += 32) qrow[d] = to_float(q[((i64)b * Tq + i) * qk_row + (i64)h * D + d]) * scale;

    float acc[NPL];
#pragma unroll
    for (int r = 0; r < NPL; ++r) acc[r] = 0.f;
    float m = -INF_F, l = 0.f;
    const int kend = causal ? min(Tk, (blockIdx.x + 1) * ROWS_WARPS) : Tk;
    for (int j0 = 0; j0 < kend; j0 += KEY_TILE)
    {
        __syncthreads();
        for (int e = threadIdx.x; e < KEY_TILE * D; e += blockDim.x)
        {
            const int jj = e / D, d = e - jj * D, j = j0 + jj;
            ks[jj * (D + 1) + d] = j < Tk ? to_float(k[((i64)b * Tk + j) * qk_row + (i64)h * D + d]) : 0.f;
        }
        for (int e = threadIdx.x; e < KEY_TILE * Dv; e += blockDim.x)
        {
            const int jj = e / Dv, d = e - jj * Dv, j = j0 + jj;
            vs[e] = j < Tk ? to_float(v[((i64)b * Tk + j) * v_row + (i64)h * Dv + d]) : 0.f;
        }
        __syncthreads();
        if (!active) continue;

        const int j = j0 + lane;
        float s = -INF_F;
        if (j < Tk && !(causal && j > i))
        {
            float dot = 0.f;
            for (int d = 0; d < D; ++d) dot += qrow[d] * ks[lane * (D + 1) + d];
            s = key_masked(key_mask, b, Tk, j) ? -FLT_MAX_ : dot;
        }
        const float mnew = fmaxf(m, warp_max(s));
        if (mnew == -INF_F) continue;   // nothing visible yet (warp-uniform)
        const float corr = expf(m - mnew), p = expf(s - mnew);
        l = l * corr + warp_sum(p);
#pragma unroll
        for (int r = 0; r < NPL; ++r) acc[r] *= corr;
        const int jn = min(KEY_TILE, Tk - j0);
        for (int jj = 0; jj < jn; ++jj)
        {
            const float pj = __shfl_sync(0xffffffffu, p, jj);
#pragma unroll
            for (int r = 0; r < NPL; ++r)
            {
                const int d = lane + 32 * r;
                if (d < Dv) acc[r] += pj * vs[jj * Dv + d];
            }
        }
        m = mnew;
    }
    if (!active) return;
    const float inv = 1.f / l;
#pragma unroll
    for (int r = 0; r < NPL; ++r)
    {
        const int d = lane + 32 * r;
        if (d < Dv) o[((i64)b * Tq + i) * v_row + (i64)h * Dv + d] = from_float<T>(acc[r] * inv);
    }
    if (lane == 0) lse[((i64)b * H + h) * Tq + i] = m + logf(l);
}

#define MMA_WARPS 4
#define MMA_ROWS (16 * MMA_WARPS)
#define MMA_KEYS 64

// D = C + A·B on tensor cores: A 16×16 bf16 (row), B 16×8 bf16 (col), C/D 16×8 f32. Fragment ownership (PTX ISA):
// g = lane/4, t = lane%4; a[0]: row g, cols 2t..2t+1; a[1]: row g+8; a[2]: row g, cols 2t+8..; a[3]: row g+8, cols 2t+8..;
// b[0]: rows 2t..2t+1, col g; b[1]: rows 2t+8..2t+9; c[0..1]: row g, cols 2t..2t+1; c[2..3]: row g+8.
__device__ __forceinline__ void mma_bf16(float (&c)[4], const u32 (&a)[4], u32 b0, u32 b1)
{
#if __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
    __trap();   // the host only selects this path on sm_80+
#endif
}

__device__ __forceinline__ u32 ld_pair(const bf16* rowptr, int col) { return *(const u32*)(rowptr + col); }

// Requires 16-byte aligned q/k/v/o base pointers (the host checks) and D = Dv.
template <int D>
__global__ void __launch_bounds__(MMA_WARPS * 32) attn_fwd_mma(const bf16* __restrict__ q, const bf16* __restrict__ k,
    const bf16* __restrict__ v, bf16* __restrict__ o, float* __restrict__ lse, const float* __restrict__ key_mask,
    int H, int Tq, int Tk, float scale, int causal)
{
    constexpr int LDS = D + 8;       // shared row stride in bf16: the 16-byte pad staggers rows across banks
    constexpr int KC = D / 16;       // k-chunks of Q·Kᵀ
    constexpr int NT = D / 8;        // n-tiles of the output
    extern __shared__ __align__(16) unsigned char smem_raw[];
    u16* ks = (u16*)smem_raw;        // [MMA_KEYS][LDS]
    u16* vs = ks + MMA_KEYS * LDS;   // [MMA_KEYS][LDS]
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int h = blockIdx.y, b = blockIdx.z;
    const int r0 = blockIdx.x * MMA_ROWS + warp * 16 + g, r1 = r0 + 8;
    const i64 rs = (i64)H * D;
    const bf16* qb = q + (i64)b * Tq * rs + (i64)h * D;

    u32 qf[KC][4];
#pragma unroll
    for (int kc = 0; kc < KC; ++kc)
    {
        qf[kc][0] = r0 < Tq ? ld_pair(qb + r0 * rs, kc * 16 + 2 * t) : 0u;
        qf[kc][1] = r1 < Tq ? ld_pair(qb + r1 * rs, kc * 16 + 2 * t) : 0u;
        qf[kc][2] = r0 < Tq ? ld_pair(qb + r0 * rs, kc * 16 + 8 + 2 * t) : 0u;
        qf[kc][3] = r1 < Tq ? ld_pair(qb + r1 * rs, kc * 16 + 8 + 2 * t) : 0u;
    }
    float acc[NT][4];
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) acc[nt][0] = acc[nt][1] = acc[nt][2] = acc[nt][3] = 0.f;
    float m0 = -INF_F, m1 = -INF_F, l0 = 0.f, l1 = 0.f;

    const int kend = causal ? min(Tk, (blockIdx.x + 1) * MMA_ROWS) : Tk;
    for (int j0 = 0; j0 < kend; j0 += MMA_KEYS)
    {
        __syncthreads();
        for (int e = threadIdx.x; e < MMA_KEYS * (D / 8); e += blockDim.x)
        {
            const int jj = e / (D / 8), c = (e - jj * (D / 8)) * 8, j = j0 + jj;
            uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
            if (j < Tk)
            {
                kv = *(const uint4*)(k + ((i64)b * Tk + j) * rs + (i64)h * D + c);
                vv = *(const uint4*)(v + ((i64)b * Tk + j) * rs + (i64)h * D + c);
            }
            *(uint4*)(ks + jj * LDS + c) = kv;
            *(uint4*)(vs + jj * LDS + c) = vv;
        }
        __syncthreads();

        float s[MMA_KEYS / 8][4];
#pragma unroll
        for (int nt = 0; nt < MMA_KEYS / 8; ++nt)
        {
            s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
            const u16* krow = ks + (nt * 8 + g) * LDS;
#pragma unroll
            for (int kc = 0; kc < KC; ++kc)
                mma_bf16(s[nt], qf[kc], *(const u32*)(krow + kc * 16 + 2 * t), *(const u32*)(krow + kc * 16 + 8 + 2 * t));
        }

        float mx0 = -INF_F, mx1 = -INF_F;
#pragma unroll
        for (int nt = 0; nt < MMA_KEYS / 8; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e)
            {
                const int j = j0 + nt * 8 + 2 * t + (e & 1), row = e < 2 ? r0 : r1;
                float x = s[nt][e] * scale;
                if (j >= Tk || (causal && j > row)) x = -INF_F;
                else if (key_masked(key_mask, b, Tk, j)) x = -FLT_MAX_;
                s[nt][e] = x;
                if (e < 2) mx0 = fmaxf(mx0, x); else mx1 = fmaxf(mx1, x);
            }
        // The four lanes of a quad share a row.
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
        const float n0 = fmaxf(m0, mx0), n1 = fmaxf(m1, mx1);
        const float c0 = n0 == -INF_F ? 1.f : expf(m0 - n0), c1 = n1 == -INF_F ? 1.f : expf(m1 - n1);
        float sum0 = 0.f, sum1 = 0.f;
#pragma unroll
        for (int nt = 0; nt < MMA_KEYS / 8; ++nt)
        {
            s[nt][0] = n0 == -INF_F ? 0.f : expf(s[nt][0] - n0);
            s[nt][1] = n0 == -INF_F ? 0.f : expf(s[nt][1] - n0);
            s[nt][2] = n1 == -INF_F ? 0.f : expf(s[nt][2] - n1);
            s[nt][3] = n1 == -INF_F ? 0.f : expf(s[nt][3] - n1);
            sum0 += s[nt][0] + s[nt][1];
            sum1 += s[nt][2] + s[nt][3];
        }
        sum0 += __shfl_xor_sync(0xffffffffu, sum0, 1);
        sum0 += __shfl_xor_sync(0xffffffffu, sum0, 2);
        sum1 += __shfl_xor_sync(0xffffffffu, sum1, 1);
        sum1 += __shfl_xor_sync(0xffffffffu, sum1, 2);
        l0 = l0 * c0 + sum0;
        l1 = l1 * c1 + sum1;
        m0 = n0;
        m1 = n1;
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) { acc[nt][0] *= c0; acc[nt][1] *= c0; acc[nt][2] *= c1; acc[nt][3] *= c1; }

#pragma unroll
        for (int kc = 0; kc < MMA_KEYS / 16; ++kc)
        {
            const u32 a[4] = { pack_bf16(s[2 * kc][0], s[2 * kc][1]), pack_bf16(s[2 * kc][2], s[2 * kc][3]),
                               pack_bf16(s[2 * kc + 1][0], s[2 * kc + 1][1]), pack_bf16(s[2 * kc + 1][2], s[2 * kc + 1][3]) };
            const u16* v0 = vs + (kc * 16 + 2 * t) * LDS;
#pragma unroll
            for (int nt = 0; nt < NT; ++nt)
            {
                const int n = nt * 8 + g;
                const u32 b0 = (u32)v0[n] | ((u32)v0[LDS + n] << 16);
                const u32 b1 = (u32)v0[8 * LDS + n] | ((u32)v0[9 * LDS + n] << 16);
                mma_bf16(acc[nt], a, b0, b1);
            }
        }
    }

    const float i0 = 1.f / l0, i1 = 1.f / l1;
    bf16* ob = o + (i64)b * Tq * rs + (i64)h * D;
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
    {
        const int col = nt * 8 + 2 * t;
        if (r0 < Tq) *(u32*)(ob + r0 * rs + col) = pack_bf16(acc[nt][0] * i0, acc[nt][1] * i0);
        if (r1 < Tq) *(u32*)(ob + r1 * rs + col) = pack_bf16(acc[nt][2] * i1, acc[nt][3] * i1);
    }
    if (t == 0)
    {
        if (r0 < Tq) lse[((i64)b * H + h) * Tq + r0] = m0 + logf(l0);
        if (r1 < Tq) lse[((i64)b * H + h) * Tq + r1] = m1 + logf(l1);
    }
}

// Probability from a recomputed logit and the row's lse. A fully masked row has every visible logit at −FLT_MAX, so
// lse = −FLT_MAX + log(n) rounds back to −FLT_MAX and exp(s − lse) would say 1: its softmax is uniform over the n
// visible keys (what the forward's online softmax produced), so that is returned instead.
__device__ __forceinline__ float row_prob(float s, float lse, int i, int Tk, int causal)
{
    if (lse == -FLT_MAX_) return s == -INF_F ? 0.f : 1.f / (float)(causal ? min(i + 1, Tk) : Tk);
    return expf(s - lse);
}

// Scaled, masked logit of (b, h, i, j) recomputed from q and k (for the probabilities and the backward delta).
template <class T>
__device__ __forceinline__ float logit(const T* q, const T* k, const float* key_mask, int b, int h, int i, int j,
    int H, int Tq, int Tk, int D, float scale, int causal)
{
    if (j < 0 || j >= Tk || (causal && j > i)) return -INF_F;
    if (key_masked(key_mask, b, Tk, j)) return -FLT_MAX_;
    const T* qr = q + ((i64)b * Tq + i) * H * D + (i64)h * D;
    const T* kr = k + ((i64)b * Tk + j) * H * D + (i64)h * D;
    float dot = 0.f;
    for (int d = 0; d < D; ++d) dot += to_float(qr[d]) * scale * to_float(kr[d]);
    return dot;
}

// probs[b, i, n] = mean over heads of softmax(b, h, i, keys[b, n]) (ViCo's head-averaged attention map of a token).
template <class T>
__global__ void attn_probs(const T* __restrict__ q, const T* __restrict__ k, const float* __restrict__ lse,
    const float* __restrict__ key_mask, const int* __restrict__ keys, T* __restrict__ probs,
    int B, int H, int Tq, int Tk, int D, int nk, float scale, int causal)
{
    FOR_EACH(idx, (i64)B * Tq * nk)
    {
        const int n = (int)(idx % nk), i = (int)(idx / nk % Tq), b = (int)(idx / ((i64)nk * Tq));
        const int j = keys[b * nk + n];
        float acc = 0.f;
        for (int h = 0; h < H; ++h)
            acc += row_prob(logit(q, k, key_mask, b, h, i, j, H, Tq, Tk, D, scale, causal), lse[((i64)b * H + h) * Tq + i], i, Tk, causal);
        probs[idx] = from_float<T>(acc / (float)H);
    }
}

// Σ_n [keys[b,n] == j] · dprobs[b,i,n] / H: the probability output's share of dL/dP(b,h,i,j).
template <class T>
__device__ __forceinline__ float probs_grad(const int* keys, const T* dprobs, int b, int i, int j, int Tq, int nk, float inv_h)
{
    float g = 0.f;
    for (int n = 0; n < nk; ++n)
        if (keys[b * nk + n] == j) g += to_float(dprobs[((i64)b * Tq + i) * nk + n]);
    return g * inv_h;
}

// delta[b,h,i] = Σ_j P·dP = dO_i·O_i + Σ_n P(keys_n)·dprobs_n / H. One warp per row.
template <class T>
__global__ void attn_bwd_delta(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ o, const T* __restrict__ dout,
    const float* __restrict__ lse, const float* __restrict__ key_mask, const int* __restrict__ keys, const T* __restrict__ dprobs,
    float* __restrict__ delta, int B, int H, int Tq, int Tk, int D, int Dv, int nk, float scale, int causal)
{
    const i64 row = (i64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= (i64)B * H * Tq) return;
    const int i = (int)(row % Tq), h = (int)(row / Tq % H), b = (int)(row / ((i64)Tq * H));
    const i64 base = ((i64)b * Tq + i) * H * Dv + (i64)h * Dv;
    float s = 0.f;
    for (int d = lane; d < Dv; d += 32) s += to_float(dout[base + d]) * to_float(o[base + d]);
    s = warp_sum(s);
    if (dprobs)
    {
        float extra = 0.f;
        for (int n = lane; n < nk; n += 32)
        {
            const float p = row_prob(logit(q, k, key_mask, b, h, i, keys[b * nk + n], H, Tq, Tk, D, scale, causal), lse[row], i, Tk, causal);
            extra += p * to_float(dprobs[((i64)b * Tq + i) * nk + n]);
        }
        s += warp_sum(extra) / (float)H;
    }
    if (lane == 0) delta[row] = s;
}

// dq_i = scale · Σ_j dS_ij k_j with dS = P ⊙ (dP − delta); masked keys pass no gradient (masked_fill's adjoint).
template <class T, int NPL>
__global__ void __launch_bounds__(ROWS_WARPS * 32) attn_bwd_dq(const T* __restrict__ q, const T* __restrict__ k,
    const T* __restrict__ v, const T* __restrict__ dout, const float* __restrict__ lse, const float* __restrict__ delta,
    const float* __restrict__ key_mask, const int* __restrict__ keys, const T* __restrict__ dprobs, T* __restrict__ dq,
    int H, int Tq, int Tk, int D, int Dv, int nk, float scale, int causal)
{
    extern __shared__ float smem[];
    float* ks = smem;                          // [KEY_TILE][D + 1]
    float* vs = ks + KEY_TILE * (D + 1);       // [KEY_TILE][Dv + 1]
    float* qs = vs + KEY_TILE * (Dv + 1);      // [ROWS_WARPS][D], pre-scaled
    float* ds_ = qs + ROWS_WARPS * D;          // [ROWS_WARPS][Dv]: dO rows
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, h = blockIdx.y, b = blockIdx.z;
    const int i = blockIdx.x * ROWS_WARPS + warp;
    const bool active = i < Tq;
    const i64 qk_row = (i64)H * D, v_row = (i64)H * Dv;
    float* qrow = qs + warp * D;
    float* dorow = ds_ + warp * Dv;
    float row_lse = 0.f, row_delta = 0.f;
    if (active)
    {
        for (int d = lane; d < D; d += 32) qrow[d] = to_float(q[((i64)b * Tq + i) * qk_row + (i64)h * D + d]) * scale;
        for (int d = lane; d < Dv; d += 32) dorow[d] = to_float(dout[((i64)b * Tq + i) * v_row + (i64)h * Dv + d]);
        row_lse = lse[((i64)b * H + h) * Tq + i];
        row_delta = delta[((i64)b * H + h) * Tq + i];
    }
    float acc[NPL];
#pragma unroll
    for (int r = 0; r < NPL; ++r) acc[r] = 0.f;
    const float inv_h = 1.f / (float)H;
    const int kend = causal ? min(Tk, (blockIdx.x + 1) * ROWS_WARPS) : Tk;
    for (int j0 = 0; j0 < kend; j0 += KEY_TILE)
    {
        __syncthreads();
        for (int e = threadIdx.x; e < KEY_TILE * D; e += blockDim.x)
        {
            const int jj = e / D, d = e - jj * D, j = j0 + jj;
            ks[jj * (D + 1) + d] = j < Tk ? to_float(k[((i64)b * Tk + j) * qk_row + (i64)h * D + d]) : 0.f;
        }
        for (int e = threadIdx.x; e < KEY_TILE * Dv; e += blockDim.x)
        {
            const int jj = e / Dv, d = e - jj * Dv, j = j0 + jj;
            vs[jj * (Dv + 1) + d] = j < Tk ? to_float(v[((i64)b * Tk + j) * v_row + (i64)h * Dv + d]) : 0.f;
        }
        __syncthreads();
        if (!active) continue;
        const int j = j0 + lane;
        float dsj = 0.f;
        if (j < Tk && !(causal && j > i) && !key_masked(key_mask, b, Tk, j))
        {
            float s = 0.f, dp = 0.f;
            for (int d = 0; d < D; ++d) s += qrow[d] * ks[lane * (D + 1) + d];
            for (int d = 0; d < Dv; ++d) dp += dorow[d] * vs[lane * (Dv + 1) + d];
            if (dprobs) dp += probs_grad(keys, dprobs, b, i, j, Tq, nk, inv_h);
            dsj = expf(s - row_lse) * (dp - row_delta);
        }
        const int jn = min(KEY_TILE, Tk - j0);
        for (int jj = 0; jj < jn; ++jj)
        {
            const float g = __shfl_sync(0xffffffffu, dsj, jj);
#pragma unroll
            for (int r = 0; r < NPL; ++r)
            {
                const int d = lane + 32 * r;
                if (d < D) acc[r] += g * ks[jj * (D + 1) + d];
            }
        }
    }
    if (!active) return;
#pragma unroll
    for (int r = 0; r < NPL; ++r)
    {
        const int d = lane + 32 * r;
        if (d < D) dq[((i64)b * Tq + i) * qk_row + (i64)h * D + d] = from_float<T>(acc[r] * scale);
    }
}

// dv_j = Σ_i P_ij dO_i, dk_j = scale · Σ_i dS_ij q_i: one warp per key row, query tiles of 32 in shared memory.
template <class T, int NPL>
__global__ void __launch_bounds__(ROWS_WARPS * 32) attn_bwd_dkdv(const T* __restrict__ q, const T* __restrict__ k,
    const T* __restrict__ v, const T* __restrict__ dout, const float* __restrict__ lse, const float* __restrict__ delta,
    const float* __restrict__ key_mask, const int* __restrict__ keys, const T* __restrict__ dprobs, T* __restrict__ dk,
    T* __restrict__ dv, int H, int Tq, int Tk, int D, int Dv, int nk, float scale, int causal)
{
    extern __shared__ float smem[];
    float* qs = smem;                          // [KEY_TILE][D + 1] queries of the tile, pre-scaled
    float* dos = qs + KEY_TILE * (D + 1);      // [KEY_TILE][Dv + 1]
    float* kr = dos + KEY_TILE * (Dv + 1);     // [ROWS_WARPS][D]
    float* vr = kr + ROWS_WARPS * D;           // [ROWS_WARPS][Dv]
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, h = blockIdx.y, b = blockIdx.z;
    const int j = blockIdx.x * ROWS_WARPS + warp;
    const bool active = j < Tk;
    const i64 qk_row = (i64)H * D, v_row = (i64)H * Dv;
    float* krow = kr + warp * D;
    float* vrow = vr + warp * Dv;
    if (active)
    {
        for (int d = lane; d < D; d += 32) krow[d] = to_float(k[((i64)b * Tk + j) * qk_row + (i64)h * D + d]);
        for (int d = lane; d < Dv; d += 32) vrow[d] = to_float(v[((i64)b * Tk + j) * v_row + (i64)h * Dv + d]);
    }
    const bool masked = active && key_masked(key_mask, b, Tk, j);
    float gk[NPL], gv[NPL];
#pragma unroll
    for (int r = 0; r < NPL; ++r) gk[r] = gv[r] = 0.f;
    const float inv_h = 1.f / (float)H;
    // Causal: queries before the block's first key see none of its keys.
    const int qstart = causal ? (blockIdx.x * ROWS_WARPS) / KEY_TILE * KEY_TILE : 0;
    for (int i0 = qstart; i0 < Tq; i0 += KEY_TILE)
    {
        __syncthreads();
        for (int e = threadIdx.x; e < KEY_TILE * D; e += blockDim.x)
        {
            const int ii = e / D, d = e - ii * D, i = i0 + ii;
            qs[ii * (D + 1) + d] = i < Tq ? to_float(q[((i64)b * Tq + i) * qk_row + (i64)h * D + d]) * scale : 0.f;
        }
        for (int e = threadIdx.x; e < KEY_TILE * Dv; e += blockDim.x)
        {
            const int ii = e / Dv, d = e - ii * Dv, i = i0 + ii;
            dos[ii * (Dv + 1) + d] = i < Tq ? to_float(dout[((i64)b * Tq + i) * v_row + (i64)h * Dv + d]) : 0.f;
        }
        __syncthreads();
        if (!active) continue;
        const int i = i0 + lane;
        float p = 0.f, dsi = 0.f;
        if (i < Tq && !(causal && j > i))
        {
            float s = 0.f, dp = 0.f;
            for (int d = 0; d < D; ++d) s += qs[lane * (D + 1) + d] * krow[d];
            for (int d = 0; d < Dv; ++d) dp += dos[lane * (Dv + 1) + d] * vrow[d];
            if (masked) s = -FLT_MAX_;
            const i64 row = ((i64)b * H + h) * Tq + i;
            p = row_prob(s, lse[row], i, Tk, causal);
            if (dprobs) dp += probs_grad(keys, dprobs, b, i, j, Tq, nk, inv_h);
            dsi = masked ? 0.f : p * (dp - delta[row]);
        }
        const int in = min(KEY_TILE, Tq - i0);
        for (int ii = 0; ii < in; ++ii)
        {
            const float pi = __shfl_sync(0xffffffffu, p, ii), gi = __shfl_sync(0xffffffffu, dsi, ii);
#pragma unroll
            for (int r = 0; r < NPL; ++r)
            {
                const int d = lane + 32 * r;
                if (d < Dv) gv[r] += pi * dos[ii * (Dv + 1) + d];
                if (d < D) gk[r] += gi * qs[ii * (D + 1) + d];
            }
        }
    }
    if (!active) return;
#pragma unroll
    for (int r = 0; r < NPL; ++r)
    {
        const int d = lane + 32 * r;
        if (dk && d < D) dk[((i64)b * Tk + j) * qk_row + (i64)h * D + d] = from_float<T>(gk[r]);
        if (dv && d < Dv) dv[((i64)b * Tk + j) * v_row + (i64)h * Dv + d] = from_float<T>(gv[r]);
    }
}

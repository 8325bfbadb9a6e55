// PFStorer's gated personalization residual F̂ = F + γ ⊙ (P + b): the epilogue of the personalization block's output
// projection (P = its GEMM result, b its bias, γ the per-channel gate), over rows of C channels (tokens × channels).
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

// LayerNorm over the last dim of x [rows, C]: one block per row (C is 320…1280 in the UNet, 1024 in OpenCLIP).
#include "common.cuh"

template <class T>
__global__ void layernorm_fwd(const T* __restrict__ x, const T* __restrict__ weight, const T* __restrict__ bias,
    T* __restrict__ y, float* __restrict__ mean_out, float* __restrict__ rstd_out, int C, float eps)
{
    __shared__ float scratch[32];
    const i64 base = (i64)blockIdx.x * C;
    float mean, rstd;
    block_moments(x, base, (i64)C, eps, scratch, mean, rstd);
    if (threadIdx.x == 0) { mean_out[blockIdx.x] = mean; rstd_out[blockIdx.x] = rstd; }
    for (int i = threadIdx.x; i < C; i += blockDim.x)
    {
        float z = (to_float(x[base + i]) - mean) * rstd;
        if (weight) z *= to_float(weight[i]);
        if (bias) z += to_float(bias[i]);
        y[base + i] = from_float<T>(z);
    }
}

template <class T>
__global__ void layernorm_bwd_input(const T* __restrict__ x, const T* __restrict__ weight, const float* __restrict__ mean,
    const float* __restrict__ rstd, const T* __restrict__ dy, T* __restrict__ dx, int C)
{
    __shared__ float scratch[32];
    const i64 base = (i64)blockIdx.x * C;
    const float mu = mean[blockIdx.x], rs = rstd[blockIdx.x];
    float sum_d = 0.f, sum_dx = 0.f;
    for (int i = threadIdx.x; i < C; i += blockDim.x)
    {
        const float xh = (to_float(x[base + i]) - mu) * rs;
        const float dxh = to_float(dy[base + i]) * (weight ? to_float(weight[i]) : 1.f);
        sum_d += dxh;
        sum_dx += dxh * xh;
    }
    const float mean_d = block_sum(sum_d, scratch) / (float)C;
    const float mean_dx = block_sum(sum_dx, scratch) / (float)C;
    for (int i = threadIdx.x; i < C; i += blockDim.x)
    {
        const float xh = (to_float(x[base + i]) - mu) * rs;
        const float dxh = to_float(dy[base + i]) * (weight ? to_float(weight[i]) : 1.f);
        dx[base + i] = from_float<T>(rs * (dxh - mean_d - xh * mean_dx));
    }
}

// dweight[c] = Σ_rows dy·x̂, dbias[c] = Σ_rows dy. Block (32, 8): 32 adjacent columns read coalesced, 8 row strides,
// then a shared-memory reduction over the 8.
template <class T>
__global__ void layernorm_bwd_params(const T* __restrict__ x, const float* __restrict__ mean, const float* __restrict__ rstd,
    const T* __restrict__ dy, T* __restrict__ dweight, T* __restrict__ dbias, i64 rows, int C)
{
    __shared__ float sw[8][33], sb[8][33];
    const int c = blockIdx.x * 32 + threadIdx.x;
    float aw = 0.f, ab = 0.f;
    if (c < C)
    {
        for (i64 r = threadIdx.y; r < rows; r += blockDim.y)
        {
            const float g = to_float(dy[r * C + c]);
            aw += g * (to_float(x[r * C + c]) - mean[r]) * rstd[r];
            ab += g;
        }
    }
    sw[threadIdx.y][threadIdx.x] = aw;
    sb[threadIdx.y][threadIdx.x] = ab;
    __syncthreads();
    if (threadIdx.y == 0 && c < C)
    {
        for (int k = 1; k < (int)blockDim.y; ++k) { aw += sw[k][threadIdx.x]; ab += sb[k][threadIdx.x]; }
        if (dweight) dweight[c] = from_float<T>(aw);
        if (dbias) dbias[c] = from_float<T>(ab);
    }
}

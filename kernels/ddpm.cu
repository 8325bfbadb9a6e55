// The sampler's kernels: the classifier-free guidance mix of a tile's two predictions, the tiled-sampling accumulation,
// and one reverse DDPM step (StableSR p_sample / p_mean_variance, eps- or v-parameterised through the coefficients) in
// one pass over the latent.
//   eps   = neg + s·(pos − neg)  (guidance, per tile before the tiles are blended)
//   x̂0    = a·x − b·eps          (eps-model: a = √(1/ᾱ), b = √(1/ᾱ−1); v-model: a = √ᾱ, b = √(1−ᾱ))
//   mean  = coef1·x̂0 + coef2·x
//   next  = mean + sigma·z       (sigma = exp(½·logvar_clipped); no noise at the last step)
// Products and sums are rounded one at a time (__fmul_rn/__fadd_rn stop the compiler contracting them into FMAs), the
// float32 order of upstream PyTorch and of the CPU backend's SamplingCpu, so both backends track the reference.
#include "common.cuh"

__device__ __forceinline__ float guided(float neg, float pos, float scale)
{
    return __fadd_rn(neg, __fmul_rn(scale, __fsub_rn(pos, neg)));
}

template <class T> __global__ void guidance(const T* neg, const T* pos, T* y, i64 n, float scale)
{
    FOR_EACH(i, n) y[i] = from_float<T>(guided(to_float(neg[i]), to_float(pos[i]), scale));
}

// next may alias x: each element is read before it is written by the same thread.
template <class T> __global__ void posterior_step(const T* x, const T* eps, const T* noise, T* next,
    T* x0_out, T* mean_out, i64 n, float a, float b, float coef1, float coef2, float sigma)
{
    FOR_EACH(i, n)
    {
        const float xi = to_float(x[i]);
        const float e = to_float(eps[i]);
        const float x0 = __fsub_rn(__fmul_rn(a, xi), __fmul_rn(b, e));
        const float mean = __fadd_rn(__fmul_rn(coef1, x0), __fmul_rn(coef2, xi));
        if (x0_out) x0_out[i] = from_float<T>(x0);
        if (mean_out) mean_out[i] = from_float<T>(mean);
        next[i] = from_float<T>(noise && sigma != 0.f ? __fadd_rn(mean, __fmul_rn(sigma, to_float(noise[i]))) : mean);
    }
}

// dst[p, top + i, left + j] += tile[p, i, j] · weight[i, j]: one tile's weighted share of the aggregated prediction.
template <class T> __global__ void accumulate_tile(const T* __restrict__ tile, const T* __restrict__ weight, T* __restrict__ dst,
    i64 planes, int h, int w, int H, int W, int top, int left)
{
    FOR_EACH(i, planes * h * w)
    {
        const int j = (int)(i % w), r = (int)(i / w % h);
        const i64 p = i / ((i64)h * w);
        T* d = dst + (p * H + top + r) * W + left + j;
        *d = from_float<T>(__fadd_rn(to_float(*d), __fmul_rn(to_float(tile[i]), to_float(weight[r * w + j]))));
    }
}

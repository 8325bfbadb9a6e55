// The per-channel bias epilogue and its gradient, shared by the convolution (planes of Ho·Wo pixels) and the MatMul
// bias (rows of n columns, one "plane" per element).
#include "common.cuh"

// y [P, L] += bias[p % O] over P = B·O planes of L elements. The MatMul bias epilogue is the case L = 1 (c [rows, O]).
template <class T> __global__ void add_channel_bias(T* __restrict__ y, const T* __restrict__ bias, i64 planes, int O, i64 L)
{
    FOR_EACH(i, planes * L)
    {
        const int o = (int)(i / L % O);
        y[i] = from_float<T>(to_float(y[i]) + to_float(bias[o]));
    }
}

// dbias[o] = Σ_{b,l} dy[b, o, l]: one block per channel.
template <class T> __global__ void channel_bias_grad(const T* __restrict__ dy, T* __restrict__ dbias, int B, int O, i64 L)
{
    __shared__ float scratch[32];
    const int o = blockIdx.x;
    float s = 0.f;
    for (int b = 0; b < B; ++b)
        for (i64 l = threadIdx.x; l < L; l += blockDim.x) s += to_float(dy[((i64)b * O + o) * L + l]);
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) dbias[o] = from_float<T>(s);
}

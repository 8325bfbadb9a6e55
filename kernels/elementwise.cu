// Activations, broadcast arithmetic, affine and SFT modulation; forward and backward side by side.
// Every kernel is memory-bound: one read of each input and one write of each output per element.
#include "common.cuh"

// Order of PFStorer.Graph.Backends.UnaryOp.
#define OP_SILU 0
#define OP_RELU 1
#define OP_GELU 2
// Order of PFStorer.Graph.Backends.BinaryOp.
#define OP_ADD 0
#define OP_SUB 1
#define OP_MUL 2

#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

template <int OP> __device__ __forceinline__ float activation(float x)
{
    if (OP == OP_SILU) return x * sigmoidf_(x);
    if (OP == OP_RELU) return x > 0.f ? x : 0.f;
    return 0.5f * x * (1.f + erff(x * INV_SQRT2));   // exact (erf) GELU, as torch's default
}

template <int OP> __device__ __forceinline__ float activation_grad(float x)
{
    if (OP == OP_SILU)
    {
        const float s = sigmoidf_(x);
        return s * (1.f + x * (1.f - s));
    }
    if (OP == OP_RELU) return x > 0.f ? 1.f : 0.f;
    return 0.5f * (1.f + erff(x * INV_SQRT2)) + x * INV_SQRT_2PI * expf(-0.5f * x * x);
}

template <class T, int OP> __global__ void unary_fwd(const T* __restrict__ x, T* __restrict__ y, i64 n)
{
    FOR_EACH(i, n) y[i] = from_float<T>(activation<OP>(to_float(x[i])));
}

template <class T, int OP> __global__ void unary_bwd(const T* __restrict__ x, const T* __restrict__ dy, T* __restrict__ dx, i64 n)
{
    FOR_EACH(i, n) dx[i] = from_float<T>(to_float(dy[i]) * activation_grad<OP>(to_float(x[i])));
}

// LeakyReLU y = x ≥ 0 ? x : slope·x (ESRGAN's RRDB blocks in the CFW decoder use slope 0.2).
template <class T> __global__ void leaky_relu_fwd(const T* __restrict__ x, T* __restrict__ y, i64 n, float slope)
{
    FOR_EACH(i, n)
    {
        const float v = to_float(x[i]);
        y[i] = from_float<T>(v >= 0.f ? v : slope * v);
    }
}

template <class T> __global__ void leaky_relu_bwd(const T* __restrict__ x, const T* __restrict__ dy, T* __restrict__ dx, i64 n, float slope)
{
    FOR_EACH(i, n)
    {
        const float g = to_float(dy[i]);
        dx[i] = from_float<T>(to_float(x[i]) >= 0.f ? g : slope * g);
    }
}

// GEGLU over rows of width 2·half: value = first half, gate = second half; y = value·GELU(gate).
template <class T> __global__ void geglu_fwd(const T* __restrict__ x, T* __restrict__ y, i64 rows, i64 half)
{
    FOR_EACH(i, rows * half)
    {
        const i64 r = i / half, c = i - r * half;
        const float value = to_float(x[r * 2 * half + c]), gate = to_float(x[r * 2 * half + half + c]);
        y[i] = from_float<T>(value * activation<OP_GELU>(gate));
    }
}

// One thread per output element writes both input gradients it owns, so no two threads touch the same dx.
template <class T> __global__ void geglu_bwd(const T* __restrict__ x, const T* __restrict__ dy, T* __restrict__ dx, i64 rows, i64 half)
{
    FOR_EACH(i, rows * half)
    {
        const i64 r = i / half, c = i - r * half;
        const i64 iv = r * 2 * half + c, ig = iv + half;
        const float value = to_float(x[iv]), gate = to_float(x[ig]), g = to_float(dy[i]);
        dx[iv] = from_float<T>(g * activation<OP_GELU>(gate));
        dx[ig] = from_float<T>(g * value * activation_grad<OP_GELU>(gate));
    }
}

template <int OP> __device__ __forceinline__ float binary(float a, float b)
{
    if (OP == OP_ADD) return a + b;
    if (OP == OP_SUB) return a - b;
    return a * b;
}

// Same-shape operands: the common case (residual adds) without any index arithmetic.
template <class T, int OP> __global__ void binary_same(const T* a, const T* b, T* y, i64 n)
{
    FOR_EACH(i, n) y[i] = from_float<T>(binary<OP>(to_float(a[i]), to_float(b[i])));
}

// Broadcast operands: la / lb walk y's shape with each operand's strides (0 on broadcast dims). y may alias a.
template <class T, int OP> __global__ void binary_bcast(const T* a, const T* b, T* y, i64 n, Layout la, Layout lb)
{
    FOR_EACH(i, n) y[i] = from_float<T>(binary<OP>(to_float(a[layout_offset(i, la)]), to_float(b[layout_offset(i, lb)])));
}

template <class T> __global__ void affine(const T* x, T* y, i64 n, float alpha, float beta)
{
    FOR_EACH(i, n) y[i] = from_float<T>(alpha * to_float(x[i]) + beta);
}

// SFT / SPADE modulation y = x·(1+γ) + β (StableSR's SFT layers, operands of one shape).
template <class T> __global__ void sft_fwd(const T* __restrict__ x, const T* __restrict__ gamma, const T* __restrict__ beta, T* __restrict__ y, i64 n)
{
    FOR_EACH(i, n) y[i] = from_float<T>(to_float(x[i]) * (1.f + to_float(gamma[i])) + to_float(beta[i]));
}

// Null outputs are skipped (frozen inputs); dβ = dy is a copy the caller could avoid but the interface asks for it.
template <class T> __global__ void sft_bwd(const T* __restrict__ x, const T* __restrict__ gamma, const T* __restrict__ dy,
    T* __restrict__ dx, T* __restrict__ dgamma, T* __restrict__ dbeta, i64 n)
{
    FOR_EACH(i, n)
    {
        const float g = to_float(dy[i]);
        if (dx) dx[i] = from_float<T>(g * (1.f + to_float(gamma[i])));
        if (dgamma) dgamma[i] = from_float<T>(g * to_float(x[i]));
        if (dbeta) dbeta[i] = dy[i];
    }
}

// Sliding-window ops on NCHW planes for the face networks (inference only): depthwise convolution (one k×k filter per
// channel), max / average pooling over windows inside the input, and constant padding (asymmetric, for TensorFlow's
// 'same' windows). One thread per output element; arithmetic in f32.
#include "common.cuh"

// y [B,C,Ho,Wo] = x [B,C,H,W] ⋆ w [C,1,k,k] (+ bias [C] when non-null), symmetric zero padding `pad`.
template <class T> __global__ void depthwise_conv2d(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ bias,
    T* __restrict__ y, i64 planes, int C, int H, int W, int k, int stride, int pad, int Ho, int Wo)
{
    FOR_EACH(i, planes * Ho * Wo)
    {
        const i64 p = i / ((i64)Ho * Wo);
        const int r = (int)(i - p * Ho * Wo), oy = r / Wo, ox = r - oy * Wo, c = (int)(p % C);
        const T* xp = x + p * H * W;
        const T* wc = w + (i64)c * k * k;
        float s = bias ? to_float(bias[c]) : 0.f;
        for (int ky = 0; ky < k; ++ky)
        {
            const int iy = oy * stride - pad + ky;
            if (iy < 0 || iy >= H) continue;
            for (int kx = 0; kx < k; ++kx)
            {
                const int ix = ox * stride - pad + kx;
                if (ix >= 0 && ix < W) s += to_float(xp[(i64)iy * W + ix]) * to_float(wc[ky * k + kx]);
            }
        }
        y[i] = from_float<T>(s);
    }
}

// OP 0: max, 1: mean over each k×k window (windows lie inside the input).
template <class T, int OP> __global__ void pool2d(const T* __restrict__ x, T* __restrict__ y, i64 planes, int H, int W, int k,
    int stride, int Ho, int Wo)
{
    FOR_EACH(i, planes * Ho * Wo)
    {
        const i64 p = i / ((i64)Ho * Wo);
        const int r = (int)(i - p * Ho * Wo), oy = r / Wo, ox = r - oy * Wo;
        const T* w0 = x + p * H * W + (i64)oy * stride * W + (i64)ox * stride;
        float acc = OP == 0 ? -__int_as_float(0x7f800000) : 0.f;
        for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx)
            {
                const float v = to_float(w0[(i64)ky * W + kx]);
                acc = OP == 0 ? fmaxf(acc, v) : acc + v;
            }
        y[i] = from_float<T>(OP == 0 ? acc : acc / (float)(k * k));
    }
}

// y [planes, Ho, Wo]: x [planes, H, W] placed at (top, left), `value` elsewhere.
template <class T> __global__ void pad2d(const T* __restrict__ x, T* __restrict__ y, i64 planes, int H, int W, int Ho, int Wo,
    int top, int left, float value)
{
    FOR_EACH(i, planes * Ho * Wo)
    {
        const i64 p = i / ((i64)Ho * Wo);
        const int r = (int)(i - p * Ho * Wo), iy = r / Wo - top, ix = r % Wo - left;
        y[i] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? x[(p * H + iy) * W + ix] : from_float<T>(value);
    }
}

// Concatenation, nearest 2× upsampling, reductions along one dim and the broadcast adjoint (sum to shape).
#include "common.cuh"

// Order of PFStorer.Graph.Backends.ReduceOp.
#define RED_SUM 0
#define RED_MEAN 1
#define RED_MAX 2

// One input of a concat: src viewed as [outer, inner_src] lands at column offset of dst viewed as [outer, inner_dst].
template <class T> __global__ void concat_part(const T* __restrict__ src, T* __restrict__ dst, i64 outer, i64 inner_src, i64 inner_dst, i64 offset)
{
    FOR_EACH(i, outer * inner_src)
    {
        const i64 o = i / inner_src;
        dst[o * inner_dst + offset + (i - o * inner_src)] = src[i];
    }
}

// x [planes, H, W] → y [planes, 2H, 2W]: one thread per output element (writes coalesced).
template <class T> __global__ void upsample2x_fwd(const T* __restrict__ x, T* __restrict__ y, i64 planes, int H, int W)
{
    const int W2 = 2 * W;
    FOR_EACH(i, planes * 4 * H * W)
    {
        const i64 p = i / (4 * (i64)H * W);
        const int r = (int)(i - p * 4 * (i64)H * W), oy = r / W2, ox = r - oy * W2;
        y[i] = x[(p * H + (oy >> 1)) * W + (ox >> 1)];
    }
}

// Adjoint: each input element gathers its four copies (no atomics).
template <class T> __global__ void upsample2x_bwd(const T* __restrict__ dy, T* __restrict__ dx, i64 planes, int H, int W)
{
    const int W2 = 2 * W;
    FOR_EACH(i, planes * H * W)
    {
        const i64 p = i / ((i64)H * W);
        const int r = (int)(i - p * H * W), iy = r / W, ix = r - iy * W;
        const T* d = dy + (p * 2 * H + 2 * iy) * W2 + 2 * ix;
        dx[i] = from_float<T>(to_float(d[0]) + to_float(d[1]) + to_float(d[W2]) + to_float(d[W2 + 1]));
    }
}

// x viewed as [outer, n, inner]; one thread per (outer, inner) walks n (adjacent threads read adjacent inner).
template <class T, int OP> __global__ void reduce_fwd(const T* __restrict__ x, T* __restrict__ y, int* __restrict__ arg, i64 outer, i64 n, i64 inner)
{
    FOR_EACH(i, outer * inner)
    {
        const i64 o = i / inner, in = i - o * inner;
        const T* p = x + o * n * inner + in;
        if (OP == RED_MAX)
        {
            float best = to_float(p[0]);
            int at = 0;
            for (i64 k = 1; k < n; ++k)
            {
                const float v = to_float(p[k * inner]);
                if (v > best || (v != v && best == best)) { best = v; at = (int)k; }   // first maximum; NaN wins like torch
            }
            y[i] = from_float<T>(best);
            if (arg) arg[i] = at;
        }
        else
        {
            float s = 0.f;
            for (i64 k = 0; k < n; ++k) s += to_float(p[k * inner]);
            y[i] = from_float<T>(OP == RED_MEAN ? s / (float)n : s);
        }
    }
}

template <class T, int OP> __global__ void reduce_bwd(const T* __restrict__ dy, const int* __restrict__ arg, T* __restrict__ dx, i64 outer, i64 n, i64 inner)
{
    FOR_EACH(i, outer * n * inner)
    {
        const i64 o = i / (n * inner), r = i - o * n * inner, k = r / inner, in = r - k * inner;
        const i64 j = o * inner + in;
        const float g = to_float(dy[j]);
        float v;
        if (OP == RED_MAX) v = arg[j] == (int)k ? g : 0.f;
        else v = OP == RED_MEAN ? g / (float)n : g;
        dx[i] = from_float<T>(v);
    }
}

// dst[j] = Σ over the broadcast positions of src: keep walks dst's shape with src's strides, red walks the reduced dims.
template <class T> __global__ void sum_to_shape(const T* __restrict__ src, T* __restrict__ dst, i64 n_dst, i64 n_red, Layout keep, Layout red)
{
    FOR_EACH(j, n_dst)
    {
        const i64 base = layout_offset(j, keep);
        float s = 0.f;
        for (i64 r = 0; r < n_red; ++r) s += to_float(src[base + layout_offset(r, red)]);
        dst[j] = from_float<T>(s);
    }
}

// Dtype conversion and strided copies (the CUDA side of Tensor.Contiguous / Copy), and fills no memset can express.
#include "common.cuh"

template <class To, class Ti> struct Convert
{
    static __device__ __forceinline__ To run(Ti v) { return from_float<To>(to_float(v)); }
};
template <class T> struct Convert<T, T>
{
    static __device__ __forceinline__ T run(T v) { return v; }
};
template <> struct Convert<int, i64>
{
    static __device__ __forceinline__ int run(i64 v) { return (int)v; }
};
template <> struct Convert<i64, int>
{
    static __device__ __forceinline__ i64 run(int v) { return v; }
};

template <class Ti, class To> __global__ void cast(const Ti* __restrict__ src, To* __restrict__ dst, i64 n)
{
    FOR_EACH(i, n) dst[i] = Convert<To, Ti>::run(src[i]);
}

// src is any view (layout = its shape and strides, offset already applied to the pointer); dst is contiguous.
template <class Ti, class To> __global__ void copy_strided(const Ti* __restrict__ src, To* __restrict__ dst, i64 n, Layout layout)
{
    FOR_EACH(i, n) dst[i] = Convert<To, Ti>::run(src[layout_offset(i, layout)]);
}

__global__ void fill_u64(u64* __restrict__ dst, i64 n, u64 value)
{
    FOR_EACH(i, n) dst[i] = value;
}

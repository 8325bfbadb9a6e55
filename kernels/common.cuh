// Helpers shared by every kernels/*.cu. NVRTC receives this file as an in-memory header (the C# compiler passes it
// by name), so the kernels need no CUDA toolkit header and compile alike under NVRTC 11.8 and 13.
//
// Storage types: float, bf16 (and f16 for casts). Arithmetic is always f32: load with to_float, store with from_float.
#pragma once

typedef long long i64;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

struct bf16 { u16 bits; };
struct f16 { u16 bits; };

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(bf16 v) { return __uint_as_float((u32)v.bits << 16); }
__device__ __forceinline__ float to_float(f16 v) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(v.bits)); return f; }

template <class T> __device__ __forceinline__ T from_float(float v);
template <> __device__ __forceinline__ float from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ bf16 from_float<bf16>(float v)
{
    bf16 r;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r.bits) : "f"(v));   // round to nearest even, NaN preserved (sm_80+)
    return r;
}
template <> __device__ __forceinline__ f16 from_float<f16>(float v)
{
    f16 r;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r.bits) : "f"(v));
    return r;
}

// Two bf16 in one 32-bit register, low half first: the operand format of the bf16 tensor-core mma.
__device__ __forceinline__ u32 pack_bf16(float lo, float hi)
{
    return (u32)from_float<bf16>(lo).bits | ((u32)from_float<bf16>(hi).bits << 16);
}

// Grid-stride loop over [0, n): launches size their grid for occupancy, not for n.
#define FOR_EACH(i, n) for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)gridDim.x * blockDim.x)

__device__ __forceinline__ float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over a block whose size is a multiple of 32; every thread gets the total. scratch holds 32 floats.
__device__ __forceinline__ float block_sum(float v, float* scratch)
{
    v = warp_sum(v);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();   // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < (int)(blockDim.x >> 5) ? scratch[lane] : 0.f;
    return warp_sum(v);
}

// Mean and 1/sqrt(variance + eps) of x[base, base + n) over one block, two passes (as the CPU reference's Moments);
// every thread gets both. Shared by GroupNorm (one group per block) and LayerNorm (one row per block).
template <class T>
__device__ __forceinline__ void block_moments(const T* __restrict__ x, i64 base, i64 n, float eps, float* scratch, float& mean, float& rstd)
{
    float s = 0.f;
    for (i64 i = threadIdx.x; i < n; i += blockDim.x) s += to_float(x[base + i]);
    mean = block_sum(s, scratch) / (float)n;
    float v = 0.f;
    for (i64 i = threadIdx.x; i < n; i += blockDim.x)
    {
        const float d = to_float(x[base + i]) - mean;
        v += d * d;
    }
    rstd = rsqrtf(block_sum(v, scratch) / (float)n + eps);
}

// A strided view of up to 8 dims (mirrors PFStorer.Kernels.Cuda.StridedLayout): element `linear` of the row-major
// walk over `size` sits at sum(index[d] * stride[d]). Broadcast dims carry stride 0.
#define MAX_RANK 8
struct Layout
{
    int rank;
    int pad;
    i64 size[MAX_RANK];
    i64 stride[MAX_RANK];
};

__device__ __forceinline__ i64 layout_offset(i64 linear, const Layout& l)
{
    i64 off = 0;
    for (int d = l.rank - 1; d >= 0; --d)
    {
        const i64 idx = linear % l.size[d];
        linear /= l.size[d];
        off += idx * l.stride[d];
    }
    return off;
}

// IEEE constants without <cmath> / <cfloat>.
#define INF_F __int_as_float(0x7f800000)
#define FLT_MAX_ 3.402823466e+38f

__device__ __forceinline__ float sigmoidf_(float x) { return 1.f / (1.f + expf(-x)); }

// Sinusoidal timestep embedding and token embedding with a learnable override row (the placeholder token "*").
#include "common.cuh"

template <class Ti> __device__ __forceinline__ float timestep_value(Ti t) { return (float)t; }

// y[b] = [cos(t·f_0..f_{half-1}), sin(...)], f_i = exp(−ln(max_period)·i/half), as upstream (odd dims get a zero column).
// The transcendental functions run in f64 and round once, so the f32 results equal the correctly rounded values
// PyTorch's CPU path produces; the products stay f32 exactly as upstream forms them.
template <class Tt, class T> __global__ void timestep_embedding(const Tt* __restrict__ t, T* __restrict__ y, int B, int dim, float neg_log_max_period)
{
    const int half = dim / 2;
    FOR_EACH(i, (i64)B * dim)
    {
        const int b = (int)(i / dim), c = (int)(i - (i64)b * dim);
        float v = 0.f;
        if (c < 2 * half)
        {
            const int k = c < half ? c : c - half;
            const float freq = (float)exp((double)(neg_log_max_period * (float)k / (float)half));
            const float arg = timestep_value(t[b]) * freq;
            v = c < half ? (float)cos((double)arg) : (float)sin((double)arg);
        }
        y[i] = from_float<T>(v);
    }
}

// y[n, :] = table[ids[n], :] or override_row where ids[n] == override_id. Ids outside the table give NaN rows
// (loud downstream) rather than reads out of bounds.
template <class T> __global__ void embedding_fwd(const i64* __restrict__ ids, const T* __restrict__ table, const T* __restrict__ override_row,
    T* __restrict__ y, i64 N, int D, i64 V, i64 override_id)
{
    FOR_EACH(i, N * D)
    {
        const i64 n = i / D, d = i - n * D, id = ids[n];
        if (override_row && id == override_id) y[i] = override_row[d];
        else if (id >= 0 && id < V) y[i] = table[id * D + d];
        else y[i] = from_float<T>(__int_as_float(0x7fc00000));
    }
}

__device__ __forceinline__ void atomic_add(float* p, float v) { atomicAdd(p, v); }

// bf16 atomic add: Hopper has a native reduction (PTX ISA 7.8, i.e. CUDA 11.8+, sm_90); older targets and compilers
// use a compare-and-swap on the aligned 32-bit word holding the value.
__device__ __forceinline__ void atomic_add(bf16* p, float v)
{
#if __CUDA_ARCH__ >= 900 && (__CUDACC_VER_MAJOR__ > 11 || (__CUDACC_VER_MAJOR__ == 11 && __CUDACC_VER_MINOR__ >= 8))
    asm volatile("red.global.add.noftz.bf16 [%0], %1;" ::"l"(p), "h"(from_float<bf16>(v).bits) : "memory");
#else
    u32* word = (u32*)((u64)p & ~(u64)3);
    const int shift = ((u64)p & 2) ? 16 : 0;
    u32 old = *word, assumed;
    do
    {
        assumed = old;
        bf16 cur;
        cur.bits = (u16)(assumed >> shift);
        const u32 sum = from_float<bf16>(to_float(cur) + v).bits;
        old = atomicCAS(word, assumed, (assumed & ~(0xffffu << shift)) | (sum << shift));
    } while (old != assumed);
#endif
}

// Scatter-add of dy into the (zeroed) table gradient, skipping override positions; rows repeat, hence atomics.
template <class T> __global__ void embedding_bwd_table(const i64* __restrict__ ids, const T* __restrict__ dy, T* __restrict__ dtable,
    i64 N, int D, i64 V, i64 override_id, int has_override)
{
    FOR_EACH(i, N * D)
    {
        const i64 n = i / D, d = i - n * D, id = ids[n];
        if ((has_override && id == override_id) || id < 0 || id >= V) continue;
        atomic_add(dtable + id * D + d, to_float(dy[i]));
    }
}

// Sum of dy over the override positions, one thread per feature (deterministic).
template <class T> __global__ void embedding_bwd_override(const i64* __restrict__ ids, const T* __restrict__ dy, T* __restrict__ drow,
    i64 N, int D, i64 override_id)
{
    FOR_EACH(d, (i64)D)
    {
        float s = 0.f;
        for (i64 n = 0; n < N; ++n)
            if (ids[n] == override_id) s += to_float(dy[n * D + d]);
        drow[d] = from_float<T>(s);
    }
}

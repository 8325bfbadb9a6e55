// Fused AdamW step (torch.optim.AdamW semantics): decoupled decay, bias-corrected moments, one pass over p, g, m, v.
#include "common.cuh"

// Moments stay f32 whatever the parameter's storage type; bc1 = 1 − β1^t, bc2 = 1 − β2^t come from the host.
template <class T> __global__ void adamw_step(T* __restrict__ p, const T* __restrict__ g, float* __restrict__ m, float* __restrict__ v,
    i64 n, float lr, float beta1, float beta2, float eps, float weight_decay, float bc1, float bc2)
{
    FOR_EACH(i, n)
    {
        const float grad = to_float(g[i]);
        float w = to_float(p[i]) * (1.f - lr * weight_decay);
        const float mi = beta1 * m[i] + (1.f - beta1) * grad;
        const float vi = beta2 * v[i] + (1.f - beta2) * grad * grad;
        m[i] = mi;
        v[i] = vi;
        w -= (lr / bc1) * mi / (sqrtf(vi) / sqrtf(bc2) + eps);
        p[i] = from_float<T>(w);
    }
}

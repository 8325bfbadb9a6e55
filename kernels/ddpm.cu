// One fused reverse DDPM step (StableSR p_sample): classifier-free guidance combine, x̂0, posterior mean and noise
// in one pass over the latent instead of five elementwise launches.
//   out   = uncond ? uncond + s·(cond − uncond) : cond
//   x̂0    = c_x·x − c_out·out        (eps-model: c_x = √(1/ᾱ), c_out = √(1/ᾱ−1); v-model: c_x = √ᾱ, c_out = √(1−ᾱ))
//   x'    = coef1·x̂0 + coef2·x + sigma·z   (sigma = exp(½·logvar_clipped), 0 at the last step)
#include "common.cuh"

template <class T> __global__ void ddpm_step(const T* __restrict__ x, const T* __restrict__ cond, const T* __restrict__ uncond,
    const T* __restrict__ noise, T* __restrict__ y, i64 n, float guidance, float c_x, float c_out, float coef1, float coef2, float sigma)
{
    FOR_EACH(i, n)
    {
        const float xi = to_float(x[i]);
        float out = to_float(cond[i]);
        if (uncond)
        {
            const float u = to_float(uncond[i]);
            out = u + guidance * (out - u);
        }
        const float x0 = c_x * xi - c_out * out;
        float next = coef1 * x0 + coef2 * xi;
        if (noise) next += sigma * to_float(noise[i]);
        y[i] = from_float<T>(next);
    }
}

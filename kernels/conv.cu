// 2-D convolution as im2col + cuBLAS GEMM (y_b = W · col_b). 1×1 stride-1 convolutions skip im2col (col_b = x_b).
// col layout: [B, C·k·k, Ho·Wo], row index (c·k + kh)·k + kw, matching W [O, C, k, k] viewed as [O, C·k·k].
#include "common.cuh"

template <class T> __global__ void im2col(const T* __restrict__ x, T* __restrict__ col, int B, int C, int H, int W, int k,
    int stride, int pad, int Ho, int Wo)
{
    const i64 L = (i64)Ho * Wo, rows = (i64)C * k * k;
    FOR_EACH(i, (i64)B * rows * L)
    {
        const i64 b = i / (rows * L), rem = i - b * rows * L, r = rem / L, l = rem - r * L;
        const int c = (int)(r / (k * k)), kh = (int)(r / k % k), kw = (int)(r % k);
        const int oy = (int)(l / Wo), ox = (int)(l % Wo);
        const int iy = oy * stride - pad + kh, ix = ox * stride - pad + kw;
        col[i] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? x[(((i64)b * C + c) * H + iy) * W + ix] : from_float<T>(0.f);
    }
}

// Adjoint of im2col: each input pixel gathers the col entries it was copied to (no atomics).
template <class T> __global__ void col2im(const T* __restrict__ col, T* __restrict__ dx, int B, int C, int H, int W, int k,
    int stride, int pad, int Ho, int Wo)
{
    const i64 L = (i64)Ho * Wo, rows = (i64)C * k * k;
    FOR_EACH(i, (i64)B * C * H * W)
    {
        const int ix = (int)(i % W), iy = (int)(i / W % H), c = (int)(i / ((i64)H * W) % C);
        const i64 b = i / ((i64)C * H * W);
        float s = 0.f;
        for (int kh = 0; kh < k; ++kh)
        {
            const int ty = iy + pad - kh;
            if (ty < 0 || ty % stride != 0 || ty / stride >= Ho) continue;
            for (int kw = 0; kw < k; ++kw)
            {
                const int tx = ix + pad - kw;
                if (tx < 0 || tx % stride != 0 || tx / stride >= Wo) continue;
                s += to_float(col[(b * rows + ((i64)c * k + kh) * k + kw) * L + (ty / stride) * Wo + tx / stride]);
            }
        }
        dx[i] = from_float<T>(s);
    }
}

namespace PFStorer.Kernels.Cpu;

/// <summary>
/// Shape of one sliding-window op on NCHW planes (depthwise convolution, pooling): a square kernel moved with one
/// stride over the input after symmetric zero padding. Every plane (batch × channel) is independent.
/// </summary>
public readonly record struct WindowGeometry(int Batch, int Channels, int Height, int Width, int Kernel, int Stride, int Padding)
{
    public int OutHeight => (Height + 2 * Padding - Kernel) / Stride + 1;
    public int OutWidth => (Width + 2 * Padding - Kernel) / Stride + 1;
    public long Planes => (long)Batch * Channels;

    public void Validate(string op)
    {
        if (Batch < 0 || Channels <= 0 || Height <= 0 || Width <= 0 || Kernel <= 0 || Stride <= 0 || Padding < 0)
            throw new ArgumentException($"{op}: invalid geometry {this}");
        if (Height + 2 * Padding < Kernel || Width + 2 * Padding < Kernel)
            throw new ArgumentException($"{op}: window {Kernel}×{Kernel} larger than the padded {Height}×{Width} input (padding {Padding})");
    }
}

/// <summary>How a pooling window reduces its values.</summary>
public enum PoolOp { Max, Average }

/// <summary>
/// The sliding-window ops the face networks need (face-api's MobileNet-style separable convolutions and ResNet pooling):
/// depthwise convolution (one k×k filter per channel, channel multiplier 1) and max / average pooling over windows
/// that lie wholly inside the input. Forward only: these ops serve inference.
/// </summary>
public static unsafe class WindowCpu
{
    /// <summary>y[b,c] = x[b,c] ⋆ w[c] + bias[c]; x [B,C,H,W], w [C,1,k,k], bias [C] or null, y [B,C,Ho,Wo].</summary>
    public static void DepthwiseConv2d(WindowGeometry g, float* x, float* w, float* bias, float* y)
    {
        g.Validate("depthwise conv2d");
        int ho = g.OutHeight, wo = g.OutWidth, k = g.Kernel;
        long inPlane = (long)g.Height * g.Width, outPlane = (long)ho * wo;
        CpuParallel.For(g.Planes, 1, (p0, p1) =>
        {
            for (long p = p0; p < p1; p++)
            {
                int c = (int)(p % g.Channels);
                float* xp = x + p * inPlane, yp = y + p * outPlane, wc = w + (long)c * k * k;
                float b0 = bias == null ? 0f : bias[c];
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++)
                    {
                        int iy0 = oy * g.Stride - g.Padding, ix0 = ox * g.Stride - g.Padding;
                        float s = 0f;
                        for (int ky = 0; ky < k; ky++)
                        {
                            int iy = iy0 + ky;
                            if ((uint)iy >= (uint)g.Height) continue;
                            for (int kx = 0; kx < k; kx++)
                            {
                                int ix = ix0 + kx;
                                if ((uint)ix < (uint)g.Width) s += xp[(long)iy * g.Width + ix] * wc[ky * k + kx];
                            }
                        }
                        yp[(long)oy * wo + ox] = s + b0;
                    }
            }
        });
    }

    /// <summary>Max or mean over each k×k window (no padding: <see cref="WindowGeometry.Padding"/> must be 0; pad first with
    /// <see cref="Pad2d"/> where a window may reach outside).</summary>
    public static void Pool2d(PoolOp op, WindowGeometry g, float* x, float* y)
    {
        g.Validate(op == PoolOp.Max ? "max pool" : "avg pool");
        if (g.Padding != 0) throw new ArgumentException("pool2d: windows must lie inside the input (pad explicitly)");
        int ho = g.OutHeight, wo = g.OutWidth, k = g.Kernel;
        long inPlane = (long)g.Height * g.Width, outPlane = (long)ho * wo;
        float inv = 1f / (k * k);
        CpuParallel.For(g.Planes, 1, (p0, p1) =>
        {
            for (long p = p0; p < p1; p++)
            {
                float* xp = x + p * inPlane, yp = y + p * outPlane;
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++)
                    {
                        float* w0 = xp + (long)oy * g.Stride * g.Width + (long)ox * g.Stride;
                        float acc = op == PoolOp.Max ? float.NegativeInfinity : 0f;
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++)
                            {
                                float v = w0[(long)ky * g.Width + kx];
                                acc = op == PoolOp.Max ? MathF.Max(acc, v) : acc + v;
                            }
                        yp[(long)oy * wo + ox] = op == PoolOp.Max ? acc : acc * inv;
                    }
            }
        });
    }

    /// <summary>
    /// Copies each [H,W] plane of x into a [Ho,Wo] plane of y at row <paramref name="top"/>, column <paramref name="left"/>,
    /// filling the border with <paramref name="value"/> (asymmetric padding, as TensorFlow's 'same' needs when the total
    /// padding is odd; -∞ for max pooling).
    /// </summary>
    public static void Pad2d(long planes, int height, int width, int outHeight, int outWidth, int top, int left, float value, float* x, float* y)
    {
        if (planes < 0 || height <= 0 || width <= 0 || top < 0 || left < 0 || top + height > outHeight || left + width > outWidth)
            throw new ArgumentException($"pad2d: a {height}×{width} plane at ({top},{left}) does not fit in {outHeight}×{outWidth}");
        long inPlane = (long)height * width, outPlane = (long)outHeight * outWidth;
        CpuParallel.For(planes, 1, (p0, p1) =>
        {
            for (long p = p0; p < p1; p++)
            {
                var dst = new Span<float>(y + p * outPlane, (int)outPlane);
                dst.Fill(value);
                for (int r = 0; r < height; r++)
                    new ReadOnlySpan<float>(x + p * inPlane + (long)r * width, width).CopyTo(dst.Slice((top + r) * outWidth + left, width));
            }
        });
    }
}

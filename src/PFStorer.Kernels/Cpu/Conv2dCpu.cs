using System.Numerics.Tensors;

namespace PFStorer.Kernels.Cpu;

/// <summary>Shape of one Conv2d call (PyTorch semantics: cross-correlation, symmetric zero padding, no dilation or groups).</summary>
public readonly record struct Conv2dGeometry(int Batch, int Channels, int Height, int Width, int OutChannels, int KernelH, int KernelW, int Stride, int Padding)
{
    public int OutHeight => (Height + 2 * Padding - KernelH) / Stride + 1;
    public int OutWidth => (Width + 2 * Padding - KernelW) / Stride + 1;
    /// <summary>Rows of the im2col matrix: one per (input channel, kernel row, kernel column), the GEMM depth.</summary>
    public int ColRows => Channels * KernelH * KernelW;
    /// <summary>Columns of the im2col matrix: one per output pixel.</summary>
    public int ColCols => OutHeight * OutWidth;
    /// <summary>A 1×1, stride-1, unpadded conv is a plain GEMM over the input itself: no im2col needed.</summary>
    public bool IsPointwise => KernelH == 1 && KernelW == 1 && Stride == 1 && Padding == 0;

    public void Validate()
    {
        if (Batch < 0 || Channels <= 0 || Height <= 0 || Width <= 0 || OutChannels <= 0 || KernelH <= 0 || KernelW <= 0 || Stride <= 0 || Padding < 0)
            throw new ArgumentException($"conv2d: invalid geometry {this}");
        if (Height + 2 * Padding < KernelH || Width + 2 * Padding < KernelW)
            throw new ArgumentException($"conv2d: kernel {KernelH}×{KernelW} larger than the padded {Height}×{Width} input (padding {Padding})");
    }
}

/// <summary>
/// Conv2d as im2col + <see cref="Sgemm"/> per image: y[b] = W[O, C·kh·kw] · col(x[b]) + bias, NCHW.
/// Backward reuses the same two GEMM shapes: dW = Σ_b dy[b] · col(x[b])ᵀ and dx[b] = col2im(Wᵀ · dy[b]).
/// The column matrices come from the host pool, so a steady-state loop allocates nothing.
/// </summary>
public static unsafe class Conv2dCpu
{
    public static void Forward(in Conv2dGeometry g, float* x, float* w, float* bias, float* y)
    {
        g.Validate();
        int o = g.OutChannels, k = g.ColRows, n = g.ColCols;
        long xImage = (long)g.Channels * g.Height * g.Width, yImage = (long)o * n;
        float beta = 0;
        if (bias != null)
        {
            // Bias is per output row here (Sgemm's bias is per column), so seed y with it and accumulate onto it.
            for (int b = 0; b < g.Batch; b++)
                for (int c = 0; c < o; c++) new Span<float>(y + b * yImage + (long)c * n, n).Fill(bias[c]);
            beta = 1;
        }
        if (g.IsPointwise)
        {
            Sgemm.Batched(g.Batch, false, false, o, n, k, 1f, w, k, 0, x, n, xImage, beta, y, n, yImage);
            return;
        }
        using var col = Scratch.Rent((long)k * n);
        for (int b = 0; b < g.Batch; b++)
        {
            Im2Col(g, x + b * xImage, col.Pointer);
            Sgemm.Gemm(false, false, o, n, k, 1f, w, k, col.Pointer, n, beta, y + b * yImage, n);
        }
    }

    /// <summary>Gradients of <see cref="Forward"/>; each of dx, dw, dbias is computed only when non-null, and overwritten.</summary>
    public static void Backward(in Conv2dGeometry g, float* x, float* w, float* dy, float* dx, float* dw, float* dbias)
    {
        g.Validate();
        int o = g.OutChannels, k = g.ColRows, n = g.ColCols;
        long xImage = (long)g.Channels * g.Height * g.Width, yImage = (long)o * n;
        if (dbias != null)
        {
            for (int c = 0; c < o; c++)
            {
                double s = 0;
                for (int b = 0; b < g.Batch; b++) s += TensorPrimitives.Sum(new ReadOnlySpan<float>(dy + b * yImage + (long)c * n, n));
                dbias[c] = (float)s;
            }
        }
        if (dw != null)
        {
            if (g.Batch == 0) new Span<float>(dw, o * k).Clear();
            using var col = Scratch.Rent(g.IsPointwise ? 0 : (long)k * n);
            for (int b = 0; b < g.Batch; b++)
            {
                float* cols = x + b * xImage;
                if (!g.IsPointwise)
                {
                    Im2Col(g, cols, col.Pointer);
                    cols = col.Pointer;
                }
                Sgemm.Gemm(false, true, o, k, n, 1f, dy + b * yImage, n, cols, n, b == 0 ? 0 : 1, dw, k);
            }
        }
        if (dx != null)
        {
            if (g.IsPointwise)
            {
                Sgemm.Batched(g.Batch, true, false, k, n, o, 1f, w, k, 0, dy, n, yImage, 0, dx, n, xImage);
                return;
            }
            using var dcol = Scratch.Rent((long)k * n);
            for (int b = 0; b < g.Batch; b++)
            {
                Sgemm.Gemm(true, false, k, n, o, 1f, w, k, dy + b * yImage, n, 0, dcol.Pointer, n);
                Col2Im(g, dcol.Pointer, dx + b * xImage);
            }
        }
    }

    /// <summary>Below this many column elements im2col / col2im run on the calling thread.</summary>
    private const long ParallelThreshold = 1 << 16;

    /// <summary>col[(c·kh + i)·kw + j, oh·Wo + ow] = x[c, oh·s − p + i, ow·s − p + j], zero outside the image.</summary>
    public static void Im2Col(in Conv2dGeometry g, float* x, float* col)
    {
        var geo = g;
        nint xs = (nint)x, cs = (nint)col;
        if ((long)g.ColRows * g.ColCols >= ParallelThreshold)
            Parallel.For(0, g.Channels, c => Im2ColChannel(geo, (float*)xs, (float*)cs, c));
        else
            for (int c = 0; c < g.Channels; c++) Im2ColChannel(geo, x, col, c);
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: dx = Σ of every column entry back onto the pixel it was read from (dx overwritten).</summary>
    public static void Col2Im(in Conv2dGeometry g, float* col, float* dx)
    {
        var geo = g;
        nint cs = (nint)col, xs = (nint)dx;
        // Parallel over input channels: each channel's kh·kw rows scatter only into that channel's plane, so no races.
        if ((long)g.ColRows * g.ColCols >= ParallelThreshold)
            Parallel.For(0, g.Channels, c => Col2ImChannel(geo, (float*)cs, (float*)xs, c));
        else
            for (int c = 0; c < g.Channels; c++) Col2ImChannel(geo, col, dx, c);
    }

    private static void Im2ColChannel(in Conv2dGeometry g, float* x, float* col, int c)
    {
        int ho = g.OutHeight, wo = g.OutWidth, s = g.Stride;
        float* plane = x + (long)c * g.Height * g.Width;
        for (int i = 0; i < g.KernelH; i++)
            for (int j = 0; j < g.KernelW; j++)
            {
                float* row = col + ((long)(c * g.KernelH + i) * g.KernelW + j) * ho * wo;
                ValidRange(g, j, out int lo, out int hi);
                for (int oh = 0; oh < ho; oh++, row += wo)
                {
                    int ih = oh * s - g.Padding + i;
                    if ((uint)ih >= (uint)g.Height || lo >= hi) { new Span<float>(row, wo).Clear(); continue; }
                    float* src = plane + (long)ih * g.Width - g.Padding + j;
                    new Span<float>(row, lo).Clear();
                    if (s == 1) new ReadOnlySpan<float>(src + lo, hi - lo).CopyTo(new Span<float>(row + lo, hi - lo));
                    else for (int ow = lo; ow < hi; ow++) row[ow] = src[ow * s];
                    new Span<float>(row + hi, wo - hi).Clear();
                }
            }
    }

    private static void Col2ImChannel(in Conv2dGeometry g, float* col, float* dx, int c)
    {
        int ho = g.OutHeight, wo = g.OutWidth, s = g.Stride;
        float* plane = dx + (long)c * g.Height * g.Width;
        new Span<float>(plane, g.Height * g.Width).Clear();
        for (int i = 0; i < g.KernelH; i++)
            for (int j = 0; j < g.KernelW; j++)
            {
                float* row = col + ((long)(c * g.KernelH + i) * g.KernelW + j) * ho * wo;
                ValidRange(g, j, out int lo, out int hi);
                if (lo >= hi) continue;
                for (int oh = 0; oh < ho; oh++, row += wo)
                {
                    int ih = oh * s - g.Padding + i;
                    if ((uint)ih >= (uint)g.Height) continue;
                    float* dst = plane + (long)ih * g.Width - g.Padding + j;
                    if (s == 1)
                    {
                        var d = new Span<float>(dst + lo, hi - lo);
                        TensorPrimitives.Add(d, new ReadOnlySpan<float>(row + lo, hi - lo), d);
                    }
                    else for (int ow = lo; ow < hi; ow++) dst[ow * s] += row[ow];
                }
            }
    }

    /// <summary>Output columns [lo, hi) whose input column ow·s − p + j lies inside the image.</summary>
    private static void ValidRange(in Conv2dGeometry g, int j, out int lo, out int hi)
    {
        int s = g.Stride, offset = j - g.Padding;            // iw = ow·s + offset
        lo = offset >= 0 ? 0 : (-offset + s - 1) / s;        // first ow with iw ≥ 0
        hi = Math.Min(g.OutWidth, (g.Width - 1 - offset) / s + 1); // last ow with iw ≤ W−1, plus one
        if (g.Width - 1 - offset < 0) hi = 0;
        lo = Math.Min(lo, g.OutWidth);
        hi = Math.Max(hi, lo);
    }
}

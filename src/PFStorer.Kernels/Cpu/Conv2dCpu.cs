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
/// Conv2d as im2col + <see cref="Sgemm"/>: y[b] = W[O, C·kh·kw] · col(x[b]) + bias, NCHW.
/// Backward reuses the same two GEMM shapes: dW = Σ_b dy[b] · col(x[b])ᵀ and dx[b] = col2im(Wᵀ · dy[b]).
/// The column matrix is built for a band of output rows at a time, so its scratch (from the host pool) stays under
/// <see cref="ColumnBudget"/> however large the image; a steady-state loop allocates nothing.
/// </summary>
public static unsafe class Conv2dCpu
{
    /// <summary>Most floats one band's column matrix may hold (32 MiB): bounds scratch at large latents while each band's
    /// GEMM stays wide enough (thousands of columns) to keep every core busy.</summary>
    private const long ColumnBudget = 1 << 23;

    public static void Forward(in Conv2dGeometry g, float* x, float* w, float* bias, float* y)
    {
        g.Validate();
        Forward(g, x, w, bias, y, BandRows(g));
    }

    /// <summary>Gradients of <see cref="Forward(in Conv2dGeometry, float*, float*, float*, float*)"/>; each of dx, dw, dbias is
    /// computed only when non-null, and overwritten.</summary>
    public static void Backward(in Conv2dGeometry g, float* x, float* w, float* dy, float* dx, float* dw, float* dbias)
    {
        g.Validate();
        Backward(g, x, w, dy, dx, dw, dbias, BandRows(g));
    }

    /// <summary>Forward with an explicit band height (output rows per im2col band), so tests can force many bands.</summary>
    internal static void Forward(in Conv2dGeometry g, float* x, float* w, float* bias, float* y, int band)
    {
        g.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(band, 1);
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
        using var col = Scratch.Rent((long)k * Math.Min(band, g.OutHeight) * g.OutWidth);
        for (int b = 0; b < g.Batch; b++)
            for (int oh0 = 0; oh0 < g.OutHeight; oh0 += band)
            {
                int oh1 = Math.Min(g.OutHeight, oh0 + band), cols = (oh1 - oh0) * g.OutWidth;
                Im2Col(g, x + b * xImage, col.Pointer, oh0, oh1);
                Sgemm.Gemm(false, false, o, cols, k, 1f, w, k, col.Pointer, cols, beta, y + b * yImage + (long)oh0 * g.OutWidth, n);
            }
    }

    /// <summary>Backward with an explicit band height.</summary>
    internal static void Backward(in Conv2dGeometry g, float* x, float* w, float* dy, float* dx, float* dw, float* dbias, int band)
    {
        g.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(band, 1);
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
        if (dw == null && dx == null) return;
        if (dw != null) new Span<float>(dw, o * k).Clear();
        if (g.IsPointwise)
        {
            // The input itself is the column matrix.
            if (dw != null)
                for (int b = 0; b < g.Batch; b++) Sgemm.Gemm(false, true, o, k, n, 1f, dy + b * yImage, n, x + b * xImage, n, 1, dw, k);
            if (dx != null) Sgemm.Batched(g.Batch, true, false, k, n, o, 1f, w, k, 0, dy, n, yImage, 0, dx, n, xImage);
            return;
        }
        if (dx != null)
            for (int b = 0; b < g.Batch; b++) new Span<float>(dx + b * xImage, checked((int)xImage)).Clear();
        // One scratch serves both: the band's columns feed dW, then the same memory receives Wᵀ·dy for col2im.
        using var col = Scratch.Rent((long)k * Math.Min(band, g.OutHeight) * g.OutWidth);
        for (int b = 0; b < g.Batch; b++)
            for (int oh0 = 0; oh0 < g.OutHeight; oh0 += band)
            {
                int oh1 = Math.Min(g.OutHeight, oh0 + band), cols = (oh1 - oh0) * g.OutWidth;
                float* dyBand = dy + b * yImage + (long)oh0 * g.OutWidth;
                if (dw != null)
                {
                    Im2Col(g, x + b * xImage, col.Pointer, oh0, oh1);
                    Sgemm.Gemm(false, true, o, k, cols, 1f, dyBand, n, col.Pointer, cols, 1, dw, k);
                }
                if (dx != null)
                {
                    Sgemm.Gemm(true, false, k, cols, o, 1f, w, k, dyBand, n, 0, col.Pointer, cols);
                    Col2Im(g, col.Pointer, dx + b * xImage, oh0, oh1);
                }
            }
    }

    /// <summary>Output rows per band: the fewest bands whose columns fit <see cref="ColumnBudget"/>, split evenly
    /// (64 rows over a 45-row budget run as 32 + 32, not 45 + 19, so no band's GEMM is starved of columns).</summary>
    private static int BandRows(in Conv2dGeometry g)
    {
        int fit = (int)Math.Clamp(ColumnBudget / ((long)g.ColRows * g.OutWidth), 1, g.OutHeight);
        int bands = (g.OutHeight + fit - 1) / fit;
        return (g.OutHeight + bands - 1) / bands;
    }

    /// <summary>Below this many column elements im2col / col2im run on the calling thread.</summary>
    private const long ParallelThreshold = 1 << 16;

    /// <summary>
    /// Columns of output rows [oh0, oh1): col[(c·kh + i)·kw + j, (oh − oh0)·Wo + ow] = x[c, oh·s − p + i, ow·s − p + j],
    /// zero outside the image.
    /// </summary>
    public static void Im2Col(in Conv2dGeometry g, float* x, float* col, int oh0, int oh1)
    {
        var geo = g;
        nint xs = (nint)x, cs = (nint)col;
        if ((long)g.ColRows * (oh1 - oh0) * g.OutWidth >= ParallelThreshold)
            Parallel.For(0, g.Channels, c => Im2ColChannel(geo, (float*)xs, (float*)cs, c, oh0, oh1));
        else
            for (int c = 0; c < g.Channels; c++) Im2ColChannel(geo, x, col, c, oh0, oh1);
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: adds every column entry of rows [oh0, oh1) onto the pixel it was read from.</summary>
    public static void Col2Im(in Conv2dGeometry g, float* col, float* dx, int oh0, int oh1)
    {
        var geo = g;
        nint cs = (nint)col, xs = (nint)dx;
        // Parallel over input channels: each channel's kh·kw rows scatter only into that channel's plane, so no races.
        if ((long)g.ColRows * (oh1 - oh0) * g.OutWidth >= ParallelThreshold)
            Parallel.For(0, g.Channels, c => Col2ImChannel(geo, (float*)cs, (float*)xs, c, oh0, oh1));
        else
            for (int c = 0; c < g.Channels; c++) Col2ImChannel(geo, col, dx, c, oh0, oh1);
    }

    private static void Im2ColChannel(in Conv2dGeometry g, float* x, float* col, int c, int oh0, int oh1)
    {
        int wo = g.OutWidth, s = g.Stride;
        long bandCols = (long)(oh1 - oh0) * wo;
        float* plane = x + (long)c * g.Height * g.Width;
        for (int i = 0; i < g.KernelH; i++)
            for (int j = 0; j < g.KernelW; j++)
            {
                float* row = col + ((long)(c * g.KernelH + i) * g.KernelW + j) * bandCols;
                ValidRange(g, j, out int lo, out int hi);
                for (int oh = oh0; oh < oh1; oh++, row += wo)
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

    private static void Col2ImChannel(in Conv2dGeometry g, float* col, float* dx, int c, int oh0, int oh1)
    {
        int wo = g.OutWidth, s = g.Stride;
        long bandCols = (long)(oh1 - oh0) * wo;
        float* plane = dx + (long)c * g.Height * g.Width;
        for (int i = 0; i < g.KernelH; i++)
            for (int j = 0; j < g.KernelW; j++)
            {
                float* row = col + ((long)(c * g.KernelH + i) * g.KernelW + j) * bandCols;
                ValidRange(g, j, out int lo, out int hi);
                if (lo >= hi) continue;
                for (int oh = oh0; oh < oh1; oh++, row += wo)
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

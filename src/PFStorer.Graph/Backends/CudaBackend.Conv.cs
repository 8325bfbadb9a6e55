using PFStorer.Kernels.Cuda;
using PFStorer.Kernels;

namespace PFStorer.Graph.Backends;

public sealed partial class CudaBackend
{
    private static readonly KernelFamily ConvKernels = new("conv", [.. KernelFamily.PerFloatType(t => [$"im2col<{t}>", $"col2im<{t}>"])]);

    private readonly record struct ConvShape(int B, int C, int H, int W, int O, int K, int Ho, int Wo)
    {
        public long L => (long)Ho * Wo;
        public int Ckk => C * K * K;
    }

    private static ConvShape GetConvShape(Tensor x, Tensor w, int stride, int padding)
    {
        if (x.Rank != 4 || w.Rank != 4 || w.Dim(1) != x.Dim(1) || w.Dim(2) != w.Dim(3))
            throw new ArgumentException($"conv2d: input {x.ShapeString} and weight {w.ShapeString} are not [B,C,H,W] and [O,C,k,k]");
        int k = w.Dim(2), ho = (x.Dim(2) + 2 * padding - k) / stride + 1, wo = (x.Dim(3) + 2 * padding - k) / stride + 1;
        return new ConvShape(x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3), w.Dim(0), k, ho, wo);
    }

    /// <summary>1×1 stride-1 unpadded convolutions read x directly as the column matrix.</summary>
    private static bool IsPointwise(ConvShape s, int stride, int padding) => s.K == 1 && stride == 1 && padding == 0;

    /// <summary>x unrolled to [B, C·k·k, Ho·Wo] (a scratch tensor the caller disposes), or a shared handle on x for 1×1 convs.</summary>
    private Tensor Columns(Tensor x, ConvShape s, int stride, int padding, string t)
    {
        if (IsPointwise(s, stride, padding)) return x.Share();
        var col = Tensor.Empty([s.B, s.Ckk, (int)s.L], x.DType, Device);
        Elementwise(Fn(ConvKernels, $"im2col<{t}>"), col.Numel, Ptr(x), Ptr(col), s.B, s.C, s.H, s.W, s.K, stride, padding, s.Ho, s.Wo);
        return col;
    }

    public void Conv2d(Tensor x, Tensor w, Tensor? bias, Tensor y, int stride, int padding)
    {
        var s = GetConvShape(x, w, stride, padding);
        if (y.Rank != 4 || y.Dim(0) != s.B || y.Dim(1) != s.O || y.Dim(2) != s.Ho || y.Dim(3) != s.Wo)
            throw new ArgumentException($"conv2d: output {y.ShapeString} is not [{s.B},{s.O},{s.Ho},{s.Wo}]");
        var t = FloatType("conv2d", x, w, bias, y);
        using var col = Columns(x, s, stride, padding, t);
        // y_b [O, L] = W [O, Ckk] · col_b [Ckk, L], the weight shared across the batch.
        Gemm(x.DType, Ptr(w), 0, false, Ptr(col), s.Ckk * s.L, false, Ptr(y), s.O * s.L, s.O, (int)s.L, s.Ckk, s.B, 1f, 0f);
        if (bias != null)
            AddChannelBias(y, bias, (long)s.B * s.O, s.O, s.L, t);
    }

    public void Conv2dBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? dbias, int stride, int padding)
    {
        var s = GetConvShape(x, w, stride, padding);
        var t = FloatType("conv2d backward", x, w, dy, dx, dw, dbias);
        if (dw != null)
        {
            // dW [O, Ckk] = Σ_b dy_b [O, L] · col_bᵀ: one GEMM per batch entry accumulating into dW.
            using var col = Columns(x, s, stride, padding, t);
            for (int b = 0; b < s.B; b++)
                Gemm(x.DType, Ptr(dy) + (nint)(b * s.O * s.L * dy.DType.Size()), 0, false,
                    Ptr(col) + (nint)(b * s.Ckk * s.L * col.DType.Size()), 0, true, Ptr(dw), 0, s.O, s.Ckk, (int)s.L, 1, 1f, b == 0 ? 0f : 1f);
        }
        if (dx != null)
        {
            // dcol_b [Ckk, L] = Wᵀ · dy_b, then folded back onto the input (col2im); 1×1 convs write dx directly.
            bool pointwise = IsPointwise(s, stride, padding);
            using var dcol = pointwise ? dx.Share() : Tensor.Empty([s.B, s.Ckk, (int)s.L], x.DType, Device);
            Gemm(x.DType, Ptr(w), 0, true, Ptr(dy), s.O * s.L, false, Ptr(dcol), s.Ckk * s.L, s.Ckk, (int)s.L, s.O, s.B, 1f, 0f);
            if (!pointwise)
                Elementwise(Fn(ConvKernels, $"col2im<{t}>"), dx.Numel, Ptr(dcol), Ptr(dx), s.B, s.C, s.H, s.W, s.K, stride, padding, s.Ho, s.Wo);
        }
        if (dbias != null)
            ChannelBiasGrad(dy, dbias, s.B, s.O, s.L, t);
    }
}

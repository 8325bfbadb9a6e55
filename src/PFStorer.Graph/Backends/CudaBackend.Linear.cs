using PFStorer.Kernels;
using PFStorer.Kernels.Cuda;

namespace PFStorer.Graph.Backends;

public sealed partial class CudaBackend
{
    public void MatMul(Tensor a, Tensor b, Tensor c, bool transA, bool transB, float alpha = 1f, float beta = 0f, Tensor? bias = null)
    {
        if (a.Rank is not (2 or 3) || b.Rank is not (2 or 3) || c.Rank is not (2 or 3))
            throw new ArgumentException($"matmul: operands must be 2-D or 3-D, got {a.ShapeString}, {b.ShapeString}, {c.ShapeString}");
        int m = transA ? a.Dim(-1) : a.Dim(-2), k = transA ? a.Dim(-2) : a.Dim(-1);
        int kb = transB ? b.Dim(-1) : b.Dim(-2), n = transB ? b.Dim(-2) : b.Dim(-1);
        int batch = c.Rank == 3 ? c.Dim(0) : 1;
        if (k != kb || c.Dim(-2) != m || c.Dim(-1) != n
            || (a.Rank == 3 && a.Dim(0) != batch) || (b.Rank == 3 && b.Dim(0) != batch) || (c.Rank == 2 && (a.Rank == 3 || b.Rank == 3)))
            throw new ArgumentException($"matmul: {a.ShapeString}{(transA ? "ᵀ" : "")} · {b.ShapeString}{(transB ? "ᵀ" : "")} does not give {c.ShapeString}");
        var t = FloatType("matmul", a, b, c, bias);
        Gemm(a.DType, Ptr(a), a.Rank == 3 ? (long)a.Dim(1) * a.Dim(2) : 0, transA,
            Ptr(b), b.Rank == 3 ? (long)b.Dim(1) * b.Dim(2) : 0, transB,
            Ptr(c), (long)m * n, m, n, k, batch, alpha, beta);
        if (bias != null)
        {
            if (bias.Numel != n) throw new ArgumentException($"matmul: bias {bias.ShapeString} does not match {n} columns");
            AddChannelBias(c, bias, c.Numel, n, 1, t);
        }
    }

    /// <summary>
    /// Row-major batched GEMM c[i] = alpha·op(a[i])·op(b[i]) + beta·c[i] through cuBLAS, which is column-major: a
    /// row-major X is a column-major Xᵀ, so we ask cuBLAS for cᵀ = op(b)ᵀ·op(a)ᵀ (operands swapped, flags kept).
    /// Strides are in elements; 0 shares an operand across the batch. F32 runs strict f32 (no TF32); BF16 accumulates in f32.
    /// </summary>
    private void Gemm(DType dtype, nint a, long strideA, bool transA, nint b, long strideB, bool transB, nint c, long strideC,
        int m, int n, int k, int batch, float alpha, float beta)
    {
        if (m == 0 || n == 0 || batch == 0) return;
        _gpu.MakeCurrent();
        int type = dtype == DType.BF16 ? Cublas.R16BF : Cublas.R32F;
        int lda = transA ? m : k, ldb = transB ? k : n;
        Cublas.Check(Cublas.cublasGemmStridedBatchedEx(_gpu.CublasHandle,
            transB ? Cublas.OpT : Cublas.OpN, transA ? Cublas.OpT : Cublas.OpN, n, m, k, alpha,
            b, type, ldb, strideB, a, type, lda, strideA, beta, c, type, n, strideC, batch, Cublas.Compute32F, Cublas.GemmDefault),
            $"cublasGemmStridedBatchedEx(m={m}, n={n}, k={k}, batch={batch})");
    }
}

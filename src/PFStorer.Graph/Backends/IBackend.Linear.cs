namespace PFStorer.Graph.Backends;

public partial interface IBackend
{
    /// <summary>
    /// Batched GEMM: c[i] = alpha·op(a[i])·op(b[i]) + beta·c[i] (+ bias broadcast over rows when given).
    /// a, b, c are 2-D [rows, cols] or 3-D [batch, rows, cols]; a 2-D operand is shared by every batch entry.
    /// op(x) = xᵀ when the trans flag is set. beta = 1 accumulates into c.
    /// </summary>
    void MatMul(Tensor a, Tensor b, Tensor c, bool transA, bool transB, float alpha = 1f, float beta = 0f, Tensor? bias = null);
}

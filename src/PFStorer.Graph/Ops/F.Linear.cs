using PFStorer.Graph.Backends;
using PFStorer.Kernels;

namespace PFStorer.Graph;

public static partial class F
{
    /// <summary>y = x·wᵀ + b with x [..., K], w [N, K] (PyTorch Linear layout), b [N].</summary>
    public static Tensor Linear(Tensor x, Tensor w, Tensor? b = null)
    {
        int k = x.Dim(-1), n = w.Dim(0);
        if (w.Dim(1) != k) throw new ArgumentException($"linear: input {x.ShapeString} does not match weight {w.ShapeString}");
        var outShape = x.ShapeArray();
        outShape[^1] = n;
        var inShape = x.ShapeArray();
        return Apply("linear", [x, w, b], outShape, (i, y) =>
        {
            using var x2 = i[0]!.View(-1, k);
            using var y2 = y.View(-1, n);
            y.Backend.MatMul(x2, i[1]!, y2, false, true, 1f, 0f, i[2]);
        }, (dy, kept, needs) =>
        {
            using var dy2 = dy.View(-1, n);
            Tensor? dx = null, dw = null, db = null;
            if (needs[0])
            {
                dx = Tensor.Empty(inShape, DType.F32, dy.Device);
                using var dx2 = dx.View(-1, k);
                dy.Backend.MatMul(dy2, kept[1]!, dx2, false, false);
            }
            if (needs[1])
            {
                dw = Tensor.Empty([n, k], DType.F32, dy.Device);
                using var xv = kept[0]!.View(-1, k);
                dy.Backend.MatMul(dy2, xv, dw, true, false);
            }
            if (needs[2])
            {
                db = Tensor.Empty([n], DType.F32, dy.Device);
                dy.Backend.SumToShape(dy2, db);
            }
            return [dx, dw, db];
        }, keep: [true, true, false]);
    }

    /// <summary>
    /// Batched matrix product op(a)·op(b). a and b are [M,K] / [K,N] or batched [B,M,K] / [B,K,N]; a 2-D operand is
    /// shared across the batch. transA/transB transpose the last two dims.
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b, bool transA = false, bool transB = false)
    {
        if (a.Rank is < 2 or > 3 || b.Rank is < 2 or > 3) throw new ArgumentException("matmul takes 2-D or 3-D operands");
        int m = transA ? a.Dim(-1) : a.Dim(-2), ka = transA ? a.Dim(-2) : a.Dim(-1);
        int kb = transB ? b.Dim(-1) : b.Dim(-2), n = transB ? b.Dim(-2) : b.Dim(-1);
        if (ka != kb) throw new ArgumentException($"matmul: inner dims differ ({a.ShapeString}{(transA ? "ᵀ" : "")} · {b.ShapeString}{(transB ? "ᵀ" : "")})");
        int batch = a.Rank == 3 ? a.Dim(0) : b.Rank == 3 ? b.Dim(0) : 0;
        if (a.Rank == 3 && b.Rank == 3 && a.Dim(0) != b.Dim(0)) throw new ArgumentException("matmul: batch sizes differ");
        int[] shape = batch > 0 ? [batch, m, n] : [m, n];
        return Apply("matmul", [a, b], shape, (i, y) => y.Backend.MatMul(i[0]!, i[1]!, y, transA, transB), (dc, kept, needs) =>
        [
            needs[0] ? MatMulGrad(dc, kept[1]!, kept[0]!, transA, transB, forA: true) : null,
            needs[1] ? MatMulGrad(dc, kept[0]!, kept[1]!, transA, transB, forA: false) : null,
        ]);
    }

    // Gradient of C = op(A)·op(B) with respect to A (forA) or B, written as one GEMM per case:
    //   dA = dC·op(B)ᵀ (transposed back if A was transposed); dB = op(A)ᵀ·dC (likewise).
    private static Tensor MatMulGrad(Tensor dc, Tensor other, Tensor self, bool transA, bool transB, bool forA)
    {
        var be = dc.Backend;
        bool selfBatched = self.Rank == 3;
        var shape = self.ShapeArray();
        // When self is shared (2-D) but the product is batched, compute per batch then sum over the batch.
        bool reduceBatch = !selfBatched && dc.Rank == 3;
        Tensor target = reduceBatch ? Tensor.Empty([dc.Dim(0), shape[0], shape[1]], DType.F32, dc.Device) : Tensor.Empty(shape, DType.F32, dc.Device);
        if (forA)
        {
            // A not transposed: dA = dC · op(B)ᵀ  → MatMul(dC, B, transB: !transB)
            // A transposed:     dA = op(B) · dCᵀ  → MatMul(B, dC, transA: transB, transB: true)
            if (!transA) be.MatMul(dc, other, target, false, !transB);
            else be.MatMul(other, dc, target, transB, true);
        }
        else
        {
            // B not transposed: dB = op(A)ᵀ · dC → MatMul(A, dC, transA: !transA)
            // B transposed:     dB = dCᵀ · op(A) → MatMul(dC, A, transA: true, transB: transA)
            if (!transB) be.MatMul(other, dc, target, !transA, false);
            else be.MatMul(dc, other, target, true, transA);
        }
        if (!reduceBatch) return target;
        var summed = Tensor.Empty(shape, DType.F32, dc.Device);
        be.SumToShape(target, summed);
        target.Dispose();
        return summed;
    }
}

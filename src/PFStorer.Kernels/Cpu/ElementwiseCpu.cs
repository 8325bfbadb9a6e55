using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PFStorer.Kernels.Cpu;

/// <summary>
/// Binary arithmetic with numpy broadcasting, and the affine map. Shapes are right-aligned; a size-1 (or missing)
/// dimension repeats. The output may alias <c>a</c> exactly (in-place accumulation, e.g. gradient sums), never <c>b</c>.
/// </summary>
public static unsafe class ElementwiseCpu
{
    public enum BinaryKind : byte { Add, Sub, Mul }

    private const long Grain = 1 << 15;
    private const int MaxRank = 16;

    public static void Binary(BinaryKind op, ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b, ReadOnlySpan<int> bShape,
        Span<float> y, ReadOnlySpan<int> yShape)
    {
        if (yShape.Length > MaxRank) throw new ArgumentException($"binary {op}: rank {yShape.Length} exceeds {MaxRank}");
        CheckLength(a.Length, aShape, "a", op);
        CheckLength(b.Length, bShape, "b", op);
        CheckLength(y.Length, yShape, "y", op);

        // Per output dim: its size and the element strides of a and b (0 where that operand repeats).
        // Size-1 dims are dropped, then neighbours that step both operands uniformly are merged, so the innermost
        // loop is as long as possible and either contiguous (stride 1) or a repeated scalar (stride 0).
        Span<long> dims = stackalloc long[MaxRank + 1], sa = stackalloc long[MaxRank + 1], sb = stackalloc long[MaxRank + 1];
        int r = 0;
        long accA = 1, accB = 1;
        Span<long> strideA = stackalloc long[yShape.Length], strideB = stackalloc long[yShape.Length];
        for (int d = yShape.Length - 1; d >= 0; d--)
        {
            int da = DimFromRight(aShape, yShape.Length - 1 - d), db = DimFromRight(bShape, yShape.Length - 1 - d);
            if ((da != yShape[d] && da != 1) || (db != yShape[d] && db != 1))
                throw new ArgumentException($"binary {op}: [{string.Join(',', aShape.ToArray())}] and [{string.Join(',', bShape.ToArray())}] do not broadcast to [{string.Join(',', yShape.ToArray())}]");
            strideA[d] = da == 1 ? 0 : accA;
            strideB[d] = db == 1 ? 0 : accB;
            accA *= da;
            accB *= db;
        }
        for (int d = 0; d < yShape.Length; d++)
        {
            if (yShape[d] == 1) continue;
            if (r > 0 && sa[r - 1] == strideA[d] * yShape[d] && sb[r - 1] == strideB[d] * yShape[d])
            {
                dims[r - 1] *= yShape[d];
                sa[r - 1] = strideA[d];
                sb[r - 1] = strideB[d];
                continue;
            }
            dims[r] = yShape[d];
            sa[r] = strideA[d];
            sb[r] = strideB[d];
            r++;
        }
        if (r == 0) { dims[0] = 1; sa[0] = 1; sb[0] = 1; r = 1; } // every dim is 1: one element
        if (y.Length == 0) return;

        long inner = dims[r - 1], ia = sa[r - 1], ib = sb[r - 1];
        long rows = y.Length / inner;
        var outer = dims[..(r - 1)].ToArray();
        var outerA = sa[..(r - 1)].ToArray();
        var outerB = sb[..(r - 1)].ToArray();
        fixed (float* pa = a, pb = b, py = y)
        {
            float* aa = pa, bb = pb, yy = py;
            CpuParallel.For(rows, Math.Max(1, Grain / inner), (s, e) =>
            {
                for (long row = s; row < e; row++)
                {
                    long offA = 0, offB = 0, rest = row;
                    for (int d = outer.Length - 1; d >= 0; d--)
                    {
                        long i = rest % outer[d];
                        rest /= outer[d];
                        offA += i * outerA[d];
                        offB += i * outerB[d];
                    }
                    Row(op, aa + offA, ia, bb + offB, ib, new Span<float>(yy + row * inner, (int)inner));
                }
            });
        }
    }

    // One innermost run: each operand is either contiguous (stride 1) or one repeated value (stride 0).
    private static void Row(BinaryKind op, float* a, long strideA, float* b, long strideB, Span<float> y)
    {
        int n = y.Length;
        if (strideA == 1 && strideB == 1)
        {
            var av = new ReadOnlySpan<float>(a, n);
            var bv = new ReadOnlySpan<float>(b, n);
            switch (op)
            {
                case BinaryKind.Add: TensorPrimitives.Add(av, bv, y); break;
                case BinaryKind.Sub: TensorPrimitives.Subtract(av, bv, y); break;
                default: TensorPrimitives.Multiply(av, bv, y); break;
            }
        }
        else if (strideA == 1)
        {
            var av = new ReadOnlySpan<float>(a, n);
            switch (op)
            {
                case BinaryKind.Add: TensorPrimitives.Add(av, *b, y); break;
                case BinaryKind.Sub: TensorPrimitives.Subtract(av, *b, y); break;
                default: TensorPrimitives.Multiply(av, *b, y); break;
            }
        }
        else if (strideB == 1)
        {
            var bv = new ReadOnlySpan<float>(b, n);
            switch (op)
            {
                case BinaryKind.Add: TensorPrimitives.Add(bv, *a, y); break;
                case BinaryKind.Sub: TensorPrimitives.Subtract(*a, bv, y); break;
                default: TensorPrimitives.Multiply(bv, *a, y); break;
            }
        }
        else
        {
            y.Fill(op switch { BinaryKind.Add => *a + *b, BinaryKind.Sub => *a - *b, _ => *a * *b });
        }
    }

    /// <summary>y = alpha·x + beta; y may alias x exactly.</summary>
    public static void Affine(ReadOnlySpan<float> x, float alpha, float beta, Span<float> y)
    {
        ActivationCpu.CheckSame(x.Length, y.Length, "affine");
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        int i = 0;
        for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref rx, (nuint)i), va, vb).StoreUnsafe(ref ry, (nuint)i);
        for (; i < x.Length; i++) y[i] = MathF.FusedMultiplyAdd(x[i], alpha, beta);
    }

    private static int DimFromRight(ReadOnlySpan<int> shape, int k) => k < shape.Length ? shape[shape.Length - 1 - k] : 1;

    private static void CheckLength(int length, ReadOnlySpan<int> shape, string name, BinaryKind op)
    {
        long n = 1;
        foreach (int d in shape) n *= d;
        if (n != length) throw new ArgumentException($"binary {op}: {name} has {length} elements but shape [{string.Join(',', shape.ToArray())}]");
    }
}

using System.Runtime.Intrinsics;

namespace PFStorer.Kernels.Cpu;

/// <summary>
/// Single-precision GEMM, GotoBLAS/BLIS style: C[i] = alpha·op(A[i])·op(B[i]) + beta·C[i] (+ bias over rows), row-major.
/// op(B) is packed once into NR-wide column panels (shared by the whole batch when B is shared), then every
/// MC×NC tile of C is an independent task that packs its MR-high row panels of op(A) per KC slice and runs the
/// register-blocked <see cref="SgemmKernel"/> over them: the B micro-panel stays in L1, the packed A block in L2.
/// NR is the kernel's width: 16 (Vector256) or 32 (Vector512).
/// </summary>
public static unsafe class Sgemm
{
    public const int MR = SgemmKernel.MR;
    /// <summary>Depth of one packed slice: an MR×KC A panel (6 KiB) and a KC×NR B panel (16 or 32 KiB) fit L1 together.</summary>
    public const int KC = 256;
    /// <summary>Rows of A packed per tile: MC×KC floats (144 KiB) live in L2 while NC/NR B panels stream past.</summary>
    public const int MC = 24 * MR;
    /// <summary>Columns per tile (a multiple of both kernel widths); also the grain of the column split across threads.</summary>
    public const int NC = 512;

    /// <summary>Below this many multiply-adds a call runs on the calling thread: task hand-off would cost more than it saves.</summary>
    private const double ParallelThreshold = 1 << 18;

    /// <summary>C = alpha·op(A)·op(B) + beta·C (+ bias) for one m×n product.</summary>
    public static void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
        float beta, float* c, int ldc, float* bias = null) =>
        Batched(1, transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, bias);

    /// <summary>
    /// <paramref name="batch"/> products with element strides between entries; a stride of 0 shares that operand
    /// across the batch (a shared B is packed once). Leading dimensions are of the stored (untransposed) matrices.
    /// With beta = 0, C is write-only (its old contents, even NaN, are ignored). bias (length n) is added to every row.
    /// </summary>
    public static void Batched(int batch, bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, long strideA, float* b, int ldb, long strideB, float beta, float* c, int ldc, long strideC, float* bias = null) =>
        Batched(SgemmKernel.WideByDefault, batch, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, bias);

    /// <summary>The batched GEMM with an explicit kernel width, so tests and benchmarks can run the 6×16 kernel on AVX-512 machines too.</summary>
    internal static void Batched(bool wide, int batch, bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, long strideA, float* b, int ldb, long strideB, float beta, float* c, int ldc, long strideC, float* bias = null)
    {
        if (wide && !Vector512.IsHardwareAccelerated) throw new PlatformNotSupportedException("sgemm: the 6×32 kernel needs accelerated Vector512");
        int nr = wide ? SgemmKernel.WideNR : SgemmKernel.NarrowNR;
        if (batch < 0 || m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"sgemm: negative size batch={batch} m={m} n={n} k={k}");
        if (ldc < n || lda < (transA ? m : k) || ldb < (transB ? k : n))
            throw new ArgumentException($"sgemm: leading dimensions lda={lda} ldb={ldb} ldc={ldc} too small for m={m} n={n} k={k} (transA={transA}, transB={transB})");
        if (batch == 0 || m == 0 || n == 0) return;

        var job = new Job
        {
            TransA = transA, TransB = transB, Wide = wide, NR = nr, M = m, N = n, K = k, Alpha = alpha, Beta = beta,
            A = a, Lda = lda, StrideA = strideA, B = b, Ldb = ldb, StrideB = strideB,
            C = c, Ldc = ldc, StrideC = strideC, Bias = bias,
            NPad = (n + nr - 1) / nr * nr, MBlocks = (m + MC - 1) / MC, NBlocks = (n + NC - 1) / NC,
        };
        bool parallel = (double)batch * m * n * k >= ParallelThreshold;
        if (k == 0 || alpha == 0)
        {
            // No product to add: C = beta·C (+ bias), without reading A or B.
            for (int i = 0; i < batch; i++) job.Prologue(c + i * strideC, 0, m, 0, n);
            return;
        }

        int bCount = strideB == 0 ? 1 : batch;
        using var packedB = Scratch.Rent((long)bCount * k * job.NPad);
        job.PackedB = packedB.Pointer;
        int kBlocks = (k + KC - 1) / KC, panels = job.NPad / nr;
        long packUnits = (long)bCount * kBlocks * panels;
        if (parallel) Parallel.For(0L, packUnits, u => job.PackBUnit(u, kBlocks, panels));
        else for (long u = 0; u < packUnits; u++) job.PackBUnit(u, kBlocks, panels);

        long tiles = (long)batch * job.MBlocks * job.NBlocks;
        if (parallel && tiles > 1)
        {
            Parallel.For(0L, tiles,
                () => Scratch.Rent((long)MC * KC),
                (t, _, aPack) => { job.Tile(t, aPack.Pointer); return aPack; },
                aPack => aPack.Dispose());
        }
        else
        {
            using var aPack = Scratch.Rent((long)Math.Min(MC, (m + MR - 1) / MR * MR) * Math.Min(KC, k));
            for (long t = 0; t < tiles; t++) job.Tile(t, aPack.Pointer);
        }
    }

    private struct Job
    {
        public bool TransA, TransB, Wide;
        public int NR, M, N, K, Lda, Ldb, Ldc, NPad, MBlocks, NBlocks;
        public float Alpha, Beta;
        public float* A, B, C, Bias, PackedB;
        public long StrideA, StrideB, StrideC;

        /// <summary>Packs one KC×NR panel of op(B): unit = (batch entry, k block, column panel).</summary>
        public readonly void PackBUnit(long unit, int kBlocks, int panels)
        {
            int panel = (int)(unit % panels);
            long rest = unit / panels;
            int kb = (int)(rest % kBlocks), bi = (int)(rest / kBlocks);
            int pc = kb * KC, kc = Math.Min(KC, K - pc);
            float* dst = PackedB + (long)bi * K * NPad + (long)pc * NPad + (long)panel * kc * NR;
            SgemmPack.PanelB(B + bi * StrideB, Ldb, TransB, pc, kc, panel * NR, Math.Min(NR, N - panel * NR), NR, dst);
        }

        /// <summary>One MC×NC tile of one batch entry's C, over the full depth.</summary>
        public readonly void Tile(long t, float* aPack)
        {
            int nb = (int)(t % NBlocks);
            long rest = t / NBlocks;
            int mb = (int)(rest % MBlocks), bi = (int)(rest / MBlocks);
            int ic = mb * MC, mc = Math.Min(MC, M - ic), jc = nb * NC, nc = Math.Min(NC, N - jc);
            float* a = A + bi * StrideA, c = C + bi * StrideC;
            float* packedB = PackedB + (StrideB == 0 ? 0 : (long)bi * K * NPad);

            // beta and bias are applied once up front, so every k slice can simply accumulate; without them the
            // first slice overwrites C, which never has to be read (or zeroed) at all.
            bool prologue = Beta != 0 || Bias != null;
            if (prologue) Prologue(c, ic, mc, jc, nc);
            float* edge = stackalloc float[MR * SgemmKernel.WideNR];
            for (int pc = 0; pc < K; pc += KC)
            {
                int kc = Math.Min(KC, K - pc);
                SgemmPack.BlockA(a, Lda, TransA, ic, mc, pc, kc, aPack);
                bool accumulate = prologue || pc > 0;
                for (int jr = 0; jr < nc; jr += NR)
                {
                    int nr = Math.Min(NR, nc - jr);
                    float* bPanel = packedB + (long)pc * NPad + (long)((jc + jr) / NR) * kc * NR;
                    for (int ir = 0; ir < mc; ir += MR)
                    {
                        int mr = Math.Min(MR, mc - ir);
                        float* aPanel = aPack + (long)ir * kc;
                        float* cTile = c + (long)(ic + ir) * Ldc + jc + jr;
                        if (mr == MR && nr == NR)
                            Kernel(kc, aPanel, bPanel, cTile, Ldc, accumulate);
                        else
                        {
                            // Edge tile: the kernel always computes a full MR×NR block (packing zero-pads), so it
                            // writes to a scratch tile and only the valid mr×nr corner lands in C.
                            Kernel(kc, aPanel, bPanel, edge, NR, accumulate: false);
                            for (int i = 0; i < mr; i++)
                            {
                                float* dst = cTile + (long)i * Ldc;
                                float* src = edge + i * NR;
                                if (accumulate) for (int j = 0; j < nr; j++) dst[j] += src[j];
                                else for (int j = 0; j < nr; j++) dst[j] = src[j];
                            }
                        }
                    }
                }
            }
        }

        private readonly void Kernel(int kc, float* a, float* b, float* c, long ldc, bool accumulate)
        {
            if (Wide) SgemmKernel.Run32(kc, a, b, c, ldc, Alpha, accumulate);
            else SgemmKernel.Run16(kc, a, b, c, ldc, Alpha, accumulate);
        }

        /// <summary>C[rows, cols] = beta·C (+ bias); beta = 0 overwrites without reading C.</summary>
        public readonly void Prologue(float* c, int ic, int mc, int jc, int nc)
        {
            for (int i = 0; i < mc; i++)
            {
                var row = new Span<float>(c + (long)(ic + i) * Ldc + jc, nc);
                if (Beta == 0) row.Clear();
                else if (Beta != 1) System.Numerics.Tensors.TensorPrimitives.Multiply(row, Beta, row);
                if (Bias != null) System.Numerics.Tensors.TensorPrimitives.Add(row, new ReadOnlySpan<float>(Bias + jc, nc), row);
            }
        }
    }
}

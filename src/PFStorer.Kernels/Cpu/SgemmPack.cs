namespace PFStorer.Kernels.Cpu;

/// <summary>
/// Packing for <see cref="Sgemm"/>: copies a slice of op(A) / op(B) into the exact order the micro-kernel reads it,
/// zero-padded to whole MR / NR panels so the kernel never branches on edges.
/// </summary>
internal static unsafe class SgemmPack
{
    /// <summary>
    /// op(A)[ic..ic+mc, pc..pc+kc] as ⌈mc/MR⌉ panels, each [kc][MR] (one column of MR rows per depth step).
    /// </summary>
    public static void BlockA(float* a, int lda, bool trans, int ic, int mc, int pc, int kc, float* dst)
    {
        const int MR = SgemmKernel.MR;
        for (int ir = 0; ir < mc; ir += MR, dst += MR * kc)
        {
            int mr = Math.Min(MR, mc - ir);
            if (!trans)
            {
                // A row-major [m, k]: each packed row i reads a contiguous run of A's row.
                for (int i = 0; i < mr; i++)
                {
                    float* src = a + (long)(ic + ir + i) * lda + pc;
                    for (int p = 0; p < kc; p++) dst[p * MR + i] = src[p];
                }
            }
            else
            {
                // A stored [k, m]: the MR values of one depth step are contiguous.
                for (int p = 0; p < kc; p++)
                {
                    float* src = a + (long)(pc + p) * lda + ic + ir;
                    for (int i = 0; i < mr; i++) dst[p * MR + i] = src[i];
                }
            }
            if (mr < MR)
                for (int p = 0; p < kc; p++)
                    for (int i = mr; i < MR; i++) dst[p * MR + i] = 0;
        }
    }

    /// <summary>op(B)[pc..pc+kc, jc..jc+nr] (nr ≤ width, the kernel's NR) as one panel [kc][width], columns beyond nr zeroed.</summary>
    public static void PanelB(float* b, int ldb, bool trans, int pc, int kc, int jc, int nr, int width, float* dst)
    {
        if (!trans)
        {
            // B row-major [k, n]: one depth step is a contiguous run of width columns.
            for (int p = 0; p < kc; p++)
            {
                float* src = b + (long)(pc + p) * ldb + jc;
                float* d = dst + p * width;
                if (nr == width) new ReadOnlySpan<float>(src, width).CopyTo(new Span<float>(d, width));
                else
                {
                    for (int j = 0; j < nr; j++) d[j] = src[j];
                    for (int j = nr; j < width; j++) d[j] = 0;
                }
            }
        }
        else
        {
            // B stored [n, k] (e.g. a Linear weight): walk each column's contiguous depth run.
            for (int j = 0; j < nr; j++)
            {
                float* src = b + (long)(jc + j) * ldb + pc;
                for (int p = 0; p < kc; p++) dst[p * width + j] = src[p];
            }
            if (nr < width)
                for (int p = 0; p < kc; p++)
                    for (int j = nr; j < width; j++) dst[p * width + j] = 0;
        }
    }
}

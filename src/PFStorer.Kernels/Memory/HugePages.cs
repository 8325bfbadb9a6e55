using System.Runtime.InteropServices;

namespace PFStorer.Kernels.Memory;

/// <summary>
/// Large host blocks on transparent huge pages (Linux, where THP is in "madvise" mode, the common default): the first
/// touch of a 2 MiB page costs one page fault instead of 512. Loading the 5.6 GB of f32 weights of the 512 model
/// otherwise spends most of its time in the kernel, faulting in 1.4 million 4 KiB pages (docs/architecture.md,
/// "Loading weights"). Elsewhere, or when the kernel refuses the advice, the block is an ordinary one.
/// </summary>
internal static partial class HugePages
{
    private const nuint PageBytes = 2 << 20;
    private const int MadvHugePage = 14;

    /// <summary>Blocks of at least two huge pages: below that the rounding would cost more than the faults saved.</summary>
    public static bool Worth(long bytes) => OperatingSystem.IsLinux() && bytes >= 2 * (long)PageBytes;

    public static unsafe void* Alloc(long bytes)
    {
        void* p = NativeMemory.AlignedAlloc((nuint)bytes, PageBytes);
        // Advice only: failure (no THP, old kernel) leaves ordinary pages. Only whole huge pages inside the block are
        // backed by them; the tail stays on 4 KiB pages, so the resident size does not grow.
        if (p != null) _ = madvise((nint)p, (nuint)bytes / PageBytes * PageBytes, MadvHugePage);
        return p;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(nint address, nuint length, int advice);
}

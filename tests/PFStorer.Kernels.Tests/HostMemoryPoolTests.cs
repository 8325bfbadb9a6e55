using System.Globalization;
using PFStorer.Kernels.Memory;
using Xunit;

namespace PFStorer.Kernels.Tests;

/// <summary>The host pool's large blocks sit on transparent huge pages (docs/architecture.md, "Loading weights").</summary>
public sealed class HostMemoryPoolTests
{
    private const long HugePage = 2 << 20;

    [Fact]
    public unsafe void A_large_block_is_backed_by_huge_pages_once_touched()
    {
        if (!OperatingSystem.IsLinux()) Assert.Skip("transparent huge pages are a Linux feature");
        string mode = File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled");
        if (mode.Contains("[never]", StringComparison.Ordinal)) Assert.Skip($"transparent huge pages are disabled on this machine ({mode.Trim()})");
        var pool = new HostMemoryPool();
        var block = pool.Rent(5 * HugePage + 12345);
        try
        {
            Assert.Equal(0, block.Pointer % HugePage);
            new Span<byte>((void*)block.Pointer, checked((int)block.Bytes)).Fill(1);
            long huge = AnonHugePagesAround(block.Pointer);
            Assert.True(huge >= HugePage, $"the mapping holding the block has {huge} bytes of huge pages after its first touch");
        }
        finally
        {
            pool.Return(block);
            pool.Trim();
        }
    }

    [Fact]
    public unsafe void Small_blocks_keep_their_64_byte_alignment_and_are_reused()
    {
        var pool = new HostMemoryPool();
        var a = pool.Rent(1000);
        Assert.Equal(0, a.Pointer % 64);
        pool.Return(a);
        var b = pool.Rent(1000);
        Assert.Equal(a.Pointer, b.Pointer);
        pool.Return(b);
        Assert.Equal(1, pool.Counters.BackingAllocations);
        pool.Trim();
    }

    // AnonHugePages of the /proc/self/smaps entry whose range holds address.
    private static long AnonHugePagesAround(nint address)
    {
        bool inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            if (dash > 0 && line.IndexOf(' ') > dash && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, null, out ulong start))
            {
                ulong end = ulong.Parse(line.AsSpan(dash + 1, line.IndexOf(' ') - dash - 1), NumberStyles.HexNumber);
                inside = (ulong)address >= start && (ulong)address < end;
            }
            else if (inside && line.StartsWith("AnonHugePages:", StringComparison.Ordinal))
                return long.Parse(line["AnonHugePages:".Length..].Trim().Split(' ')[0]) * 1024;
        }
        return 0;
    }
}

using System.Globalization;
using PFStorer.Kernels.Memory;
using Xunit;

namespace PFStorer.Kernels.Tests;

/// <summary>
/// The host pool: large blocks on transparent huge pages (docs/architecture.md, "Loading weights"), and a bounded cache of
/// returned blocks that gives back the least recently returned first (docs/architecture.md, "Host memory").
/// </summary>
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

    [Fact]
    public void Returned_blocks_beyond_the_cache_limit_go_back_to_the_os_oldest_first()
    {
        var rng = new Random();
        // Five distinct sizes (multiples of 64, so none is rounded) of 64–128 KiB; the limit holds the last three.
        var sizes = Enumerable.Range(0, 5).Select(i => (1024 + 64 * i + rng.Next(16) * 320) * 64L).ToArray();
        var pool = new HostMemoryPool { CacheLimitBytes = sizes[2] + sizes[3] + sizes[4] };
        var blocks = sizes.Select(pool.Rent).ToArray();
        foreach (var b in blocks) pool.Return(b);
        var c = pool.Counters;
        Assert.Equal(sizes[2] + sizes[3] + sizes[4], c.BytesReserved - c.BytesInUse);

        var again = pool.Rent(sizes[4]);
        Assert.Equal(blocks[4].Pointer, again.Pointer);
        Assert.Equal(5, pool.Counters.BackingAllocations);
        var evicted = pool.Rent(sizes[0]);
        Assert.Equal(6, pool.Counters.BackingAllocations);
        pool.Return(again);
        pool.Return(evicted);
        pool.Trim();
        Assert.Equal(0, pool.Counters.BytesReserved);
    }

    [Fact]
    public void A_loop_within_the_limit_allocates_nothing_after_its_first_pass_even_after_other_work_filled_the_cache()
    {
        var rng = new Random();
        var pool = new HostMemoryPool { CacheLimitBytes = 1 << 20 };
        // Other work leaves 2 MiB of blocks the loop never asks for.
        for (int i = 0; i < 16; i++) pool.Return(pool.Rent((2000 + i) * 64L));
        var working = Enumerable.Range(0, 6).Select(_ => (long)rng.Next(100, 2000) * 64).ToArray();
        long afterFirst = 0;
        for (int pass = 0; pass < 5; pass++)
        {
            var held = working.Select(pool.Rent).ToArray();
            foreach (var b in held) pool.Return(b);
            if (pass == 0) afterFirst = pool.Counters.BackingAllocations;
        }
        Assert.Equal(afterFirst, pool.Counters.BackingAllocations);
        Assert.True(pool.Counters.BytesReserved <= 1 << 20, $"{pool.Counters.BytesReserved} bytes kept over a 1 MiB limit");
        pool.Trim();
    }

    [Fact]
    public void Lowering_the_limit_releases_the_cache_at_once()
    {
        var pool = new HostMemoryPool();
        var kept = pool.Rent(4096);
        for (int i = 1; i <= 8; i++) pool.Return(pool.Rent(i * 8192));
        Assert.True(pool.Counters.BytesReserved > 4096);
        pool.CacheLimitBytes = 0;
        Assert.Equal(4096, pool.Counters.BytesReserved);
        pool.Return(kept);
        Assert.Equal(0, pool.Counters.BytesReserved);
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

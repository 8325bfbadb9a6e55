using PFStorer.Kernels.Cuda;
using PFStorer.Kernels.Memory;
using Xunit;

namespace PFStorer.Kernels.Tests;

/// <summary>The arena's sub-allocation logic over a fake memory source (addresses are never dereferenced).</summary>
public sealed class DeviceArenaTests
{
    private sealed class FakeSource : IDeviceMemorySource
    {
        private long _next = 1L << 32;
        public List<(nint Base, long Bytes)> Live { get; } = new();
        public int Allocations { get; private set; }

        public nint Allocate(long bytes)
        {
            Allocations++;
            var p = (nint)_next;
            _next += bytes + (1L << 20);   // gaps between chunks, so merging across chunks would show
            Live.Add((p, bytes));
            return p;
        }

        public void Free(nint pointer)
        {
            Assert.Equal(1, Live.RemoveAll(c => c.Base == pointer));
        }
    }

    [Fact]
    public void Repeated_step_reaches_zero_driver_allocations()
    {
        var source = new FakeSource();
        using var arena = new DeviceArena(source, chunkBytes: 1 << 20);
        long[] step = [4096, 300_000, 17, 65_536, 700_000, 4096, 1 << 21];   // the last one exceeds a chunk
        void RunStep()
        {
            var blocks = new List<MemoryBlock>();
            foreach (var s in step)
            {
                blocks.Add(arena.Rent(s));
                if (blocks.Count % 3 == 0) { arena.Return(blocks[0]); blocks.RemoveAt(0); }   // interleaved frees, as a graph does
            }
            foreach (var b in blocks) arena.Return(b);
        }
        RunStep();
        long afterFirst = arena.Counters.BackingAllocations;
        for (int i = 0; i < 5; i++) RunStep();
        Assert.Equal(afterFirst, arena.Counters.BackingAllocations);
        Assert.Equal(afterFirst, source.Allocations);
        Assert.Equal(0, arena.Counters.BytesInUse);
        Assert.Equal(6 * step.Length, arena.Counters.Rents);
    }

    [Fact]
    public void Freed_neighbours_merge_back_into_one_range()
    {
        var source = new FakeSource();
        using var arena = new DeviceArena(source, chunkBytes: 4096);
        var a = arena.Rent(1024);
        var b = arena.Rent(1024);
        var c = arena.Rent(2048);
        Assert.Equal(1, source.Allocations);
        arena.Return(b);
        arena.Return(a);
        arena.Return(c);
        var whole = arena.Rent(4096);   // fits only if a, b and c merged again
        Assert.Equal(1, source.Allocations);
        Assert.Equal(source.Live[0].Base, whole.Pointer);
    }

    [Fact]
    public void Random_rents_never_overlap_and_stay_aligned()
    {
        var rng = PFStorer.Tests.Reference.NewRandom(out int seed);
        var source = new FakeSource();
        using var arena = new DeviceArena(source, chunkBytes: 1 << 16);
        var live = new List<MemoryBlock>();
        for (int i = 0; i < 2000; i++)
        {
            if (live.Count > 0 && rng.NextDouble() < 0.45)
            {
                int k = rng.Next(live.Count);
                arena.Return(live[k]);
                live.RemoveAt(k);
            }
            else
            {
                var block = arena.Rent(rng.Next(1, 40_000));
                Assert.True(block.Pointer % DeviceArena.Alignment == 0, $"unaligned block (seed {seed})");
                Assert.True(source.Live.Any(c => block.Pointer >= c.Base && block.Pointer + block.Bytes <= c.Base + c.Bytes), $"block outside every chunk (seed {seed})");
                live.Add(block);
            }
            var sorted = live.OrderBy(b => b.Pointer).ToArray();
            for (int j = 1; j < sorted.Length; j++)
                Assert.True(sorted[j - 1].Pointer + sorted[j - 1].Bytes <= sorted[j].Pointer, $"overlapping blocks at step {i} (seed {seed})");
        }
        Assert.Equal(live.Sum(b => b.Bytes), arena.Counters.BytesInUse);
        foreach (var b in live) arena.Return(b);
        arena.Trim();
        Assert.Empty(source.Live);
        Assert.Equal(0, arena.Counters.BytesReserved);
    }

    [Fact]
    public void Returning_a_foreign_or_freed_block_throws()
    {
        using var arena = new DeviceArena(new FakeSource(), chunkBytes: 4096);
        var a = arena.Rent(10);
        arena.Return(a);
        Assert.Throws<InvalidOperationException>(() => arena.Return(a));
        Assert.Throws<InvalidOperationException>(() => arena.Return(new MemoryBlock(12345, 256)));
    }

    [Fact]
    public void Trim_releases_only_empty_chunks()
    {
        var source = new FakeSource();
        using var arena = new DeviceArena(source, chunkBytes: 4096);
        var a = arena.Rent(4096);
        var b = arena.Rent(4096);
        Assert.Equal(2, source.Allocations);
        arena.Return(b);
        arena.Trim();
        Assert.Single(source.Live);
        Assert.Equal(4096, arena.Counters.BytesReserved);
        arena.Return(a);
    }
}

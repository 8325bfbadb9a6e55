using System.Diagnostics;
using PFStorer.Graph.Checkpoints;
using Xunit;

namespace PFStorer.Graph.Tests.Checkpoints;

/// <summary>
/// Random byte flips and truncations of both fixtures (fixed seed, bounded count): every outcome is a successful open
/// and load or a <see cref="CheckpointFormatException"/> — never another exception, a hang or a runaway allocation.
/// Flips are aimed mostly at the structure (safetensors header, zip directory, data.pkl), where parsers can go wrong.
/// </summary>
public sealed class CheckpointFuzzTests
{
    private const int Seed = 20261122;

    [Theory]
    [InlineData("model.safetensors", 1000)]
    [InlineData("model.ckpt", 600)]
    public void MutatedFixturesOpenOrFailWithDocumentedErrors(string fixture, int iterations)
    {
        var data = File.ReadAllBytes(Fixtures.Path("stablesr-tiny", fixture));
        var rng = new Random(Seed ^ fixture.Length);
        var structure = StructureRanges(data, fixture);
        int opened = 0, rejected = 0;
        var clock = Stopwatch.StartNew();
        for (int it = 0; it < iterations; it++)
        {
            int? length = null;
            var flips = new List<(int At, byte Was)>();
            int mode = rng.Next(4);
            if (mode == 0) length = rng.Next(data.Length);
            else
            {
                for (int k = 1 + rng.Next(4); k > 0; k--)
                {
                    var (lo, hi) = mode == 3 ? (0, data.Length) : structure[rng.Next(structure.Count)];
                    int at = rng.Next(lo, hi);
                    flips.Add((at, data[at]));
                    data[at] = rng.Next(3) == 0 ? (byte)rng.Next(256) : (byte)(data[at] ^ (1 << rng.Next(8)));
                }
            }
            string what = $"{fixture} iteration {it} (seed {Seed}): " + (length is int l ? $"truncated to {l}" : "flips at " + string.Join(",", flips.Select(f => f.At)));
            try
            {
                using var c = Checkpoint.Open(new CountingByteSource(data, fixture, length));
                foreach (var t in c.Tensors.Take(3).Concat(c.Tensors.TakeLast(3)))
                    using (c.Load(t.Name)) { }
                opened++;
            }
            catch (CheckpointFormatException) { rejected++; }
            catch (Exception e) { Assert.Fail($"{what}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}"); }
            finally
            {
                for (int k = flips.Count - 1; k >= 0; k--) data[flips[k].At] = flips[k].Was;
            }
        }
        Assert.True(rejected > iterations / 10, $"only {rejected} of {iterations} mutations were rejected; the fuzzer is not reaching the parsers");
        TestContext.Current.SendDiagnosticMessage($"{fixture}: {opened} opened, {rejected} rejected in {clock.ElapsedMilliseconds} ms");
    }

    /// <summary>
    /// Random pickles of nested containers (lists, tuples, dicts, sets, memo reuse, _rebuild_from_type_v2 chains)
    /// up to tens of thousands deep: each opens or fails with a format error; none overflows the stack.
    /// </summary>
    [Fact]
    public void RandomlyNestedPicklesOpenOrFailCleanly()
    {
        const int iterations = 300;
        var rng = new Random(Seed + 1);
        int opened = 0, rejected = 0;
        for (int it = 0; it < iterations; it++)
        {
            int depth = rng.Next(4) switch { 0 => rng.Next(1, 16), 1 => rng.Next(16, 1000), _ => rng.Next(1000, 50_000) };
            var p = new PickleWriter().Proto().EmptyDict().Mark().Str("state_dict").EmptyDict().Str("x");
            int kind = rng.Next(5);
            switch (kind)
            {
                case 0: // lists (some reached again through the memo)
                    p.Op(']').Op('q').Raw(0);
                    for (int i = 1; i < depth; i++) { p.Op(']'); if (rng.Next(8) == 0) p.Op('h').Raw(0).Op('a'); }
                    for (int i = 1; i < depth; i++) p.Op('a');
                    break;
                case 1: // tuples, mixing MARK tuples with TUPLE1/2
                    for (int i = 0; i < depth; i++) if (rng.Next(2) == 0) p.Mark();
                    p.EmptyTuple();
                    for (int i = 0; i < depth; i++) p.Op((byte)0x85);
                    break;
                case 2: // dicts under random keys, then frozensets around them
                    p.EmptyDict();
                    for (int i = 1; i < depth; i++) p.Int(rng.Next(3)).EmptyDict();
                    for (int i = 1; i < depth; i++) p.Op('s');
                    for (int i = rng.Next(3); i > 0; i--) p.Op((byte)0x91);   // FROZENSET without a MARK: must be refused
                    break;
                case 3: // _rebuild_from_type_v2 chains of random depth around a real-looking tensor call
                    p.Global("torch._tensor", "_rebuild_from_type_v2").Op('q').Raw(0).Global("torch", "Tensor").Op('q').Raw(1).Op('0');
                    p.Op('h').Raw(0);
                    for (int i = 0; i < depth; i++) p.Mark().Op('h').Raw(0).Op('h').Raw(1);
                    p.EmptyTuple();
                    for (int i = 0; i < depth; i++) p.EmptyDict().Tuple();
                    p.Reduce();
                    break;
                default: // random bytes of the container opcodes after a valid prefix
                    byte[] ops = [(byte)']', (byte)'}', (byte)')', (byte)'(', (byte)'t', (byte)'a', (byte)'s', (byte)'u', (byte)'e', (byte)'N', 0x85, 0x86, 0x87, (byte)'2', (byte)'0', 0x94];
                    for (int i = 0; i < depth; i++) p.Op(ops[rng.Next(ops.Length)]);
                    break;
            }
            p.SetItems().Stop();
            try
            {
                using var c = Checkpoint.Open(ByteSource.FromMemory(TestZip.TorchCheckpoint(p.ToArray(), []), "nested.ckpt"));
                opened++;
            }
            catch (CheckpointFormatException) { rejected++; }
            catch (Exception e) { Assert.Fail($"nested pickle, iteration {it} (seed {Seed + 1}, kind {kind}, depth {depth}): {e.GetType().Name}: {e.Message}"); }
        }
        Assert.True(opened > 0 && rejected > 0, $"{opened} opened, {rejected} rejected: the generator reaches only one outcome");
        TestContext.Current.SendDiagnosticMessage($"nested pickles: {opened} opened, {rejected} rejected of {iterations} (seed {Seed + 1})");
    }

    /// <summary>
    /// Random shapes, strides, offsets and storage sizes (zero strides, int.MaxValue dims, long-overflowing strides):
    /// a tensor either opens covering no more bytes than its storage and loads exactly, or is a format error.
    /// </summary>
    [Fact]
    public void RandomShapesAndStridesAreBoundedOrRefused()
    {
        const int iterations = 3000;
        var rng = new Random(Seed + 2);
        int[] dims = [0, 1, 2, 3, 7, 1000, 65536, int.MaxValue];
        long[] strides = [0, 1, 2, 3, 64, 1L << 31, long.MaxValue / 3, long.MaxValue];
        int opened = 0, rejected = 0;
        for (int it = 0; it < iterations; it++)
        {
            int rank = rng.Next(5);
            var shape = Enumerable.Range(0, rank).Select(_ => rng.Next(3) == 0 ? dims[rng.Next(dims.Length)] : rng.Next(1, 5)).ToArray();
            var stride = Enumerable.Range(0, rank).Select(_ => rng.Next(3) == 0 ? strides[rng.Next(strides.Length)] : rng.Next(0, 9)).ToArray();
            int storage = rng.Next(0, 80);
            long offset = rng.Next(4) == 0 ? rng.Next(0, 100) : 0;
            string what = $"iteration {it} (seed {Seed + 2}): shape [{string.Join(',', shape)}] strides [{string.Join(',', stride)}] offset {offset} storage {storage}";
            try
            {
                using var c = Checkpoint.Open(ByteSource.FromMemory(HostileCheckpointTests.StridedCheckpoint(shape, stride, storage, offset: offset), "shape.ckpt"));
                var t = c.Tensors.Single();
                Assert.True(t.Bytes <= storage * 4L, what);
                using var loaded = c.Load("w");
                Assert.Equal(t.Numel, loaded.Numel);
                opened++;
            }
            catch (CheckpointFormatException) { rejected++; }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException) { Assert.Fail($"{what}: {e.GetType().Name}: {e.Message}"); }
        }
        Assert.True(opened > iterations / 10 && rejected > iterations / 10, $"{opened} opened, {rejected} rejected");
        TestContext.Current.SendDiagnosticMessage($"shapes/strides: {opened} opened, {rejected} rejected of {iterations} (seed {Seed + 2})");
    }

    /// <summary>Byte ranges the parsers read: the safetensors header, or the zip tail, directory and data.pkl.</summary>
    private static List<(int, int)> StructureRanges(byte[] data, string fixture)
    {
        using var c = Checkpoint.Open(ByteSource.FromMemory(data, fixture));
        if (c is SafetensorsCheckpoint st) return [(0, (int)st.HeaderBytes)];
        int firstData = (int)c.Tensors.Min(t => t.StorageStart);
        int tensorEnd = (int)c.Tensors.Max(t => t.StorageStart + t.StorageBytes);
        return [(0, firstData), (tensorEnd, data.Length)];
    }
}

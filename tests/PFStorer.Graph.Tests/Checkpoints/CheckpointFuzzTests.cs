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
    [InlineData("model.ckpt", 1000)]
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

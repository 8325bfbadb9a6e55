using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Modules;
using PFStorer.Kernels;
using Xunit;

namespace PFStorer.Graph.Tests.Checkpoints;

/// <summary>
/// The parallel, block-wise load and the zero-copy map give exactly the bits of an element-by-element scalar
/// conversion, for every bit pattern (random raw bits cover NaNs, infinities and subnormals), in tensors that span
/// several conversion blocks and end mid-block.
/// </summary>
public sealed class ParallelLoadTests : IDisposable
{
    private const int Elements = (1 << 20) * 2 + 12346; // two full blocks and a partial one; even, so the f32 tensor after the bf16 one stays aligned
    private readonly string _dir = Directory.CreateTempSubdirectory("pfstorer-load-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static float[] Scalar(ushort[] bits, CheckpointDType dtype) => dtype == CheckpointDType.F16
        ? bits.Select(b => (float)BitConverter.UInt16BitsToHalf(b)).ToArray()
        : bits.Select(b => BitConverter.UInt32BitsToSingle((uint)b << 16)).ToArray();

    private (string Path, ushort[] Half, ushort[] Bf16, uint[] F32) WriteRandom(Random rng)
    {
        ushort[] RandomBits16() => Enumerable.Range(0, Elements).Select(_ => (ushort)rng.Next(0x10000)).ToArray();
        var half = RandomBits16();
        var bf16 = RandomBits16();
        var f32 = Enumerable.Range(0, Elements).Select(_ => (uint)rng.NextInt64(0x1_0000_0000)).ToArray();
        string path = Path.Combine(_dir, "random.safetensors");
        SafetensorsWriter.Write(path,
        [
            new SafetensorsEntry("encoder.f16", CheckpointDType.F16, [Elements], s => s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(half.AsSpan()))),
            new SafetensorsEntry("decoder.bf16", CheckpointDType.BF16, [Elements], s => s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(bf16.AsSpan()))),
            new SafetensorsEntry("decoder.f32", CheckpointDType.F32, [Elements], s => s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(f32.AsSpan()))),
        ]);
        return (path, half, bf16, f32);
    }

    private static uint[] Bits(Tensor t) => t.Span<float>().ToArray().Select(BitConverter.SingleToUInt32Bits).ToArray();

    private static void AssertBits(float[] expected, Tensor actual, string what, int seed)
    {
        var want = expected.Select(BitConverter.SingleToUInt32Bits).ToArray();
        var got = Bits(actual);
        int first = Enumerable.Range(0, want.Length).FirstOrDefault(i => want[i] != got[i], -1);
        Assert.True(first < 0, $"{what} (seed {seed}): element {first} is 0x{(first < 0 ? 0 : got[first]):X8}, scalar conversion gives 0x{(first < 0 ? 0 : want[first]):X8}");
    }

    [Fact]
    public void CopiedLoadsEqualScalarConversionBitForBit()
    {
        var rng = Reference.NewRandom(out int seed);
        var (path, half, bf16, f32) = WriteRandom(rng);
        var bytes = File.ReadAllBytes(path);
        foreach (var ckpt in new[] { Checkpoint.Open(path), Checkpoint.Open(ByteSource.FromMemory(bytes, "memory")) })
            using (ckpt)
            {
                using (var t = ckpt.Load("encoder.f16")) AssertBits(Scalar(half, CheckpointDType.F16), t, $"{ckpt.Path} f16", seed);
                using (var t = ckpt.Load("decoder.bf16")) AssertBits(Scalar(bf16, CheckpointDType.BF16), t, $"{ckpt.Path} bf16", seed);
                using (var t = ckpt.Load("decoder.f32")) Assert.Equal(f32, Bits(t));
            }
    }

    [Fact]
    public void MappedF32EqualsTheFileAndCopiesNothing()
    {
        var rng = Reference.NewRandom(out int seed);
        var (path, _, _, f32) = WriteRandom(rng);
        using var ckpt = Checkpoint.Open(path);
        Assert.True(ckpt.CanMap("decoder.f32", DType.F32));
        Assert.False(ckpt.CanMap("encoder.f16", DType.F32));
        Assert.False(ckpt.CanMap("decoder.f32", DType.F16));
        using var mapped = ckpt.Map("decoder.f32");
        Assert.Equal(f32, Bits(mapped));
        using var memory = Checkpoint.Open(ByteSource.FromMemory(File.ReadAllBytes(path), "memory"));
        Assert.False(memory.CanMap("decoder.f32", DType.F32));
    }

    [Fact]
    public void LoadIntoMapsF32ParametersAndAWriteNeverReachesTheFile()
    {
        var rng = Reference.NewRandom(out int seed);
        var (path, half, _, f32) = WriteRandom(rng);
        var before = File.ReadAllBytes(path);
        using var module = new Pair();
        using (var ckpt = Checkpoint.Open(path))
        {
            var report = LoadReport.LoadInto(ckpt, module, StableSRComponent.CfwVae);
            Assert.Equal(2, report.Matched);
        }
        var weights = module.NamedParameters().ToDictionary(p => p.Path, p => p.Param.Tensor);
        Assert.Equal(f32, Bits(weights["decoder.f32"]));
        AssertBits(Scalar(half, CheckpointDType.F16), weights["encoder.f16"], "LoadInto f16", seed);

        weights["decoder.f32"].Span<float>().Fill(7f); // copy-on-write: private to this process
        Assert.All(weights["decoder.f32"].Span<float>().ToArray(), v => Assert.Equal(7f, v));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    // The CFW component has no key prefix, so module paths are the file's keys.
    private sealed class Pair : Module
    {
        public Pair()
        {
            Child("encoder", new Leaf("f16"));
            Child("decoder", new Leaf("f32"));
        }

        private sealed class Leaf : Module
        {
            public Leaf(string name) => Param(name, Elements);
        }
    }
}

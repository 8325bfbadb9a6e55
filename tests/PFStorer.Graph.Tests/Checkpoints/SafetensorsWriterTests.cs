using System.Buffers.Binary;
using System.Text;
using PFStorer.Graph.Checkpoints;
using PFStorer.Kernels;
using Xunit;

namespace PFStorer.Graph.Tests.Checkpoints;

public sealed class SafetensorsWriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pfstorer-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A header length with low byte 0x80 makes the file start like a pickle (0x80 = PROTO); it is still safetensors.</summary>
    [Fact]
    public void AHeaderLengthStartingWithThePickleOpcodeIsStillReadAsSafetensors()
    {
        string path = Path.Combine(_dir, "x.bin");
        using var t = Tensor.FromArray([1f, 2f, 3f], 3);
        for (int pad = 0; pad < 256 && !(File.Exists(path) && File.ReadAllBytes(path)[0] == 0x80); pad += 8)
            SafetensorsWriter.Write(path, [("t", t)], new Dictionary<string, string> { ["pad"] = new string('x', pad) });
        Assert.Equal(0x80, File.ReadAllBytes(path)[0]);
        using var st = Checkpoint.Open(path);
        using var back = st.Load("t");
        Assert.Equal([1f, 2f, 3f], back.ToFloatArray());
    }

    [Fact]
    public void RandomTensorsRoundTripBitExactWithSortedPaddedHeader()
    {
        var rng = Reference.NewRandom(out int seed);
        var tensors = new List<(string, Tensor)>
        {
            ("z.f32", Tensor.FromArray(Enumerable.Range(0, 60).Select(_ => (float)rng.NextDouble()).ToArray(), 3, 4, 5)),
            ("a.i64", Tensor.FromArray(Enumerable.Range(0, 7).Select(_ => rng.NextInt64()).ToArray(), 7)),
            ("m.i32", Tensor.FromArray(Enumerable.Range(0, 3).Select(_ => rng.Next()).ToArray(), 3)),
            ("b.scalar", Tensor.FromArray([(float)rng.NextDouble()])),
        };
        using (var f32 = tensors[0].Item2.View(12, 5))
        {
            tensors.Add(("h.f16", f32.Contiguous(DType.F16, Device.Cpu)));
            tensors.Add(("h.bf16", f32.Contiguous(DType.BF16, Device.Cpu)));
            tensors.Add(("t.transposed", f32.Permute(1, 0)));
        }
        string path = Path.Combine(_dir, "round.safetensors");
        try
        {
            SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode" });
            var bytes = File.ReadAllBytes(path);
            long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
            Assert.Equal(0, headerLength % 8);
            string header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
            Assert.StartsWith("{\"__metadata__\":{\"format\":\"pt\"", header);
            var order = tensors.Select(t => t.Item1).Order(StringComparer.Ordinal).Select(n => header.IndexOf($"\"{n}\"", StringComparison.Ordinal)).ToList();
            Assert.Equal(order.Order(), order);

            using var st = Checkpoint.Open(path);
            Assert.Equal("ünïcode", st.Metadata["note"]);
            foreach (var (name, t) in tensors)
            {
                using var back = st.Load(name, t.DType);
                using var want = t.Contiguous();
                Assert.True(t.Shape.SequenceEqual(back.Shape), $"{name} (seed {seed})");
                Assert.True(Raw(want).SequenceEqual(Raw(back)), $"{name} differs after the round trip (seed {seed})");
            }
            Assert.Equal(["round.safetensors"], Directory.GetFiles(_dir).Select(Path.GetFileName));
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
        }
    }

    [Fact]
    public void FailedWriteLeavesNeitherTargetNorTemporaryFile()
    {
        string path = Path.Combine(_dir, "never.safetensors");
        var entries = new[] { new SafetensorsEntry("a", CheckpointDType.F32, [2], s => s.Write(new byte[4])) };
        var ex = Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.Write(path, entries, cancel: TestContext.Current.CancellationToken));
        Assert.Contains("tensor 'a' wrote 4 bytes, expected 8", ex.Message);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void CkptConvertsToSafetensorsWithTheSameTensors()
    {
        string output = Path.Combine(_dir, "model.safetensors");
        using var ckpt = Checkpoint.Open(Fixtures.Path("stablesr-tiny", "model.ckpt"));
        CheckpointConversion.ToSafetensors(ckpt, output, cancel: TestContext.Current.CancellationToken);
        using var st = Checkpoint.Open(output);
        Assert.Equal("1234", st.Metadata["global_step"]);
        Assert.Equal(ckpt.Tensors.Count, st.Tensors.Count);
        foreach (var t in ckpt.Tensors)
        {
            var s = st[t.Name];
            Assert.Equal(t.DType, s.DType);
            Assert.True(t.Shape.SequenceEqual(s.Shape), t.Name);
            using var a = ckpt.Load(t.Name, DType.F16);
            using var b = st.Load(t.Name, DType.F16);
            Assert.True(Raw(a).SequenceEqual(Raw(b)), t.Name);
        }
        Assert.Throws<ArgumentException>(() => CheckpointConversion.ToSafetensors(st, output, cancel: TestContext.Current.CancellationToken));
    }

    [Fact]
    public void ConvertingViewsGathersThemInRowMajorOrder()
    {
        string output = Path.Combine(_dir, "views.safetensors");
        using var ckpt = Checkpoint.Open(ByteSource.FromMemory(TorchZipCheckpointTests.LightningCheckpoint(zip64: false), Path.Combine(_dir, "views.ckpt")));
        CheckpointConversion.ToSafetensors(ckpt, output, CheckpointDType.F32, TestContext.Current.CancellationToken);
        using var st = Checkpoint.Open(output);
        foreach (var t in ckpt.Tensors)
        {
            using var a = ckpt.Load(t.Name);
            using var b = st.Load(t.Name);
            Assert.Equal(a.DType, b.DType);
            Assert.True(Raw(a).SequenceEqual(Raw(b)), t.Name);
        }
        Assert.Equal(CheckpointDType.F32, st["bf16"].DType);
        Assert.Equal(CheckpointDType.U8, st["u8"].DType);
    }

    private static unsafe byte[] Raw(Tensor t) => new ReadOnlySpan<byte>((void*)t.DataPointer, (int)(t.Numel * t.DType.Size())).ToArray();
}

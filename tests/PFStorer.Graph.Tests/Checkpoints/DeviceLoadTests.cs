using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Models;
using PFStorer.Graph.Pipeline;
using PFStorer.Graph.Tests.Autograd;
using PFStorer.Kernels;
using PFStorer.Kernels.Memory;
using Xunit;

namespace PFStorer.Graph.Tests.Checkpoints;

/// <summary>
/// Loading straight onto a device other than the host (docs/architecture.md, "Loading weights"), with a
/// <see cref="CountingBackend"/> as that device: the stablesr-tiny weights from f32, f16 and bf16 files arrive bit for
/// bit as the host load has them, every parameter on the device, in the blocks the staging asks for.
/// </summary>
public sealed class DeviceLoadTests(TinyWeightFiles files) : IClassFixture<TinyWeightFiles>
{
    /// <summary>Odd-sized blocks and more workers than this machine may have cores: most tensors span blocks and end mid-block.</summary>
    internal static DeviceStaging SmallStaging(Device device) => new(device, blockElements: 3001, workers: 3);

    /// <summary>Every (module, component) of the model and CFW VAE in <paramref name="dtype"/>, loaded with <paramref name="staging"/> (null: the host).</summary>
    internal static (LatentDiffusionSRTextWT Model, AutoencoderKL Vae) LoadTiny(TinyWeightFiles files, CheckpointDType dtype, DeviceStaging? staging)
    {
        var (modelPath, vaePath) = files.In(dtype);
        var config = StableSRWeights.ConfigFor(modelPath);
        var model = new LatentDiffusionSRTextWT(config);
        var vae = new AutoencoderKL(config.CfwVae, cfw: true);
        using (var file = Checkpoint.Open(modelPath))
            foreach (var (component, module) in StableSRWeights.Components(model))
                Assert.True(LoadReport.LoadInto(file, module, component, staging: staging).IsExact, $"{modelPath} {component}");
        using (var file = Checkpoint.Open(vaePath))
            Assert.True(LoadReport.LoadInto(file, vae, StableSRComponent.CfwVae, staging: staging).IsExact, vaePath);
        return (model, vae);
    }

    private static IEnumerable<(string Path, Tensor Value)> Values(LatentDiffusionSRTextWT model, AutoencoderKL vae) =>
        model.NamedParameters().Concat(vae.NamedParameters().Select(p => ("cfw." + p.Path, p.Param)))
            .Select(p => (p.Item1, p.Item2.Tensor));

    /// <summary>Asserts the same parameters with the same bits, <paramref name="actual"/>'s all on <paramref name="device"/>.</summary>
    private static void AssertSameBits(IEnumerable<(string Path, Tensor Value)> expected, IEnumerable<(string Path, Tensor Value)> actual, Device device)
    {
        var want = expected.ToList();
        var got = actual.ToList();
        Assert.Equal(want.Select(p => p.Path), got.Select(p => p.Path));
        for (int i = 0; i < want.Count; i++)
        {
            Assert.True(got[i].Value.Device == device, $"{got[i].Path} is on {got[i].Value.Device}, not {device}");
            Assert.Equal(DType.F32, got[i].Value.DType);
            var w = want[i].Value.ToFloatArray().Select(BitConverter.SingleToUInt32Bits).ToArray();
            var g = got[i].Value.ToFloatArray().Select(BitConverter.SingleToUInt32Bits).ToArray();
            int first = Enumerable.Range(0, w.Length).FirstOrDefault(k => w[k] != g[k], -1);
            Assert.True(w.Length == g.Length && first < 0, $"{got[i].Path}: element {first} differs from the host load");
        }
    }

    [Theory]
    [InlineData(CheckpointDType.F32)]
    [InlineData(CheckpointDType.F16)]
    [InlineData(CheckpointDType.BF16)]
    public void DirectLoadEqualsTheHostLoadBitForBitInBlocks(CheckpointDType dtype)
    {
        var device = CountingBackend.Create();
        var staging = SmallStaging(device.Device);
        var (hostModel, hostVae) = LoadTiny(files, dtype, null);
        var (model, vae) = LoadTiny(files, dtype, staging);
        using (hostModel) using (hostVae) using (model) using (vae)
        {
            AssertSameBits(Values(hostModel, hostVae), Values(model, vae), device.Device);
            // One host→device copy per block: the parameters were filled block by block, not copied whole.
            long blocks = Values(model, vae).Sum(p => (p.Value.Numel + staging.BlockElements - 1) / staging.BlockElements);
            Assert.Equal(blocks, device.Calls.Count(c => c.Name == nameof(Backends.IBackend.CopyFromHost)));
        }
    }

    [Fact]
    public void StableSRWeightsLoadOntoTheDeviceItIsGiven()
    {
        var device = CountingBackend.Create();
        var (modelPath, vaePath) = files.In(CheckpointDType.F16);
        using var host = StableSRWeights.Load(modelPath, vaePath);
        using var direct = StableSRWeights.Load(modelPath, vaePath, device.Device);
        AssertSameBits(Values(host.Model, host.CfwVae), Values(direct.Model, direct.CfwVae), device.Device);
    }

    [Fact]
    public void StridedAndOddTensorsLoadOntoTheDevice()
    {
        var device = CountingBackend.Create();
        using var ckpt = Checkpoint.Open(ByteSource.FromMemory(TorchZipCheckpointTests.LightningCheckpoint(zip64: false), "views.ckpt"));
        foreach (var name in new[] { "transposed", "sliced", "shared", "bf16", "f64", "scalar", "empty", "param" })
        {
            using var expected = ckpt.Load(name, DType.F32);
            using var actual = ckpt.Load(name, DType.F32, SmallStaging(device.Device));
            Assert.Equal(device.Device, actual.Device);
            Assert.Equal(expected.ShapeArray(), actual.ShapeArray());
            Assert.Equal(expected.ToFloatArray(), actual.ToFloatArray());
        }
    }

    [Fact]
    public void NonFiniteWeightsAreRefusedOnTheDeviceButHugeFiniteOnesAreNot()
    {
        const string poisoned = "model.diffusion_model.out.2.weight", huge = "model.diffusion_model.out.2.bias";
        var device = CountingBackend.Create();
        string dir = Directory.CreateTempSubdirectory("pfstorer-poison-").FullName;
        try
        {
            string vae = TinyWeightFiles.Fixture("vae_cfw.safetensors");
            File.Copy(TinyWeightFiles.Fixture("config.json"), Path.Combine(dir, "config.json"));
            string both = Path.Combine(dir, "both.safetensors"), hugeOnly = Path.Combine(dir, "huge.safetensors");
            CopyWith(both, (name, v) =>
            {
                if (name == poisoned) (v[0], v[5], v[9]) = (float.NaN, float.PositiveInfinity, float.NaN);
                // Finite, but their sum overflows f32: the device screen suspects it, the host count clears it.
                if (name == huge) Array.Fill(v, float.MaxValue / 2);
            });
            CopyWith(hugeOnly, (name, v) => { if (name == huge) Array.Fill(v, float.MaxValue / 2); });
            var e = Assert.Throws<WeightsException>(() => StableSRWeights.Load(both, vae, device.Device).Dispose());
            Assert.Contains($"1 tensor(s) hold non-finite values", e.Message);
            Assert.Contains($"'{poisoned}' 3 non-finite (2 NaN, 1 Inf)", e.Message);
            using var loaded = StableSRWeights.Load(hugeOnly, vae, device.Device);
            var bias = loaded.Model.NamedParameters().Single(p => p.Path == huge).Param.Tensor;
            Assert.All(bias.ToFloatArray(), x => Assert.Equal(float.MaxValue / 2, x));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void AFileThatFailsMidTensorFailsWithItsOwnErrorAndReleasesTheParameter()
    {
        var device = CountingBackend.Create();
        string path = Path.Combine(Directory.CreateTempSubdirectory("pfstorer-fail-").FullName, "w.safetensors");
        var values = new Half[50_000];
        SafetensorsWriter.Write(path, [new SafetensorsEntry("w", CheckpointDType.F16, [values.Length],
            s => s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())))], cancel: TestContext.Current.CancellationToken);
        var bytes = File.ReadAllBytes(path);
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        using var ckpt = Checkpoint.Open(new FailingSource(bytes, failFrom: bytes.Length - 20_000));
        var e = Assert.Throws<CheckpointFormatException>(() => ckpt.Load("w", DType.F32, SmallStaging(device.Device)));
        Assert.Contains("ended", e.Message);
        Assert.Equal(0, device.CountingPool.Counters.BytesInUse); // the half-filled parameter was released
    }

    /// <summary>A file whose reads past <paramref name="failFrom"/> fail, as when it is truncated while open.</summary>
    private sealed class FailingSource(byte[] data, int failFrom) : ByteSource
    {
        public override string Name => "failing.safetensors";
        public override long Length => data.Length;

        protected override void ReadCore(long offset, Span<byte> destination)
        {
            if (offset + destination.Length > failFrom) throw new CheckpointFormatException(Name, $"the file ended at offset {failFrom} while reading");
            data.AsSpan((int)offset, destination.Length).CopyTo(destination);
        }

        public override void Dispose() { }
    }

    /// <summary>The tiny model rewritten as f32 with <paramref name="edit"/> applied to each tensor's values.</summary>
    private static void CopyWith(string path, Action<string, float[]> edit)
    {
        using var source = Checkpoint.Open(TinyWeightFiles.Fixture("model.safetensors"));
        SafetensorsWriter.Write(path, source.Tensors.Select(t => new SafetensorsEntry(t.Name, CheckpointDType.F32, t.ShapeArray(), s =>
        {
            using var values = source.Load(t.Name, DType.F32);
            var v = values.ToFloatArray();
            edit(t.Name, v);
            s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()));
        })));
    }
}

/// <summary>
/// The host memory a direct load takes: only the staging buffers, measured on the shared host pool (which is why this
/// runs alone), against the whole model that a host load of a converted file takes.
/// </summary>
[Collection(nameof(Sampling.PoolCounterCollection))]
public sealed class DeviceLoadHostMemoryTests(TinyWeightFiles files, ITestOutputHelper output) : IClassFixture<TinyWeightFiles>
{
    [Theory]
    [InlineData(CheckpointDType.F32)]
    [InlineData(CheckpointDType.F16)]
    [InlineData(CheckpointDType.BF16)]
    public void HostPeakIsTheStagingNotTheModel(CheckpointDType dtype)
    {
        var device = CountingBackend.Create();
        var staging = new DeviceStaging(device.Device, blockElements: 4096, workers: 4);
        files.In(dtype); // written before measuring
        var pool = HostMemoryPool.Shared;

        long Peak(DeviceStaging? s, out long modelBytes)
        {
            pool.ResetPeak();
            long before = pool.Counters.BytesInUse;
            var (model, vae) = DeviceLoadTests.LoadTiny(files, dtype, s);
            long peak = pool.Counters.PeakBytesInUse - before;
            modelBytes = model.NamedParameters().Concat(vae.NamedParameters()).Sum(p => p.Param.Numel * 4);
            model.Dispose();
            vae.Dispose();
            return peak;
        }

        long direct = Peak(staging, out long modelBytes);
        long onHost = Peak(null, out _);
        long bound = staging.MaxHostBytes(dtype, CheckpointDType.F32);
        output.WriteLine($"{dtype}: model {modelBytes / 1e6:F1} MB of f32; host pool peak {direct / 1e3:F1} kB loading onto {device.Device} " +
            $"(staging bound {bound / 1e3:F1} kB), {onHost / 1e6:F1} MB loading onto the host");
        Assert.True(bound * 100 < modelBytes, $"the bound {bound} B is not far under the model's {modelBytes} B");
        Assert.True(direct >= staging.BufferBytes(dtype, CheckpointDType.F32), $"host pool peak {direct} B: the staging buffers were not taken from the pool");
        Assert.True(direct <= bound, $"host pool peak {direct} B over the staging bound {bound} B");
    }
}

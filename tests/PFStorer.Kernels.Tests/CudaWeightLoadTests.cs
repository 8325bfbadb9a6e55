using PFStorer.Graph;
using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Pipeline;
using PFStorer.Kernels.Memory;
using Xunit;

namespace PFStorer.Kernels.Tests;

/// <summary>
/// The stablesr-tiny weights loaded straight into GPU memory (docs/architecture.md, "Loading weights") equal the host
/// load bit for bit, from f32 and f16 files, and every parameter is on the GPU. Skipped without a GPU.
/// </summary>
public sealed class CudaWeightLoadTests(TinyWeightFiles files, ITestOutputHelper output) : IClassFixture<TinyWeightFiles>
{
    [Theory]
    [InlineData(CheckpointDType.F32)]
    [InlineData(CheckpointDType.F16)]
    public void Weights_load_straight_onto_the_gpu_bit_for_bit(CheckpointDType dtype)
    {
        var gpu = Gpu.Require();
        var (modelPath, vaePath) = files.In(dtype);
        using var host = StableSRWeights.Load(modelPath, vaePath);
        long before = HostMemoryPool.Shared.Counters.BytesInUse;
        HostMemoryPool.Shared.ResetPeak();
        using var direct = StableSRWeights.Load(modelPath, vaePath, gpu.Device);
        gpu.Synchronize();
        // Other tests may allocate meanwhile, so the host figure is reported, not asserted (the CPU tests assert it).
        output.WriteLine($"{dtype}: host pool peak {(HostMemoryPool.Shared.Counters.PeakBytesInUse - before) / 1e6:F1} MB during the direct load");
        var expected = host.Model.NamedParameters().Concat(host.CfwVae.NamedParameters()).ToList();
        var actual = direct.Model.NamedParameters().Concat(direct.CfwVae.NamedParameters()).ToList();
        Assert.Equal(expected.Select(p => p.Path), actual.Select(p => p.Path));
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(gpu.Device, actual[i].Param.Tensor.Device);
            var want = expected[i].Param.Tensor.ToFloatArray().Select(BitConverter.SingleToUInt32Bits);
            var got = actual[i].Param.Tensor.ToFloatArray().Select(BitConverter.SingleToUInt32Bits);
            Assert.True(want.SequenceEqual(got), $"{actual[i].Path} differs from the host load");
        }
    }
}

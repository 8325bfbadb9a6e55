using PFStorer.Graph.Checkpoints;
using PFStorer.Kernels;
using Xunit;

namespace PFStorer.Graph.Tests.Checkpoints;

/// <summary>The tiny StableSR fixtures: the f16 Lightning .ckpt and the f32 safetensors hold the same state dict.</summary>
public sealed class FixtureCheckpointTests
{
    private static readonly string CkptPath = Fixtures.Path("stablesr-tiny", "model.ckpt");
    private static readonly string SafetensorsPath = Fixtures.Path("stablesr-tiny", "model.safetensors");

    [Fact]
    public void CkptEqualsSafetensorsAfterHalfRounding()
    {
        using var ckpt = Checkpoint.Open(CkptPath);
        using var st = Checkpoint.Open(SafetensorsPath);
        Assert.Equal("pytorch-zip", ckpt.Format);
        Assert.Equal("safetensors", st.Format);
        Assert.Equal(788, st.Tensors.Count);
        Assert.Equal(st.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal), ckpt.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var s in st.Tensors)
        {
            var c = ckpt[s.Name];
            Assert.Equal(CheckpointDType.F32, s.DType);
            Assert.Equal(CheckpointDType.F16, c.DType);
            Assert.True(s.Shape.SequenceEqual(c.Shape), $"{s.Name}: {s.ShapeString} vs {c.ShapeString}");
            using var full = st.Load(s.Name);
            using var half = ckpt.Load(s.Name);
            Assert.Equal(DType.F32, half.DType);
            var expected = full.Span<float>();
            var actual = half.Span<float>();
            for (int i = 0; i < expected.Length; i++)
            {
                uint want = BitConverter.SingleToUInt32Bits((float)(Half)expected[i]);
                uint got = BitConverter.SingleToUInt32Bits(actual[i]);
                if (want != got) Assert.Fail($"{s.Name}[{i}]: f32(half({expected[i]:R})) = {BitConverter.UInt32BitsToSingle(want):R}, ckpt has {actual[i]:R}");
            }
        }
    }

    [Fact]
    public void LightningScalarsBecomeMetadata()
    {
        using var ckpt = (TorchZipCheckpoint)Checkpoint.Open(CkptPath);
        Assert.Equal("1234", ckpt.Metadata["global_step"]);
        Assert.Equal("5", ckpt.Metadata["epoch"]);
        Assert.Equal("1.4.2", ckpt.Metadata["pytorch-lightning_version"]);
        Assert.Empty(ckpt.NonTensorEntries);
        Assert.Contains(ckpt.TopLevel, e => e.Key == "state_dict");
    }

    [Fact]
    public void SafetensorsMetadataAndZeroDimTensor()
    {
        using var st = Checkpoint.Open(SafetensorsPath);
        Assert.Equal("pt", st.Metadata["format"]);
        var scale = st["cond_stage_model.model.logit_scale"];
        Assert.Equal(0, scale.Shape.Length);
        using var t = st.Load(scale.Name);
        Assert.Equal(Math.Log(1 / 0.07), t.Span<float>()[0], 5);
    }

    [Fact]
    public void MappedViewSharesTheFileBytesAndOutlivesTheReader()
    {
        Tensor view;
        float[] loaded;
        using (var st = Checkpoint.Open(SafetensorsPath))
        {
            view = st.Map("first_stage_model.encoder.conv_in.weight");
            using var copy = st.Load("first_stage_model.encoder.conv_in.weight");
            loaded = copy.ToFloatArray();
        }
        using (view) Assert.Equal(loaded, view.ToFloatArray());
    }
}

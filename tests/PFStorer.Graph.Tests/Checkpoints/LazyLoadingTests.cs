using PFStorer.Graph.Checkpoints;
using Xunit;

namespace PFStorer.Graph.Tests.Checkpoints;

/// <summary>Opening a checkpoint reads only its headers; each tensor load reads exactly that tensor's bytes.</summary>
public sealed class LazyLoadingTests
{
    [Fact]
    public void SafetensorsOpenReadsOnlyTheHeader()
    {
        var bytes = File.ReadAllBytes(Fixtures.Path("stablesr-tiny", "model.safetensors"));
        var source = new CountingByteSource(bytes, "model.safetensors");
        using var st = (SafetensorsCheckpoint)Checkpoint.Open(source);
        // 512 bytes of format sniffing, then the 8-byte length and the JSON header itself.
        Assert.Equal(512 + st.HeaderBytes, source.BytesRead);
        Assert.True(st.HeaderBytes < bytes.Length / 100, $"header {st.HeaderBytes} of {bytes.Length}");

        long before = source.BytesRead;
        var info = st["model.diffusion_model.input_blocks.0.0.weight"];
        using var t = st.Load(info.Name);
        Assert.Equal(info.Bytes, source.BytesRead - before);
    }

    [Fact]
    public void CkptOpenReadsOnlyTheZipDirectoryAndThePickle()
    {
        var bytes = File.ReadAllBytes(Fixtures.Path("stablesr-tiny", "model.ckpt"));
        var source = new CountingByteSource(bytes, "model.ckpt");
        using var ckpt = (TorchZipCheckpoint)Checkpoint.Open(source);
        // Sniffing (512) + end-of-archive tail (≤ 64 KB + 22) + central directory and local headers (~100 B per entry) + data.pkl.
        long bound = 512 + 65557 + 20 + ckpt.Tensors.Count * 2 * 150 + ckpt.PickleBytes;
        Assert.True(source.BytesRead <= bound, $"read {source.BytesRead} bytes, bound {bound}");
        long tensorBytes = ckpt.Tensors.Sum(t => t.Bytes);
        Assert.True(source.BytesRead < tensorBytes / 20, $"read {source.BytesRead} of {bytes.Length} bytes ({tensorBytes} in tensors)");

        long before = source.BytesRead;
        var info = ckpt["first_stage_model.decoder.conv_out.weight"];
        using var t = ckpt.Load(info.Name);
        Assert.Equal(info.Bytes, source.BytesRead - before);
    }
}

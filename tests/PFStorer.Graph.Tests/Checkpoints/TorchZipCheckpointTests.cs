using System.Runtime.InteropServices;
using PFStorer.Graph.Checkpoints;
using PFStorer.Kernels;
using PFStorer.Kernels.Cpu;
using Xunit;

namespace PFStorer.Graph.Tests.Checkpoints;

/// <summary>
/// PyTorch zip checkpoints built in code the way torch.save lays them out: views with strides and storage offsets,
/// shared storages, every storage dtype, Lightning extras (numpy scalars, pathlib, callbacks), ZIP64 records.
/// </summary>
public sealed class TorchZipCheckpointTests
{
    private static readonly float[] Grid = Enumerable.Range(0, 24).Select(i => (float)i).ToArray();
    private static readonly float[] Bf16Values = [-1f, -0.5f, 0f, 0.5f, 1f, 1.5f];
    private static readonly long[] Longs = [-(1L << 40), -1, 0, 7];

    private static byte[] Bytes<T>(T[] values) where T : unmanaged => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    internal static byte[] LightningCheckpoint(bool zip64)
    {
        var p = new PickleWriter().Proto(2).EmptyDict().Mark();
        p.Str("state_dict").Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark();
        p.Str("transposed").Tensor("FloatStorage", "0", 24, 0, [6, 4], [1, 6]);
        p.Str("sliced").Tensor("FloatStorage", "0", 24, 8, [2, 3], [6, 1]);
        p.Str("shared").Tensor("FloatStorage", "0", 24, 0, [4, 6], [6, 1]);
        p.Str("bf16").Tensor("BFloat16Storage", "1", 6, 0, [2, 3], [3, 1]);
        p.Str("f64").Tensor("DoubleStorage", "2", 5, 0, [5], [1]);
        p.Str("i64").Tensor("LongStorage", "3", 4, 0, [4], [1]);
        p.Str("u8").Tensor("ByteStorage", "4", 3, 0, [3], [1]);
        p.Str("bool").Tensor("BoolStorage", "5", 3, 0, [3], [1]);
        p.Str("scalar").Tensor("FloatStorage", "6", 1, 0, [], []);
        p.Str("empty").Tensor("FloatStorage", "6", 1, 0, [0, 3], [3, 1]);
        p.Str("param").Global("torch._utils", "_rebuild_parameter").Mark().Tensor("FloatStorage", "7", 2, 0, [2], [1])
            .Bool(false).Global("collections", "OrderedDict").EmptyTuple().Reduce().Tuple().Reduce();
        p.Str("extra").Int(5);
        p.SetItems();
        p.EmptyDict().Mark().Str("_metadata").Global("collections", "OrderedDict").EmptyTuple().Reduce().SetItems().Build();
        p.Str("epoch").Int(3);
        p.Str("pytorch-lightning_version").Str("1.4.2");
        p.Str("big").Op(0x8a).Raw(9).Raw(0, 0, 0, 0, 0, 0, 0, 0, 0x40); // 2**70
        p.Str("global_step").Global("numpy.core.multiarray", "scalar").Mark()
            .Global("numpy", "dtype").Mark().Str("i8").Bool(false).Bool(true).Tuple().Reduce()
            .Mark().Int(3).Str("<").None().None().None().Int(-1).Int(-1).Int(0).Tuple().Build()
            .Global("_codecs", "encode").Mark().Str("M\0\0\0\0\0\0\0").Str("latin1").Tuple().Reduce()
            .Tuple().Reduce();
        p.Str("path").Global("pathlib", "PosixPath").Mark().Str("/").Str("data").Tuple().Reduce();
        p.Str("callbacks").EmptyDict().Mark().Global("pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint")
            .EmptyDict().Mark().Str("best_model_path").Str("/tmp/x.ckpt").SetItems().SetItems();
        p.Str("lr").Float(1e-4);
        p.SetItems().Stop();
        return TestZip.TorchCheckpoint(p.ToArray(),
        [
            ("0", Bytes(Grid)), ("1", Bytes(Bf16Values.Select(Bf16.FromFloat).ToArray())),
            ("2", Bytes(Enumerable.Range(0, 5).Select(i => i / 3.0).ToArray())), ("3", Bytes(Longs)),
            ("4", [0, 255, 17]), ("5", [1, 0, 1]), ("6", Bytes(new[] { 2.5f })), ("7", Bytes(new[] { 1f, -2f })),
        ], zip64);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ViewsDtypesAndLightningExtrasLoad(bool zip64)
    {
        using var ckpt = (TorchZipCheckpoint)Checkpoint.Open(ByteSource.FromMemory(LightningCheckpoint(zip64), "views.ckpt"));
        Assert.Equal("archive", ckpt.ArchivePrefix);
        Assert.Equal(["extra"], ckpt.NonTensorEntries);

        using (var t = ckpt.Load("transposed"))
            Assert.Equal(Enumerable.Range(0, 24).Select(k => (float)(k % 4 * 6 + k / 4)), t.ToFloatArray());
        using (var t = ckpt.Load("sliced"))
            Assert.Equal(new float[] { 8, 9, 10, 14, 15, 16 }, t.ToFloatArray());
        using (var t = ckpt.Load("shared")) Assert.Equal(Grid, t.ToFloatArray());
        using (var t = ckpt.Load("bf16")) Assert.Equal(Bf16Values, t.ToFloatArray());
        using (var t = ckpt.Load("f64")) Assert.Equal(Enumerable.Range(0, 5).Select(i => (float)(i / 3.0)), t.ToFloatArray());
        using (var t = ckpt.Load("i64")) { Assert.Equal(DType.I64, t.DType); Assert.Equal(Longs, t.ToInt64Array()); }
        using (var t = ckpt.Load("u8")) { Assert.Equal(DType.I32, t.DType); Assert.Equal(new[] { 0, 255, 17 }, t.Span<int>().ToArray()); }
        using (var t = ckpt.Load("bool")) Assert.Equal(new[] { 1, 0, 1 }, t.Span<int>().ToArray());
        using (var t = ckpt.Load("scalar")) { Assert.Equal(0, t.Rank); Assert.Equal(2.5f, t.Span<float>()[0]); }
        using (var t = ckpt.Load("empty")) Assert.Equal([0, 3], t.ShapeArray());
        using (var t = ckpt.Load("param")) Assert.Equal(new[] { 1f, -2f }, t.ToFloatArray());
        using (var t = ckpt.Load("bf16", DType.BF16)) Assert.Equal(Bf16Values.Select(Bf16.FromFloat), t.Span<ushort>().ToArray());
        Assert.Throws<ArgumentException>(() => ckpt.Load("f64", DType.I64));

        Assert.Equal("3", ckpt.Metadata["epoch"]);
        Assert.Equal("1.4.2", ckpt.Metadata["pytorch-lightning_version"]);
        Assert.Equal("1180591620717411303424", ckpt.Metadata["big"]);
        Assert.Equal("0.0001", ckpt.Metadata["lr"]);
        Assert.False(ckpt.Metadata.ContainsKey("global_step")); // a numpy scalar stays an inert placeholder
        Assert.Contains(ckpt.TopLevel, e => e.Key == "global_step" && e.Summary == "<numpy.core.multiarray.scalar>");
        Assert.Contains(ckpt.TopLevel, e => e.Key == "path" && e.Summary == "<pathlib.PosixPath>");
    }

    [Fact]
    public void Protocol4OpcodesAndMemoReuse()
    {
        var p = new PickleWriter().Proto(4).Op(0x95).Raw(new byte[8])
            .StackGlobal("collections", "OrderedDict").Op(0x94).EmptyTuple().Reduce().Op(0x94).Mark()
            .Op(0x8c).Raw(1, (byte)'a').Tensor("HalfStorage", "0", 2, 0, [2], [1]).Op(0x94)
            .Op(0x8c).Raw(1, (byte)'b').Op('h').Raw(2) // BINGET the memoised tensor: the same entry twice
            .SetItems().Stop();
        var halves = Bytes(new[] { (Half)0.5f, (Half)(-3f) });
        using var ckpt = Checkpoint.Open(ByteSource.FromMemory(TestZip.TorchCheckpoint(p.ToArray(), [("0", halves)], prefix: "my_model"), "p4.pt"));
        using var a = ckpt.Load("a");
        using var b = ckpt.Load("b");
        Assert.Equal(new[] { 0.5f, -3f }, a.ToFloatArray());
        Assert.Equal(a.ToFloatArray(), b.ToFloatArray());
    }

    [Fact]
    public void ViewPastItsStorageIsRejected()
    {
        var p = new PickleWriter().Proto(2).EmptyDict().Mark().Str("w").Tensor("FloatStorage", "0", 4, 2, [3], [1]).SetItems().Stop();
        var ex = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(ByteSource.FromMemory(TestZip.TorchCheckpoint(p.ToArray(), [("0", new byte[16])]), "past.ckpt")));
        Assert.Contains("tensor 'w' [3] F32 needs 20 bytes of storage but only 16", ex.Message);
        Assert.StartsWith("past.ckpt: ", ex.Message);
    }
}

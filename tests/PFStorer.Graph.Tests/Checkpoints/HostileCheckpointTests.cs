using System.IO.Compression;
using System.Text;
using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Checkpoints.Pickle;
using Xunit;

namespace PFStorer.Graph.Tests.Checkpoints;

/// <summary>Hostile and broken files are refused with a clear error naming the file, and nothing in them runs.</summary>
public sealed class HostileCheckpointTests
{
    private static T Rejects<T>(byte[] file, string name, string expectedText) where T : CheckpointFormatException
    {
        var ex = Assert.ThrowsAny<CheckpointFormatException>(() => { using var c = Checkpoint.Open(ByteSource.FromMemory(file, name)); });
        Assert.IsType<T>(ex);
        Assert.StartsWith(name + ": ", ex.Message);
        Assert.Contains(expectedText, ex.Message);
        return (T)ex;
    }

    private static byte[] InCheckpoint(PickleWriter pickle) => TestZip.TorchCheckpoint(pickle.ToArray(), []);

    // ---- pickles ----

    [Theory]
    [InlineData("builtins", "eval")]
    [InlineData("builtins", "exec")]
    [InlineData("builtins", "getattr")]
    [InlineData("os", "system")]
    [InlineData("posix", "system")]
    [InlineData("subprocess", "Popen")]
    [InlineData("functools", "partial")]
    [InlineData("torch.serialization", "load")]
    [InlineData("pytorch_lightning.utilities.cloud_io", "load")]          // Lightning, but not a name checkpoints contain (issue 16, class 11)
    [InlineData("pytorch_lightning.callbacks.model_checkpoint", "os")]
    [InlineData("lightning.pytorch.trainer", "Trainer")]
    [InlineData("pytorch_lightning_evil", "ModelCheckpoint")]
    public void GlobalOutsideTheAllowListIsRejectedAndNothingRuns(string module, string name)
    {
        string marker = Path.Combine(Path.GetTempPath(), $"pfstorer-pwned-{Guid.NewGuid():N}");
        var p = new PickleWriter().Proto(2).Global(module, name).Mark().Str($"touch {marker}").Tuple().Reduce().Stop();
        Rejects<UnsafePickleException>(InCheckpoint(p), "evil.ckpt", $"GLOBAL {module}.{name} is not on the allow-list");
        var p4 = new PickleWriter().Proto(4).StackGlobal(module, name).Mark().Str($"touch {marker}").Tuple().Reduce().Stop();
        Rejects<UnsafePickleException>(InCheckpoint(p4), "evil4.ckpt", $"GLOBAL {module}.{name} is not on the allow-list");
        Assert.False(File.Exists(marker));
    }

    [Theory]
    [InlineData("pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint")]
    [InlineData("pytorch_lightning.callbacks.early_stopping", "EarlyStopping")]
    [InlineData("lightning.pytorch.callbacks.progress.tqdm_progress", "TQDMProgressBar")]
    [InlineData("pytorch_lightning.utilities.parsing", "AttributeDict")]
    public void LightningNamesThatCheckpointsContainAreInertPlaceholders(string module, string name)
    {
        var p = new PickleWriter().Proto().EmptyDict().Mark().Str("state_dict").EmptyDict().Str("callbacks").EmptyDict().Mark()
            .Global(module, name).EmptyDict().SetItems().SetItems().Stop();
        using var c = Checkpoint.Open(ByteSource.FromMemory(InCheckpoint(p), "lightning.ckpt"));
        Assert.Empty(c.Tensors);
    }

    public static TheoryData<string, byte[], string> MisusedAllowedObjects() => new()
    {
        { "REDUCE on a storage class", new PickleWriter().Proto().Global("torch", "FloatStorage").Mark().Int(3).Tuple().Reduce().Stop().ToArray(), "REDUCE on torch.FloatStorage, which is not callable here" },
        { "REDUCE on a string", new PickleWriter().Proto().Str("os.system").Mark().Str("ls").Tuple().Reduce().Stop().ToArray(), "REDUCE on a str" },
        { "REDUCE on an inert object", new PickleWriter().Proto().Global("pathlib", "PosixPath").Mark().Str("/").Tuple().Reduce().Mark().Tuple().Reduce().Stop().ToArray(), "REDUCE on a <pathlib.PosixPath>" },
        { "BUILD on a class", new PickleWriter().Proto().Global("collections", "OrderedDict").EmptyDict().Mark().Str("__setstate__").Str("x").SetItems().Build().Stop().ToArray(), "BUILD on a collections.OrderedDict" },
        { "BUILD on a list", new PickleWriter().Proto().Op(']').EmptyDict().Build().Stop().ToArray(), "BUILD on a List`1" },
        { "NEWOBJ on a function", new PickleWriter().Proto().Global("torch._utils", "_rebuild_tensor_v2").EmptyTuple().NewObj().Stop().ToArray(), "NEWOBJ on a torch._utils._rebuild_tensor_v2" },
        { "INST opcode", new PickleWriter().Proto().Mark().Op('i').Raw("os\nsystem\n"u8.ToArray()).Stop().ToArray(), "INST/OBJ opcodes" },
        { "rebuild as another type", new PickleWriter().Proto().Global("torch._tensor", "_rebuild_from_type_v2").Mark()
            .Global("torch._utils", "_rebuild_parameter").Global("pathlib", "Path").EmptyTuple().EmptyDict().Tuple().Reduce().Stop().ToArray(), "_rebuild_from_type_v2 for a type other than" },
        { "codecs other than latin1", new PickleWriter().Proto().Global("_codecs", "encode").Mark().Str("x").Str("rot13").Tuple().Reduce().Stop().ToArray(), "_codecs.encode other than" },
    };

    [Theory]
    [MemberData(nameof(MisusedAllowedObjects))]
    public void ReduceAndBuildOnNonAllowedCallablesAreRejected(string what, byte[] pickle, string expected)
    {
        var ex = Rejects<UnsafePickleException>(TestZip.TorchCheckpoint(pickle, []), "misuse.ckpt", expected);
        Assert.Contains("nothing was executed", ex.Message);
        _ = what;
    }

    [Fact]
    public void BrokenPicklesFailWithFormatErrors()
    {
        Rejects<CheckpointFormatException>(InCheckpoint(new PickleWriter().Proto().EmptyDict()), "t.ckpt", "pickle ends early");
        Rejects<CheckpointFormatException>(InCheckpoint(new PickleWriter().Proto().Op('X').Raw(0xff, 0xff, 0xff, 0x7f).Raw(1, 2)), "t.ckpt", "bytes wanted");
        Rejects<CheckpointFormatException>(InCheckpoint(new PickleWriter().Proto().Op('h').Raw(9).Stop()), "t.ckpt", "memo entry 9 was never stored");
        Rejects<CheckpointFormatException>(InCheckpoint(new PickleWriter().Proto().Op('u').Stop()), "t.ckpt", "no MARK");
        Rejects<CheckpointFormatException>(InCheckpoint(new PickleWriter().Proto(0).EmptyDict().Stop()), "t.ckpt", "pickle protocol 0 is not supported");
        Rejects<CheckpointFormatException>(InCheckpoint(new PickleWriter().Proto().Op(']').Stop()), "t.ckpt", "does not hold a dict");
        Rejects<CheckpointFormatException>(InCheckpoint(new PickleWriter().Proto().EmptyDict().Mark().Str("w")
            .Tensor("FloatStorage", "0", 1, 0, [1], [1]).SetItems().Stop()), "t.ckpt", "storage '0' has no zip entry archive/data/0");
        var p = new PickleWriter().Proto().EmptyDict().Mark().Str("w").Tensor("FloatStorage", "0", 3, 0, [3], [1]).SetItems().Stop();
        Rejects<CheckpointFormatException>(TestZip.TorchCheckpoint(p.ToArray(), [("0", new byte[8])]), "t.ckpt", "claims 3 F32 elements but its entry holds 8 bytes");
    }

    [Fact]
    public void MemoReuseCannotMultiplyMemory()
    {
        // One 64 KB string, encoded 100 times through the memo and kept in a list: 6.4 MB from a 64 KB pickle.
        var p = new PickleWriter().Proto().Global("_codecs", "encode").Op('q').Raw(0).Str(new string('x', 64 << 10)).Op('q').Raw(1).Op(']');
        for (int i = 0; i < 100; i++) p.Op('h').Raw(0).Mark().Op('h').Raw(1).Str("latin1").Tuple().Reduce().Op('a');
        Rejects<CheckpointFormatException>(InCheckpoint(p.Stop()), "expand.ckpt", "pickle expands far beyond its own size");
    }

    // ---- nesting (issue 16, class 1) ----

    /// <summary>_rebuild_from_type_v2 wrapping itself 20,000 deep (a 140 KB pickle): once a stack overflow, now refused.</summary>
    [Fact]
    public void RebuildFromTypeNestedDeeplyIsRefusedNotACrash()
    {
        const int depth = 20_000;
        var p = new PickleWriter().Proto().Global("torch._tensor", "_rebuild_from_type_v2").Op('q').Raw(0).Global("torch", "Tensor").Op('q').Raw(1).Op('0');
        for (int i = 0; i < depth; i++) p.Mark().Op('h').Raw(0).Op('h').Raw(1);
        p.EmptyTuple();
        for (int i = 0; i < depth; i++) p.EmptyDict().Tuple();
        p.Reduce().Stop();
        Rejects<CheckpointFormatException>(InCheckpoint(p), "deep.ckpt", $"_rebuild_from_type_v2 nested more than {RestrictedUnpickler.MaxRebuildNesting} deep");
    }

    /// <summary>Lists, tuples and dicts nested 200,000 deep beside the state dict: built on the explicit stack, nothing recurses.</summary>
    [Theory]
    [InlineData(']', 'a')]   // list appended into list
    [InlineData('}', 's')]   // dict set into dict (under key None)
    [InlineData('t', 't')]   // tuple of tuple
    public void DeeplyNestedContainersOpenWithoutRecursion(char open, char close)
    {
        const int depth = 200_000;
        var p = new PickleWriter().Proto().EmptyDict().Mark().Str("state_dict").EmptyDict().Str("deep");
        if (open == 't')
        {
            for (int i = 0; i < depth; i++) p.Mark();
            for (int i = 0; i < depth; i++) p.Tuple();
        }
        else
        {
            p.Op(open);
            for (int i = 1; i < depth; i++) { if (close == 's') p.None(); p.Op(open); }
            for (int i = 1; i < depth; i++) p.Op(close);
        }
        p.SetItems().Stop();
        using var c = (TorchZipCheckpoint)Checkpoint.Open(ByteSource.FromMemory(InCheckpoint(p), "nested.ckpt"));
        Assert.Empty(c.Tensors);
        Assert.Contains(c.TopLevel, e => e.Key == "deep");
    }

    // ---- shapes and strides (issue 16, classes 1 and 4) ----

    /// <summary>A pickle tensor over a storage of <paramref name="storageElements"/> F32 elements.</summary>
    internal static byte[] StridedCheckpoint(int[] shape, long[] strides, int storageElements, string storageClass = "FloatStorage", long offset = 0)
    {
        var p = new PickleWriter().Proto().EmptyDict().Mark().Str("w").Tensor(storageClass, "0", storageElements, offset, shape, strides).SetItems().Stop();
        int size = storageClass == "DoubleStorage" ? 8 : 4;
        return TestZip.TorchCheckpoint(p.ToArray(), [("0", new byte[storageElements * size])]);
    }

    [Fact]
    public void ZeroStrideOverALargeShapeIsRefused()
    {
        // 500 million elements declared over one stored float: the probe's 407-byte file that made `convert` write 2 GB.
        var file = StridedCheckpoint([500_000_000], [0], 1);
        Assert.True(file.Length < 1024);
        Rejects<CheckpointFormatException>(file, "amplify.ckpt", "covers 2000000000 bytes, more than the 4 bytes of its storage");
        Rejects<CheckpointFormatException>(StridedCheckpoint([8, 4], [1, 1], 16), "overlap.ckpt", "zero or overlapping stride");
    }

    [Fact]
    public void ShapesWhoseByteSizeOverflowAreRefused()
    {
        // numel fits in a long, numel × 8 does not; and a numel that itself overflows.
        Rejects<CheckpointFormatException>(StridedCheckpoint([int.MaxValue, int.MaxValue], [0, 0], 1, "DoubleStorage"), "bytes.ckpt", "overflows");
        Rejects<CheckpointFormatException>(StridedCheckpoint([int.MaxValue, int.MaxValue, 4], [0, 0, 0], 1), "numel.ckpt", "overflows");
        Rejects<CheckpointFormatException>(StridedCheckpoint([2, 2], [long.MaxValue / 2, 1], 4), "stride.ckpt", "overflows");
    }

    [Fact]
    public void HonestViewsStillLoad()
    {
        // A transposed view and a view at an offset read what PyTorch would.
        var p = new PickleWriter().Proto().EmptyDict().Mark().Str("t").Tensor("FloatStorage", "0", 6, 0, [3, 2], [1, 3])
            .Str("o").Tensor("FloatStorage", "0", 6, 4, [2], [1]).SetItems().Stop();
        var storage = new byte[24];
        for (int i = 0; i < 6; i++) BitConverter.TryWriteBytes(storage.AsSpan(i * 4), (float)i);
        using var c = Checkpoint.Open(ByteSource.FromMemory(TestZip.TorchCheckpoint(p.ToArray(), [("0", storage)]), "views.ckpt"));
        using (var t = c.Load("t")) Assert.Equal([0f, 3, 1, 4, 2, 5], t.ToFloatArray());
        using (var o = c.Load("o")) Assert.Equal([4f, 5], o.ToFloatArray());
    }

    // ---- zip containers ----

    [Fact]
    public void TruncatedZipIsRejected()
    {
        var whole = File.ReadAllBytes(Fixtures.Path("stablesr-tiny", "model.ckpt"));
        foreach (int keep in new[] { whole.Length - 10, whole.Length / 2, 100, 30 })
            Rejects<CheckpointFormatException>(whole[..keep], "cut.ckpt", "zip");
    }

    [Fact]
    public void WrongMagicAndLegacyTorchFilesAreRejected()
    {
        Rejects<CheckpointFormatException>("GIF89a, not a checkpoint at all"u8.ToArray(), "x.ckpt", "not a safetensors or PyTorch zip checkpoint (starts with 474946383961");
        Rejects<CheckpointFormatException>([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e], "old.pt", "legacy (non-zip) PyTorch serialization is unsupported; convert it");
        Rejects<CheckpointFormatException>([], "empty.ckpt", "not a safetensors or PyTorch zip");
        Rejects<CheckpointFormatException>(TestZip.Write([new("model/weights.bin", new byte[16])]), "nopkl.ckpt", "no <folder>/data.pkl entry");
    }

    [Fact]
    public void CompressedEntriesAndNestedZipBombsAreNeverInflated()
    {
        // A zip of a zip of 16 MB of zeros, deflated at every level: tiny on disk, huge if anything inflated it.
        byte[] bomb = new byte[16 << 20];
        for (int level = 0; level < 2; level++) bomb = Deflated("layer", bomb);
        var p = new PickleWriter().Proto().EmptyDict().Mark().Str("w").Tensor("FloatStorage", "0", 4 << 20, 0, [4 << 20], [1]).SetItems().Stop();
        var asDeflated = TestZip.Write([new("archive/data.pkl", p.ToArray()), new("archive/data/0", bomb, Method: 8, ClaimedSize: 16 << 20)]);
        Rejects<CheckpointFormatException>(asDeflated, "bomb.ckpt", "zip entry 'archive/data/0' is compressed (method 8)");
        var absurd = TestZip.Write([new("archive/data.pkl", p.ToArray()), new("archive/data/0", bomb, ClaimedSize: 10L << 30)], zip64: true);
        Rejects<CheckpointFormatException>(absurd, "bomb64.ckpt", "claims 10737418240 bytes, more than the whole file");
        var pickleDeflated = TestZip.Write([new("archive/data.pkl", Deflated("data.pkl", p.ToArray()), Method: 8)]);
        Rejects<CheckpointFormatException>(pickleDeflated, "pkl.ckpt", "'archive/data.pkl' is compressed");
    }

    [Fact]
    public void OverlappingEntriesAreRejected()
    {
        var p = new PickleWriter().Proto().EmptyDict().Stop().ToArray();
        var zip = TestZip.Write([new("archive/data.pkl", p), new("archive/data/0", new byte[64]), new("archive/data/1", new byte[64], LocalHeaderOf: 1)]);
        Rejects<CheckpointFormatException>(zip, "overlap.ckpt", "overlap");
    }

    private static byte[] Deflated(string name, byte[] content)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        using (var s = zip.CreateEntry(name, CompressionLevel.Fastest).Open()) s.Write(content);
        return ms.ToArray();
    }

    // ---- safetensors ----

    internal static byte[] Safetensors(string header, int dataBytes, ulong? claimedLength = null, byte[]? rawHeader = null)
    {
        var h = rawHeader ?? Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + h.Length + dataBytes];
        BitConverter.TryWriteBytes(file.AsSpan(0, 8), claimedLength ?? (ulong)h.Length);
        h.CopyTo(file, 8);
        return file;
    }

    public static TheoryData<string, byte[], string> BadSafetensors() => new()
    {
        { "overlap", Safetensors("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12), "tensors 'a' [0,8) and 'b' [4,12) overlap" },
        { "overlap past an empty tensor", Safetensors("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 16), "tensors 'a' [0,16) and 'b' [8,12) overlap" },
        { "out of range", Safetensors("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 8), "data_offsets [0,16) lie outside the 8 data bytes" },
        { "10 GB header", Safetensors("{}", 0, claimedLength: 10UL << 30), "safetensors header claims 10737418240 bytes; the limit is 100000000" },
        { "header past the end", Safetensors("{}", 0, claimedLength: 4096), "header claims 4096 bytes but only 2 follow" },
        { "non-UTF-8", Safetensors("", 0, rawHeader: [(byte)'{', (byte)'"', 0xff, 0xfe, (byte)'"', (byte)':', (byte)'1', (byte)'}']), "safetensors header is not valid UTF-8" },
        { "not JSON", Safetensors("{\"a\": ", 0), "safetensors header is not valid JSON" },
        { "array root", Safetensors("[1,2]   ", 0), "header is a JSON Array, not an object" },
        { "unknown dtype", Safetensors("""{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}""", 1), "missing or unknown dtype" },
        { "length < numel*size", Safetensors("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8), "[3] F32 needs 12 bytes" },
        { "length > numel*size", Safetensors("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}""", 8), "needs 4 bytes but data_offsets give 8" },
        { "negative dim", Safetensors("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}""", 0), "bad dimension -1" },
        { "overflowing shape", Safetensors("""{"a":{"dtype":"F64","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,8]}}""", 8), "overflows" },
        { "duplicate name", Safetensors("""{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}""", 2), "names 'a' twice" },
        { "extra field", Safetensors("""{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"exec":"x"}}""", 1), "unexpected or repeated field 'exec'" },
        { "non-string metadata", Safetensors("""{"__metadata__":{"step":5}}""", 0), "__metadata__ entry 'step' is a Number" },
        { "too short", [1, 2, 3], "too short for a safetensors header" },
    };

    [Fact]
    public void MillionsOfEmptyTensorsAreRefusedAtTheLimit()
    {
        // The probe's 95 MB header of 1.6 M empty tensors took 29 s and 1.7 GB; one tensor over the limit is enough here.
        var header = new StringBuilder("{");
        for (int i = 0; i <= Checkpoint.MaxTensors; i++) header.Append(i == 0 ? "" : ",").Append($"\"t{i}\":{{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}");
        Rejects<CheckpointFormatException>(Safetensors(header.Append('}').ToString(), 0), "many.safetensors", $"more than {Checkpoint.MaxTensors} tensors");
        var p = new PickleWriter().Proto().EmptyDict().Mark();
        for (int i = 0; i <= Checkpoint.MaxTensors; i++) p.Str($"t{i}").Tensor("FloatStorage", "0", 0, 0, [0], [1]);
        Rejects<CheckpointFormatException>(TestZip.TorchCheckpoint(p.SetItems().Stop().ToArray(), [("0", [])]), "many.ckpt", $"more than {Checkpoint.MaxTensors} tensors");
    }

    [Theory]
    [MemberData(nameof(BadSafetensors))]
    public void MalformedSafetensorsAreRejected(string what, byte[] file, string expected)
    {
        Rejects<CheckpointFormatException>(file, $"{what.Replace(' ', '_')}.safetensors", expected);
    }
}

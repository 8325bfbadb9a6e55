using System.Runtime.InteropServices;
using PFStorer.Graph.Checkpoints;
using Xunit;

namespace PFStorer.Graph.Tests.Checkpoints;

/// <summary>The file helpers every writer relies on (issue 16): identity of files, atomic writes, temporaries, value counts.</summary>
public sealed class FileSafetyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pfstorer-files-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string At(params string[] parts) => Path.Combine([_dir, .. parts]);

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link(string existing, string created);

    private static string[] Hidden(string dir) =>
        Directory.GetFiles(dir, ".*", new EnumerationOptions { AttributesToSkip = 0 }).Select(Path.GetFileName).ToArray()!;

    [Fact]
    public void SameFileSeesThroughSymlinksHardLinksAndFolderLinks()
    {
        Directory.CreateDirectory(At("photos"));
        File.WriteAllText(At("photos", "a.png"), "a");
        File.WriteAllText(At("photos", "b.png"), "b");
        File.CreateSymbolicLink(At("link.png"), At("photos", "a.png"));
        Directory.CreateSymbolicLink(At("alias"), At("photos"));
        Assert.Equal(0, Link(At("photos", "a.png"), At("hard.png")));

        Assert.True(FileIdentity.SameFile(At("link.png"), At("photos", "a.png")));
        Assert.True(FileIdentity.SameFile(At("alias", "a.png"), At("photos", "a.png")));
        Assert.True(FileIdentity.SameFile(At("hard.png"), At("alias", "a.png")));
        Assert.True(FileIdentity.SameFile(At("photos", "..", "photos", "a.png"), At("photos", "a.png")));
        Assert.False(FileIdentity.SameFile(At("photos", "b.png"), At("photos", "a.png")));
        Assert.False(FileIdentity.SameFile(At("absent.png"), At("absent.png")));   // nothing there: nothing to overwrite
        Assert.True(FileIdentity.SameAsAny(At("alias", "b.png"), [At("photos", "a.png"), At("photos", "b.png")]));
    }

    [Fact]
    public void CancelledAndFailedWritesLeaveNeitherTargetNorTemporary()
    {
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => AtomicFile.Write(At("x.bin"), s => { s.Write(new byte[1000]); cts.Cancel(); }, cancel: cts.Token));
        Assert.Throws<InvalidDataException>(() => AtomicFile.Write(At("x.bin"), s => { s.Write(new byte[10]); throw new InvalidDataException("writer failed"); }, cancel: TestContext.Current.CancellationToken));
        Assert.Empty(Directory.GetFiles(_dir, "*", new EnumerationOptions { AttributesToSkip = 0 }));

        File.WriteAllText(At("x.bin"), "old");
        Assert.ThrowsAny<OperationCanceledException>(() => AtomicFile.Write(At("x.bin"), s => cts.Cancel(), cancel: cts.Token));
        Assert.Equal("old", File.ReadAllText(At("x.bin")));
    }

    [Fact]
    public void WithoutOverwriteAnExistingTargetIsKeptEvenWhenItAppearsDuringTheWrite()
    {
        // The existence check is the publishing step itself, so a file another run writes meanwhile is not replaced.
        Assert.Throws<IOException>(() => AtomicFile.Write(At("y.png"), s => { s.WriteByte(1); File.WriteAllText(At("y.png"), "other run"); }, overwrite: false, cancel: TestContext.Current.CancellationToken));
        Assert.Equal("other run", File.ReadAllText(At("y.png")));
        Assert.Equal("y.png", Path.GetFileName(Assert.Single(Directory.GetFiles(_dir, "*", new EnumerationOptions { AttributesToSkip = 0 }))));
    }

    [Fact]
    public void TemporariesOfDeadProcessesAreRemovedAndLiveOnesKept()
    {
        int dead;
        using (var p = System.Diagnostics.Process.Start("true")!) { p.WaitForExit(); dead = p.Id; }
        string stale = $".out.png.{dead}.{Guid.NewGuid():N}.tmp", live = $".out.png.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        string otherTarget = $".other.png.{dead}.{Guid.NewGuid():N}.tmp", foreign = ".out.png.notapid.tmp";
        foreach (var f in new[] { stale, live, otherTarget, foreign }) File.WriteAllText(At(f), "x");

        AtomicFile.Write(At("out.png"), s => s.WriteByte(7), cancel: TestContext.Current.CancellationToken);

        Assert.Equal(new[] { foreign, live, otherTarget }.Order(), Hidden(_dir).Order());
        Assert.Equal([7], File.ReadAllBytes(At("out.png")));
        AtomicFile.ProbeFolder(_dir);
        Assert.Equal(3, Hidden(_dir).Length);   // the probe cleans up after itself
    }

    [Fact]
    public void ValueCountsMatchAPlainCount()
    {
        var rng = new Random(1616);
        var values = Enumerable.Range(0, 10_000).Select(_ => rng.Next(10) switch
        {
            0 => float.NaN, 1 => float.PositiveInfinity, 2 => float.NegativeInfinity, 3 or 4 => 0f, 5 => -0f,
            _ => (float)(rng.NextDouble() - 0.5) * 1e30f,
        }).ToArray();
        var counts = TensorValues.Count(values);
        Assert.Equal(values.Count(float.IsNaN), counts.NaN);
        Assert.Equal(values.Count(float.IsInfinity), counts.Infinite);
        Assert.Equal(values.Count(v => v == 0), counts.Zero);
        Assert.Equal(values.Length, counts.Count);
        Assert.False(counts.AllZero);
        Assert.True(TensorValues.Count(new double[] { 0, -0.0 }).AllZero);
        Assert.False(TensorValues.Count(ReadOnlySpan<float>.Empty).AllZero);

        // Through a checkpoint: F64 values beyond the f32 range stay finite (counted in double precision).
        var f64 = MemoryMarshal.AsBytes(new double[] { 1e300, double.NaN, 0 }.AsSpan()).ToArray();
        SafetensorsWriter.Write(At("v.safetensors"), [new SafetensorsEntry("v", CheckpointDType.F64, [3], s => s.Write(f64))], cancel: TestContext.Current.CancellationToken);
        using var c = Checkpoint.Open(At("v.safetensors"));
        Assert.Equal(new ValueCounts(1, 0, 1, 3), TensorValues.Count(c, c.Tensors[0]));
    }
}

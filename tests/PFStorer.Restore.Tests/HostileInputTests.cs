using System.Runtime.InteropServices;
using PFStorer.Graph;
using PFStorer.Graph.Checkpoints;
using PFStorer.Images;
using Xunit;

namespace PFStorer.Restore.Tests;

/// <summary>
/// Hostile and careless inputs through the real executable (issue 16), one test per defect class, every file made
/// here and small. The set grows with every defect found: add the class here, with the file that showed it.
/// </summary>
public sealed class HostileInputTests
{
    // ---- class 2: "never overwrite an input" compares files, not strings ----

    [Fact]
    public void AnInputReachedThroughASymlinkIsNeverOverwritten()
    {
        using var host = new HostRunner();
        Directory.CreateDirectory(host.PathOf("out"));
        File.Copy(HostRunner.SampleImage, host.PathOf("out", "in.png"));
        var original = File.ReadAllBytes(host.PathOf("out", "in.png"));
        File.CreateSymbolicLink(host.PathOf("in.png"), host.PathOf("out", "in.png"));   // in.png → out/in.png

        var (code, _, stderr) = host.Restore(host.PathOf("in.png"), "-o", host.PathOf("out"), "--overwrite");
        Assert.Equal(1, code);
        Assert.Contains("is an input (the same file)", stderr);
        Assert.Equal(original, File.ReadAllBytes(host.PathOf("out", "in.png")));

        // -o a symlink to the input's own folder.
        Directory.CreateSymbolicLink(host.PathOf("alias"), host.PathOf("out"));
        var viaFolder = host.Restore(host.PathOf("out", "in.png"), "-o", host.PathOf("alias"), "--overwrite");
        Assert.Equal(1, viaFolder.ExitCode);
        Assert.Contains("is an input (the same file)", viaFolder.Stderr);
        Assert.Equal(original, File.ReadAllBytes(host.PathOf("out", "in.png")));
        Assert.Equal("in.png", Path.GetFileName(Assert.Single(Directory.GetFiles(host.PathOf("out")))));
    }

    [Fact]
    public void ConvertNeverReplacesItsInputThroughALinkOrAHardLink()
    {
        using var host = new HostRunner();
        string a = host.PathOf("a.safetensors");
        File.Copy(HostRunner.TinyVae, a);
        var original = File.ReadAllBytes(a);
        File.CreateSymbolicLink(host.PathOf("link.safetensors"), a);
        Assert.Equal(0, Link(a, host.PathOf("hard.safetensors")));

        foreach (var (input, output) in new[] { ("link.safetensors", "a.safetensors"), ("a.safetensors", "link.safetensors"), ("hard.safetensors", "a.safetensors") })
        {
            var (code, _, stderr) = host.Run("weights", "convert", host.PathOf(input), host.PathOf(output));
            Assert.True(code == 2, $"convert {input} {output}: exit {code}, {stderr}");
            Assert.Contains("refusing to overwrite it", stderr);
            Assert.Equal(original, File.ReadAllBytes(a));
        }
    }

    // ---- class 3: broken weights never pass silently ----

    [Fact]
    public void NanPoisonedWeightsFailVerifyWithTheTensorAndCountAndAreRefusedByRestore()
    {
        using var host = new HostRunner();
        const string poisoned = "model.diffusion_model.out.2.weight";
        string model = host.PathOf("model.safetensors");
        CopyTinyModel(model, (name, values) =>
        {
            if (name != poisoned) return;
            for (int i = 0; i < 5; i++) values[i * 3] = float.NaN;
            values[1] = float.PositiveInfinity;
            values[4] = float.NegativeInfinity;
        });

        var verify = host.Run("weights", "verify", model);
        Assert.True(verify.ExitCode == 1, verify.Stdout + verify.Stderr);
        Assert.Matches($@"non-finite  {Regex(poisoned)} \[[0-9,]+\]: 7 of \d+ values \(5 NaN, 2 Inf\)", verify.Stdout);
        Assert.Contains("PROBLEMS: 1 tensor(s) hold NaN or Inf", verify.Stdout);

        File.Copy(HostRunner.SampleImage, host.PathOf("lq.png"));
        var restore = host.Run("restore", host.PathOf("lq.png"), "-o", host.PathOf("out"), "--weights", model, "--vae", HostRunner.TinyVae, "--steps", "2", "--device", "cpu");
        Assert.Equal(2, restore.ExitCode);
        Assert.Contains($"'{poisoned}' 7 non-finite (5 NaN, 2 Inf)", restore.Stderr);
        Assert.False(File.Exists(host.PathOf("out", "lq.png")));
    }

    [Fact]
    public void EmptyAndForeignCheckpointsAreNotOk()
    {
        using var host = new HostRunner();
        string empty = host.PathOf("empty.safetensors"), foreign = host.PathOf("foreign.safetensors");
        SafetensorsWriter.Write(empty, Array.Empty<(string, Tensor)>());
        using (var t = Tensor.Full([3], 1f)) SafetensorsWriter.Write(foreign, [("resnet.fc.weight", t)]);

        var e = host.Run("weights", "verify", empty);
        Assert.Equal(1, e.ExitCode);
        Assert.Contains("PROBLEMS: the file holds no tensors", e.Stdout);
        Assert.DoesNotContain("OK", e.Stdout);
        var f = host.Run("weights", "verify", foreign);
        Assert.Equal(1, f.ExitCode);
        Assert.Contains("no tensor belongs to a StableSR component", f.Stdout);
    }

    [Fact]
    public void AllZeroTensorsAreFlaggedWithoutFailing()
    {
        using var host = new HostRunner();
        string model = host.PathOf("model.safetensors");
        CopyTinyModel(model, (name, values) => { if (name == "model.diffusion_model.out.0.bias") Array.Clear(values); });
        var (code, stdout, stderr) = host.Run("weights", "verify", model);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("all zero    model.diffusion_model.out.0.bias", stdout);
        Assert.Contains("1 all zero", stdout);
    }

    // ---- classes 5, 7, 8: one-line errors, found up front, with the documented exit codes ----

    [Fact]
    public void UnusableSettingsAndOutputsAreRefusedBeforeTheWeightsLoad()
    {
        using var host = new HostRunner();
        File.Copy(HostRunner.SampleImage, host.PathOf("lq.png"));
        File.WriteAllText(host.PathOf("taken"), "a file where the output folder should be");
        var cases = new (string[] Args, string Expected)[]
        {
            (["-o", host.PathOf("taken")], "is an existing file; it must be a folder"),
            (["-o", "/proc/pfstorer-out"], "cannot create the folder"),
            (["-o", host.PathOf("out"), "--tile-overlap", "16"], "--tile-overlap 16 must be below the tile size, 16 for this model"),
            (["-o", host.PathOf("out"), "--overwite"], "unknown option --overwite"),
            (["-o", host.PathOf("out"), "--cfg", "strong"], "strong"),
        };
        foreach (var (args, expected) in cases)
        {
            var (code, stdout, stderr) = host.Restore([host.PathOf("lq.png"), .. args]);
            Assert.True(code == 2, $"{string.Join(' ', args)}: exit {code}\n{stdout}{stderr}");
            Assert.Contains(expected, stderr);
            Assert.DoesNotContain("weights loaded", stdout);
            Assert.DoesNotContain("   at ", stderr);   // no stack trace
        }
        Assert.False(Directory.Exists(host.PathOf("out")) && Directory.EnumerateFileSystemEntries(host.PathOf("out")).Any());
    }

    [Fact]
    public void InputsThatWouldShareAnOutputNameAreRefusedUpFront()
    {
        using var host = new HostRunner();
        File.Copy(HostRunner.SampleImage, host.PathOf("x.png"));
        File.WriteAllBytes(host.PathOf("x.jpg"), ImageFile.Encode(ImageFile.Read(HostRunner.SampleImage), ImageSaveOptions.Jpeg(90)));
        var (code, stdout, stderr) = host.Restore(host.PathOf("x.png"), host.PathOf("x.jpg"), "-o", host.PathOf("out"));
        Assert.Equal(2, code);
        Assert.Contains("would all be written as x.png", stderr);
        Assert.DoesNotContain("weights loaded", stdout);
        var degrade = host.Run("degrade", host.PathOf("x.png"), host.PathOf("x.jpg"), "-o", host.PathOf("out"));
        Assert.Equal(2, degrade.ExitCode);
        Assert.Contains("would all be written as x.png", degrade.Stderr);
    }

    [Fact]
    public void HugeTileSizeIsCappedToTheImage()
    {
        using var host = new HostRunner();
        File.Copy(HostRunner.SampleImage, host.PathOf("lq.png"));
        var (code, stdout, stderr) = host.Restore(host.PathOf("lq.png"), "-o", host.PathOf("out"), "--tile-size", "8192");
        Assert.True(code == 0, stdout + stderr);
        var restored = ImageFile.Read(host.PathOf("out", "lq.png"));
        Assert.Equal((128, 128), (restored.Width, restored.Height));
    }

    [Fact]
    public void OversizedUpscaleFailsThatImageWithOneLine()
    {
        using var host = new HostRunner();
        File.Copy(HostRunner.SampleImage, host.PathOf("lq.png"));
        var (code, stdout, stderr) = host.Restore(host.PathOf("lq.png"), "-o", host.PathOf("out"), "--upscale", "100000");
        Assert.True(code == 1, stdout + stderr);
        Assert.Contains("--upscale 100000: 32x32 would be processed at 3200000x3200000 pixels; the limit is 268435456 pixels", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void AThinInputThatTheTileWouldBlowUpFailsWithOneLine()
    {
        // 1 pixel high: bringing the short side up to one 16-latent tile (128 px) makes 40000 px wide → 5.1e9 pixels.
        using var host = new HostRunner();
        File.WriteAllBytes(host.PathOf("thin.png"), ImageFile.Encode(Image.FromU8(new byte[40_000 * 3], 40_000, 1, 3), ImageSaveOptions.Png()));
        var (code, stdout, stderr) = host.Restore(host.PathOf("thin.png"), "-o", host.PathOf("out"));
        Assert.True(code == 1, stdout + stderr);
        Assert.Contains("thin.png: --upscale 4: 40000x1 would be processed at 5120000x128 pixels", stderr);
    }

    [Fact]
    public void MetricsJsonOnAFolderIsAUsageErrorBeforeAnyWork()
    {
        using var host = new HostRunner();
        Directory.CreateDirectory(host.PathOf("a"));
        File.Copy(HostRunner.SampleImage, host.PathOf("a", "x.png"));
        var (code, stdout, stderr) = host.Run("metrics", "--restored", host.PathOf("a"), "--reference", host.PathOf("a"), "--json", host.PathOf("a"));
        Assert.Equal(2, code);
        Assert.Contains("--json", stderr);
        Assert.Contains("is a folder", stderr);
        Assert.DoesNotContain("PSNR", stdout);
        var onInput = host.Run("metrics", "--restored", host.PathOf("a"), "--reference", host.PathOf("a"), "--json", host.PathOf("a", "x.png"));
        Assert.Equal(2, onInput.ExitCode);
        Assert.Contains("is one of the inputs", onInput.Stderr);
    }

    // ---- class 10: names from files cannot drive the terminal ----

    [Fact]
    public void EscapeSequencesInTensorNamesArePrintedEscaped()
    {
        using var host = new HostRunner();
        string file = host.PathOf("escape.safetensors");
        using (var t = Tensor.Full([2], 1f)) SafetensorsWriter.Write(file, [("\u001b[2J\u001b[Hfake OK line\nmodel.x", t)]);
        foreach (var verb in new[] { "verify", "inspect" })
        {
            var (_, stdout, stderr) = host.Run(verb == "inspect" ? ["weights", verb, file, "--tensors"] : ["weights", verb, file]);
            Assert.DoesNotContain('\u001b', stdout + stderr);
            Assert.Contains("\\u001b[2J\\u001b[Hfake OK line\\u000amodel.x", stdout);
        }
    }

    [Fact]
    public void OutputIntoAPipeHasNoEscapeCodes()
    {
        using var host = new HostRunner();
        Directory.CreateDirectory(host.PathOf("a"));
        File.Copy(HostRunner.SampleImage, host.PathOf("a", "x.png"));
        var (code, stdout, stderr) = host.Run("metrics", "--restored", host.PathOf("a"), "--reference", host.PathOf("a"));
        Assert.True(code == 0, stderr);
        Assert.Contains("mean", stdout);
        Assert.DoesNotContain('\u001b', stdout + stderr);
    }

    // ---- class 6: interruption leaves no temporary file and never a half-written output ----

    /// <summary>Every writing verb, run once with a stale temporary file of its output planted beside it (left by a killed process).</summary>
    [Theory]
    [InlineData("restore")]
    [InlineData("degrade")]
    [InlineData("metrics")]
    [InlineData("convert")]
    public void StaleTemporaryFilesOfKilledRunsAreRemovedByTheNextRun(string verb)
    {
        using var host = new HostRunner();
        Directory.CreateDirectory(host.PathOf("in"));
        Directory.CreateDirectory(host.PathOf("out"));
        File.Copy(HostRunner.SampleImage, host.PathOf("in", "lq.png"));
        int deadPid = DeadProcessId();
        (string output, string[] args) = verb switch
        {
            "restore" => ("lq.png", ["restore", host.PathOf("in"), "-o", host.PathOf("out"), .. HostRunner.TinyRestoreOptions]),
            "degrade" => ("lq.png", ["degrade", host.PathOf("in"), "-o", host.PathOf("out")]),
            "metrics" => ("m.json", ["metrics", "--restored", host.PathOf("in"), "--reference", host.PathOf("in"), "--json", host.PathOf("out", "m.json")]),
            _ => ("vae.safetensors", (string[])["weights", "convert", HostRunner.TinyVae, host.PathOf("out", "vae.safetensors")]),
        };
        string stale = host.PathOf("out", $".{output}.{deadPid}.{Guid.NewGuid():N}.tmp");
        string live = host.PathOf("out", $".{output}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");   // a running writer's: kept
        File.WriteAllBytes(stale, [1, 2, 3]);
        File.WriteAllBytes(live, [4, 5, 6]);

        var (code, stdout, stderr) = host.Run(args);
        Assert.True(code == 0, stdout + stderr);
        Assert.False(File.Exists(stale), $"{verb} left the stale temporary of process {deadPid}");
        Assert.True(File.Exists(live), $"{verb} removed the temporary of a running process");
        Assert.True(File.Exists(host.PathOf("out", output)));
    }

    [Fact]
    public void InterruptedConvertLeavesNoTemporaryAndNoOutput()
    {
        using var host = new HostRunner();
        string input = host.PathOf("big.safetensors"), output = host.PathOf("out.safetensors");
        BigCheckpoint(input);
        using var p = host.Start("weights", "convert", input, output, "--dtype", "bf16");
        WaitForTemporary(p, host.Dir, ".out.safetensors.");   // interrupt in the middle of the write
        Assert.Equal(0, Kill(p.Id, Sigint));
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(1)));
        string stderr = p.StandardError.ReadToEnd();
        Assert.True(p.ExitCode == 130, $"exit {p.ExitCode}: {stderr}");
        Assert.Contains("interrupted", stderr);
        Assert.False(File.Exists(output));
        Assert.Empty(Temporaries(host.Dir));
    }

    [Fact]
    public void KilledConvertNeverLeavesAHalfOutputAndTheNextRunCleansUp()
    {
        using var host = new HostRunner();
        string input = host.PathOf("big.safetensors"), output = host.PathOf("out.safetensors");
        BigCheckpoint(input);
        using (var p = host.Start("weights", "convert", input, output, "--dtype", "bf16"))
        {
            WaitForTemporary(p, host.Dir, ".out.safetensors.");
            p.Kill();   // SIGKILL: no handler runs
            Assert.True(p.WaitForExit(TimeSpan.FromMinutes(1)));
        }
        Assert.False(File.Exists(output));
        var left = Temporaries(host.Dir);
        Assert.Single(left);   // what a killed writer leaves: a hidden temporary, never a partial output
        var (code, stdout, stderr) = host.Run("weights", "convert", input, output, "--dtype", "bf16");
        Assert.True(code == 0, stdout + stderr);
        Assert.Empty(Temporaries(host.Dir));
        using var converted = Checkpoint.Open(output);
        Assert.Equal(8, converted.Tensors.Count);
    }

    [Theory]
    [InlineData("restore")]
    [InlineData("degrade")]
    public void InterruptedBatchesKeepOnlyCompleteOutputs(string verb)
    {
        using var host = new HostRunner();
        Directory.CreateDirectory(host.PathOf("in"));
        for (int i = 0; i < 6; i++) File.Copy(HostRunner.SampleImage, host.PathOf("in", $"p{i}.png"));
        string[] args = verb == "restore"
            ? ["restore", host.PathOf("in"), "-o", host.PathOf("out"), .. HostRunner.TinyRestoreOptions]
            : ["degrade", host.PathOf("in"), "-o", host.PathOf("out")];
        using var p = host.Start(args);
        WaitForLine(p, verb == "restore" ? "weights loaded" : "→");
        Assert.Equal(0, Kill(p.Id, Sigint));
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)));
        Assert.True(p.ExitCode is 130 or 0, $"exit {p.ExitCode}: {p.StandardError.ReadToEnd()}");
        Assert.Empty(Temporaries(host.Dir));
        foreach (var png in Directory.GetFiles(host.PathOf("out"), "*.png"))
        {
            ImageFile.Read(png);   // complete, or it would not decode
            if (verb == "degrade") Assert.True(File.Exists(Path.ChangeExtension(png, ".json")), $"{png} has no sidecar");
        }
        Assert.Equal(6, Directory.GetFiles(host.PathOf("in")).Length);
    }

    // ---- helpers ----

    private const int Sigint = 2;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link(string existing, string created);

    private static string Regex(string text) => System.Text.RegularExpressions.Regex.Escape(text);

    private static List<string> Temporaries(string dir) =>
        Directory.EnumerateFiles(dir, "*.tmp", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).ToList();   // hidden files too

    /// <summary>The id of a process that has just exited (so no live writer can own it).</summary>
    private static int DeadProcessId()
    {
        using var p = System.Diagnostics.Process.Start("true")!;
        p.WaitForExit();
        return p.Id;
    }

    private static void WaitForLine(System.Diagnostics.Process p, string marker)
    {
        var seen = new System.Text.StringBuilder();
        while (p.StandardOutput.ReadLine() is { } line)
        {
            seen.AppendLine(line);
            if (line.Contains(marker)) return;
        }
        Assert.Fail($"the host ended before printing '{marker}':\n{seen}{p.StandardError.ReadToEnd()}");
    }

    /// <summary>Waits until the writer's temporary file (name starting with <paramref name="prefix"/>) exists.</summary>
    private static void WaitForTemporary(System.Diagnostics.Process p, string dir, string prefix)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!Temporaries(dir).Any(f => Path.GetFileName(f).StartsWith(prefix, StringComparison.Ordinal)))
        {
            if (p.HasExited) Assert.Fail($"the host ended (exit {p.ExitCode}) before it wrote anything: {p.StandardError.ReadToEnd()}");
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), "no temporary file appeared within a minute");
            Thread.Sleep(1);
        }
    }

    /// <summary>64 MB of F32 in eight tensors: enough that converting it takes long enough to be interrupted.</summary>
    private static void BigCheckpoint(string path)
    {
        const int elements = 2 << 20;
        var chunk = new byte[1 << 20];
        for (int i = 0; i < chunk.Length; i += 4) BitConverter.TryWriteBytes(chunk.AsSpan(i), 1.5f);
        SafetensorsWriter.Write(path, Enumerable.Range(0, 8).Select(i => new SafetensorsEntry($"big.{i}", CheckpointDType.F32, [elements], s =>
        {
            for (int done = 0; done < elements * 4; done += chunk.Length) s.Write(chunk);
        })));
    }

    /// <summary>The tiny model as F32 safetensors (with its config.json beside it), each tensor passed through <paramref name="edit"/>.</summary>
    private static void CopyTinyModel(string path, Action<string, float[]> edit)
    {
        File.Copy(Fixtures.Path("stablesr-tiny", "config.json"), Path.Combine(Path.GetDirectoryName(path)!, "config.json"));
        using var source = Checkpoint.Open(HostRunner.TinyModel);
        var tensors = new List<(string, Tensor)>();
        try
        {
            foreach (var info in source.Tensors)
            {
                using var t = source.Load(info.Name, PFStorer.Kernels.DType.F32);
                var values = t.ToFloatArray();
                edit(info.Name, values);
                tensors.Add((info.Name, Tensor.FromSpan<float>(values, PFStorer.Kernels.DType.F32, t.Shape, null)));
            }
            SafetensorsWriter.Write(path, tensors);
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
        }
    }
}

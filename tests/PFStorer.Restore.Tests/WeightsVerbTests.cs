using System.CommandLine;
using PFStorer.Graph;
using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Modules;
using Xunit;

namespace PFStorer.Restore.Tests;

/// <summary>The `weights` verbs end to end on the tiny fixtures and on small files written by the test.</summary>
public sealed class WeightsVerbTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pfstorer-weights-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(WeightsVerb.Architecture? architecture, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = WeightsVerb.Create(architecture).Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>A two-layer stand-in for the time-aware encoder, named like upstream (input_blocks.0.0, time_embed.0).</summary>
    private sealed class TinyEncoder : Module
    {
        public TinyEncoder(int channels)
        {
            Child("time_embed", new Sequential("0", new Leaf([128, 32])));
            Child("input_blocks", new Sequential("0", new Sequential("0", new Leaf([channels, 4, 3, 3]))));
        }

        private sealed class Sequential : Module
        {
            public Sequential(string name, Module child) => Child(name, child);
        }

        private sealed class Leaf : Module
        {
            public Leaf(int[] weightShape)
            {
                Param("weight", weightShape);
                Param("bias", weightShape[0]);
            }
        }
    }

    [Fact]
    public void InspectShowsComponentsDtypesAndLightningMetadata()
    {
        var (code, output, error) = Run(null, "inspect", Fixtures.Path("stablesr-tiny", "model.ckpt"));
        Assert.True(code == 0, error);
        Assert.Contains("format     pytorch-zip (archive folder 'model'", output);
        Assert.Contains("tensors    788, 6,263,852 elements", output);
        Assert.Contains("dtypes     F16 x788", output);
        Assert.Contains("metadata   global_step = 1234", output);
        Assert.Contains("metadata   epoch = 5", output);
        Assert.Matches(@"Unet\s+model\.diffusion_model\.\s+412\s", output);
        Assert.Matches(@"Schedule\s+\(none\)\s+12\s+12,000", output);
    }

    [Fact]
    public void ConvertWritesSafetensorsAndRefusesToOverwriteItsInput()
    {
        string input = Fixtures.Path("stablesr-tiny", "model.ckpt"), output = Path.Combine(_dir, "model.safetensors");
        var (code, text, error) = Run(null, "convert", input, output, "--dtype", "f32");
        Assert.True(code == 0, error);
        Assert.Contains("788 tensors", text);
        using (var ckpt = Checkpoint.Open(input))
        using (var st = Checkpoint.Open(output))
        {
            Assert.All(st.Tensors, t => Assert.Equal(CheckpointDType.F32, t.DType));
            using var a = ckpt.Load("model.diffusion_model.out.2.weight");
            using var b = st.Load("model.diffusion_model.out.2.weight");
            Assert.Equal(a.ToFloatArray(), b.ToFloatArray());
        }
        var again = Run(null, "convert", output, output);
        Assert.Equal(2, again.Code);
        Assert.Contains("is one of the inputs (the same file); refusing to overwrite it", again.Err);
        Assert.Equal(2, Run(null, "convert", input, Path.Combine(_dir, "x.safetensors"), "--dtype", "i8").Code);
    }

    [Fact]
    public void VerifyReportsMissingUnexpectedAndMismatchedAgainstAnArchitecture()
    {
        // A file holding exactly what TinyEncoder(32) needs, plus an ignored training-only key.
        string file = Path.Combine(_dir, "encoder.safetensors");
        using (var good = new TinyEncoder(32))
        {
            var tensors = StableSRKeyMap.ExpectedKeys(good, StableSRComponent.TimeAwareEncoder)
                .Select(k => (k.Key, Tensor.Zeros(k.Shape))).Append(("loss.logvar", Tensor.Zeros([1]))).ToList();
            SafetensorsWriter.Write(file, tensors);
            tensors.ForEach(t => t.Item2.Dispose());
        }
        IEnumerable<KeyShape> Architecture(int channels, IReadOnlySet<StableSRComponent> components)
        {
            Assert.Equal([StableSRComponent.TimeAwareEncoder], components);
            using var m = new TinyEncoder(channels);
            return StableSRKeyMap.ExpectedKeys(m, StableSRComponent.TimeAwareEncoder).ToList();
        }

        var ok = Run((_, c) => Architecture(32, c), "verify", file);
        Assert.True(ok.Code == 0, ok.Out + ok.Err);
        Assert.Contains("4 matched, 0 missing, 0 unexpected, 0 shape mismatches, 1 ignored", ok.Out);

        var bad = Run((_, c) => Architecture(48, c).Where(k => !k.Key.Contains("time_embed.0.bias")).Append(new KeyShape("structcond_stage_model.extra", [2])), "verify", file);
        Assert.Equal(1, bad.Code);
        Assert.Contains("mismatched  structcond_stage_model.input_blocks.0.0.weight: expected [48,4,3,3], file has [32,4,3,3]", bad.Out);
        Assert.Contains("missing     structcond_stage_model.extra [2]", bad.Out);
        Assert.Contains("unexpected  structcond_stage_model.time_embed.0.bias [128]", bad.Out);

        string list = Path.Combine(_dir, "keys.txt");
        File.WriteAllLines(list, ["structcond_stage_model.time_embed.0.weight [128,32]", "structcond_stage_model.time_embed.0.bias [128]",
            "structcond_stage_model.input_blocks.0.0.weight [32,4,3,3]", "structcond_stage_model.input_blocks.0.0.bias [32]"]);
        Assert.Equal(0, Run(null, "verify", file, "--expect", list).Code);
    }

    [Theory]
    [InlineData("model.ckpt", "Unet, TimeAwareEncoder, Vae, TextEncoder, Schedule")]
    [InlineData("model.safetensors", "Unet, TimeAwareEncoder, Vae, TextEncoder, Schedule")]
    [InlineData("vae_cfw.safetensors", "CfwVae")]
    public void TinyFixturesMatchTheStableSRModelClassesExactly(string fixture, string components)
    {
        // The fixtures folder has the tiny model's config.json, so the model classes are built at the tiny sizes.
        var (code, output, error) = Run(null, "verify", Fixtures.Path("stablesr-tiny", fixture));
        Assert.True(code == 0, output + error);
        Assert.Contains($"components {components}", output);
        Assert.Contains("0 missing, 0 unexpected, 0 shape mismatches", output);
    }

    [Fact]
    public void TheReleased512ArchitectureMatchesTheSpecKeyLists()
    {
        var main = WeightsVerb.StableSR("/nowhere/stablesr_000117.ckpt", new HashSet<StableSRComponent> { StableSRComponent.Unet, StableSRComponent.Schedule });
        var report = LoadReport.Compare(main, KeyList.Read(Fixtures.Path("spec", "stablesr_keys.txt")));
        Assert.True(report.IsExact, report.ToString());
        var cfw = WeightsVerb.StableSR("/nowhere/vqgan_cfw_00011.ckpt", new HashSet<StableSRComponent> { StableSRComponent.CfwVae });
        var cfwReport = LoadReport.Compare(cfw, KeyList.Read(Fixtures.Path("spec", "stablesr_vqgan_cfw_keys.txt")));
        Assert.True(cfwReport.IsExact, cfwReport.ToString());
    }

    [Fact]
    public void UnreadableFilesGiveOneClearErrorLine()
    {
        string evil = Path.Combine(_dir, "evil.ckpt");
        File.WriteAllBytes(evil, [0x80, 0x02, 0x63, .. "os\nsystem\n"u8.ToArray(), 0x2e]);
        var (code, _, error) = Run(null, "inspect", evil);
        Assert.Equal(2, code);
        Assert.Equal($"error: {evil}: legacy (non-zip) PyTorch serialization is unsupported; convert it first, e.g. torch.save(torch.load(f), f2) with torch >= 1.6, or `weights convert` after that", error.Trim());
        Assert.Equal(2, Run(null, "inspect", Path.Combine(_dir, "missing.ckpt")).Code);
    }
}

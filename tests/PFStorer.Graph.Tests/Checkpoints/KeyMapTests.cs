using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Modules;
using PFStorer.Kernels;
using Xunit;

namespace PFStorer.Graph.Tests.Checkpoints;

/// <summary>The name table routes the real StableSR layouts (official key lists) and the tiny fixtures as docs/architecture.md ("Loading weights") says.</summary>
public sealed class KeyMapTests
{
    private static string KeysFile(string name) => Fixtures.Path("spec", name);

    [Fact]
    public void MainCheckpointKeysRouteToTheSpecCounts()
    {
        var keys = KeyList.Read(KeysFile("stablesr_keys.txt"));
        Assert.Equal(1616, keys.Count);
        var byComponent = keys.GroupBy(k => StableSRKeyMap.Route(k.Key).Component).ToDictionary(g => g.Key?.ToString() ?? "unmapped", g => g.ToList());
        Assert.False(byComponent.ContainsKey("unmapped"));
        (StableSRComponent C, int Keys, long Params)[] spec =
        [
            (StableSRComponent.Unet, 862, 918_930_884), (StableSRComponent.TimeAwareEncoder, 200, 52_494_080),
            (StableSRComponent.Vae, 248, 83_653_863), (StableSRComponent.TextEncoder, 294, 354_032_641),
            (StableSRComponent.Schedule, 12, 12_000),
        ];
        foreach (var (c, n, p) in spec)
        {
            var list = byComponent[c.ToString()];
            Assert.Equal(n, list.Count);
            Assert.Equal(p, list.Sum(k => k.Shape.Aggregate(1L, (a, d) => a * d)));
        }
    }

    [Fact]
    public void CfwKeysRouteToTheCfwVaeWithTheirRootsKept()
    {
        var keys = KeyList.Read(KeysFile("stablesr_vqgan_cfw_keys.txt"));
        Assert.Equal(404, keys.Count);
        Assert.All(keys, k => Assert.Equal(new KeyRoute(StableSRComponent.CfwVae, k.Key, false), StableSRKeyMap.Route(k.Key)));
        Assert.Equal(128_047_591, keys.Sum(k => k.Shape.Aggregate(1L, (a, d) => a * d)));
        Assert.True(StableSRKeyMap.Route("loss.discriminator.main.0.weight").Ignored);
        Assert.True(StableSRKeyMap.Route("cond_stage_model.model.attn_mask").Ignored);
        Assert.Equal(new KeyRoute(StableSRComponent.Vae, "decoder.conv_in.weight", false), StableSRKeyMap.Route("first_stage_model.decoder.conv_in.weight"));
        Assert.False(StableSRKeyMap.Route("model_ema.decay").IsMapped);
    }

    [Fact]
    public void TinyFixturesCoverTheExpectedComponents()
    {
        using var main = Checkpoint.Open(Fixtures.Path("stablesr-tiny", "model.safetensors"));
        using var cfw = Checkpoint.Open(Fixtures.Path("stablesr-tiny", "vae_cfw.safetensors"));
        Assert.Equal([StableSRComponent.Unet, StableSRComponent.TimeAwareEncoder, StableSRComponent.Vae, StableSRComponent.TextEncoder, StableSRComponent.Schedule],
            StableSRKeyMap.ComponentsIn(main).Order());
        Assert.Equal([StableSRComponent.CfwVae], StableSRKeyMap.ComponentsIn(cfw));
        Assert.All(main.Tensors, t => Assert.True(StableSRKeyMap.Route(t.Name).IsMapped, t.Name));
    }

    /// <summary>A stand-in for the time-aware encoder's first conv and time embedding, named like upstream.</summary>
    private sealed class TinyEncoder : Module
    {
        public TinyEncoder(int inputConvOut)
        {
            Child("time_embed", new Linear(32, 128, "0"));
            Child("input_blocks", new Conv(inputConvOut));
        }

        private sealed class Linear : Module
        {
            public Linear(int i, int o, string name) => Child(name, new Leaf(o, i));
        }

        private sealed class Conv : Module
        {
            public Conv(int o) => Child("0", new Holder(o));
        }

        private sealed class Holder : Module
        {
            public Holder(int o) => Child("0", new Leaf(o, 4, 3, 3));
        }

        private sealed class Leaf : Module
        {
            public Leaf(int o, params int[] rest)
            {
                Param("weight", [o, .. rest]);
                Param("bias", o);
            }
        }
    }

    [Fact]
    public void LoadIntoModuleReportsMissingUnexpectedAndMismatchedByName()
    {
        using var ckpt = Checkpoint.Open(Fixtures.Path("stablesr-tiny", "model.ckpt"));
        using var good = new TinyEncoder(32);
        var report = LoadReport.LoadInto(ckpt, good, StableSRComponent.TimeAwareEncoder);
        Assert.Equal(4, report.Matched);
        Assert.Empty(report.Missing);
        Assert.Empty(report.Mismatched);
        Assert.Equal(ckpt.Tensors.Count(t => t.Name.StartsWith("structcond_stage_model.", StringComparison.Ordinal)) - 4, report.Unexpected.Count);
        Assert.Contains(report.Unexpected, u => u.Key == "structcond_stage_model.time_embed.2.weight" && u.Shape.SequenceEqual([128, 128]));
        var w = good.NamedParameters().Single(p => p.Path == "input_blocks.0.0.weight").Param.Tensor;
        Assert.Equal(DType.F32, w.DType);
        using var expected = ckpt.Load("structcond_stage_model.input_blocks.0.0.weight");
        Assert.Equal(expected.ToFloatArray(), w.ToFloatArray());

        using var wrong = new TinyEncoder(48);
        var bad = LoadReport.LoadInto(ckpt, wrong, StableSRComponent.TimeAwareEncoder);
        Assert.Equal(["structcond_stage_model.input_blocks.0.0.bias", "structcond_stage_model.input_blocks.0.0.weight"], bad.Mismatched.Select(m => m.Key).Order());
        Assert.Equal([32, 4, 3, 3], bad.Mismatched.Single(m => m.Key.EndsWith("weight")).Actual);
        Assert.Null(wrong.NamedParameters().Single(p => p.Path == "input_blocks.0.0.weight").Param.Value);
        Assert.Contains("mismatched  structcond_stage_model.input_blocks.0.0.weight: expected [48,4,3,3], file has [32,4,3,3]", bad.ToString());

        var verify = LoadReport.Verify(ckpt, StableSRKeyMap.ExpectedKeys(good, StableSRComponent.TimeAwareEncoder)
            .Append(new KeyShape("structcond_stage_model.not_there.weight", [7])));
        Assert.Equal([new KeyShape("structcond_stage_model.not_there.weight", [7]).ToString()], verify.Missing.Select(m => m.ToString()));
        Assert.Equal(ckpt.Tensors.Count - 4, verify.Unexpected.Count);
        Assert.False(verify.IsExact);
    }
}

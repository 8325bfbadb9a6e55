using PFStorer.Graph.Models;
using PFStorer.Graph.Modules;
using Xunit;

namespace PFStorer.Graph.Tests.Models;

/// <summary>
/// The full 512 configuration builds exactly the checkpoint layout (names and shapes) of the released StableSR model and
/// CFW VAE, shapes only (no weight memory), with the known parameter counts; the tiny fixture config builds too.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly string[] ScheduleBuffers =
    [
        "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
        "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
        "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
    ];

    /// <summary>Lines "name [d0, d1, …]" of a spec key list.</summary>
    private static Dictionary<string, string> KeyList(string file)
    {
        var keys = new Dictionary<string, string>();
        foreach (var line in File.ReadLines(Fixtures.Path("spec", file)))
        {
            if (line.Length == 0) continue;
            int space = line.IndexOf(' ');
            keys.Add(line[..space], line[(space + 1)..].Replace(" ", ""));
        }
        return keys;
    }

    internal static Dictionary<string, string> Layout(Module m, string prefix = "") =>
        m.NamedParameters(prefix).ToDictionary(p => p.Path, p => p.Param.ShapeString);

    private static void AssertSameLayout(Dictionary<string, string> expected, Dictionary<string, string> actual)
    {
        var missing = expected.Keys.Except(actual.Keys).Order().ToArray();
        var extra = actual.Keys.Except(expected.Keys).Order().ToArray();
        Assert.True(missing.Length == 0 && extra.Length == 0,
            $"missing {missing.Length}: {string.Join(", ", missing.Take(10))}; unexpected {extra.Length}: {string.Join(", ", extra.Take(10))}");
        var wrong = expected.Where(kv => actual[kv.Key] != kv.Value).Select(kv => $"{kv.Key} {actual[kv.Key]} ≠ {kv.Value}").ToArray();
        Assert.True(wrong.Length == 0, $"{wrong.Length} shapes differ: {string.Join("; ", wrong.Take(10))}");
    }

    [Fact]
    public void Full512BuildsTheReleasedCheckpointLayout()
    {
        var expected = KeyList("stablesr_keys.txt");
        Assert.Equal(1616, expected.Count);
        foreach (var name in ScheduleBuffers) Assert.True(expected.Remove(name), $"schedule buffer {name} missing from the spec list");

        using var model = new LatentDiffusionSRTextWT(StableSRConfig.Full512);
        AssertSameLayout(expected, Layout(model));
        Assert.All(model.NamedParameters(), p => Assert.Null(p.Param.Value));

        Assert.Equal(918_930_884, model.DiffusionModel.ParameterCount());
        Assert.Equal(52_494_080, model.StructCondStageModel.ParameterCount());
        Assert.Equal(83_653_863, model.FirstStageModel.ParameterCount());
        Assert.Equal(354_032_641, model.CondStageModel.ParameterCount());
        Assert.Equal(53_020_160, model.DiffusionModel.NamedParameters().Where(p => p.Path.Contains(".spade.")).Sum(p => p.Param.Numel));
    }

    [Fact]
    public void Full512CfwVaeBuildsTheReleasedCheckpointLayout()
    {
        var expected = KeyList("stablesr_vqgan_cfw_keys.txt");
        Assert.Equal(404, expected.Count);
        using var vae = new AutoencoderKL(StableSRConfig.Full512.CfwVae, cfw: true);
        AssertSameLayout(expected, Layout(vae));
        Assert.Equal(128_047_591, vae.ParameterCount());
        Assert.Equal(156, vae.NamedParameters().Count(p => p.Path.StartsWith("decoder.fusion_layer_", StringComparison.Ordinal)));
    }

    [Fact]
    public void Full512UNetHasTheSpecTopology()
    {
        using var unet = new UNetModelDualcondV2(StableSRConfig.Full512.UNet);
        Assert.Equal(12, unet.InputBlocks.Count);
        Assert.Equal(12, unet.OutputBlocks.Count);
        var transformers = unet.SpatialTransformers().ToArray();
        Assert.Equal(16, transformers.Length);
        Assert.Contains(transformers, t => t.Path == "output_blocks.4.1");
        var heads = transformers.Select(t => t.Transformer.TransformerBlocks[0].Attn2.Heads).Distinct().Order();
        Assert.Equal([5, 10, 20], heads);
        Assert.All(transformers, t => Assert.Equal(64, t.Transformer.TransformerBlocks[0].Attn1.DimHead));
    }

    [Fact]
    public void TinyFixtureConfigLoads()
    {
        var cfg = StableSRConfig.Load(Fixtures.Path("stablesr-tiny", "config.json"));
        Assert.Equal(32, cfg.UNet.ModelChannels);
        Assert.Equal([1, 2, 2], cfg.UNet.ChannelMult);
        Assert.Equal((4, 8), cfg.UNet.HeadsFor(32));
        Assert.Equal(4, cfg.StructCond.NumHeads);
        Assert.Equal([1, 1, 1, 2], cfg.Vae.ChMult);
        Assert.Equal(new TextConfig(77, 49408, 32, 2, 2, 32, LayerIndex: 1), cfg.Text);
        Assert.Equal(0.18215f, cfg.ScaleFactor);
        using var model = new LatentDiffusionSRTextWT(cfg);
        Assert.True(model.ParameterCount() > 0);
    }

    [Fact]
    public void ConfigErrorsNameTheFileAndTheField()
    {
        var dir = Directory.CreateTempSubdirectory("pfstorer-config");
        try
        {
            string path = Path.Combine(dir.FullName, "bad.json");
            var text = File.ReadAllText(Fixtures.Path("stablesr-tiny", "config.json"))
                .Replace("\"use_spatial_transformer\": true", "\"use_spatial_transformer\": false");
            File.WriteAllText(path, text);
            var ex = Assert.Throws<InvalidDataException>(() => StableSRConfig.Load(path));
            Assert.Contains(path, ex.Message);
            Assert.Contains("use_spatial_transformer", ex.Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Models;
using PFStorer.Graph.Modules;
using PFStorer.Graph.Pipeline;
using Xunit;
using static PFStorer.Graph.Tests.Models.TinyConfig;

namespace PFStorer.Graph.Tests.Models;

/// <summary>
/// Honoured keys that change how weights are laid out or used, checked against upstream's tiny-model outputs: the
/// fixture's weights, rearranged into the other layout, must give the same reference tensors (tolerance as
/// <see cref="StableSRTiny.Tolerance"/>). And the case: a CFW VAE with num_fuse_block 1 loads.
/// </summary>
public sealed class ConfigVariantParityTests(StableSRTiny tiny) : IClassFixture<StableSRTiny>
{
    /// <summary>
    /// Fills every parameter of <paramref name="target"/> with the same-named one of <paramref name="source"/>,
    /// rearranged by <paramref name="rearrange"/>; parameters the source lacks come from <paramref name="missing"/>.
    /// </summary>
    private static void CopyWeights(Module source, Module target, Func<string, float[], int[], float[]> rearrange, Func<string, int, float[]>? missing = null)
    {
        var values = source.NamedParameters().ToDictionary(p => p.Path, p => p.Param.Tensor);
        foreach (var (path, p) in target.NamedParameters())
        {
            var shape = p.ShapeArray();
            var data = values.TryGetValue(path, out var v) ? rearrange(path, v.ToFloatArray(), shape)
                : missing?.Invoke(path, (int)p.Numel) ?? throw new KeyNotFoundException($"{path} is not in the source model");
            p.Assign(Tensor.FromArray(data, shape));
        }
    }

    [Fact]
    public void ConvProjectionsGiveTheLinearUNetsOutput()
    {
        var cfg = Load((UNet, "use_linear_in_transformer", "false"));
        using var unet = new UNetModelDualcondV2(cfg.UNet);
        // A 1×1 conv weight [out,in,1,1] holds the Linear weight [out,in] in the same order.
        CopyWeights(tiny.Model.DiffusionModel, unet, (_, data, _) => data);
        Assert.Equal(4, unet.SpatialTransformers().First().Transformer.ProjIn.Weight.Shape.Length);
        using var x = tiny.Case("unet.x");
        using var t = tiny.Case("unet.timesteps");
        using var context = tiny.Case("unet.context");
        using var sc = tiny.StructCond("unet.struct_cond.");
        using var eps = unet.Forward(x, t, context, sc);
        tiny.AssertMatches(eps, "unet.out");
    }

    [Fact]
    public void NewAttentionOrderWithPermutedQkvGivesTheLegacyEncodersOutput()
    {
        var cfg = Load((TimeAware, "use_new_attention_order", "true"));
        using var encoder = new EncoderUNetModelWT(cfg.StructCond);
        int heads = cfg.StructCond.NumHeads;
        // Legacy qkv rows are (head, q|k|v, c); the new order's are (q|k|v, head, c). Move each row accordingly.
        CopyWeights(tiny.Model.StructCondStageModel, encoder, (path, data, shape) =>
        {
            if (!path.Contains(".qkv.", StringComparison.Ordinal)) return data;
            int rows = shape[0], c = rows / 3, ch = c / heads, cols = data.Length / rows;
            var moved = new float[data.Length];
            for (int h = 0; h < heads; h++)
                for (int part = 0; part < 3; part++)
                    for (int i = 0; i < ch; i++)
                        Array.Copy(data, (h * 3 * ch + part * ch + i) * cols, moved, (part * c + h * ch + i) * cols, cols);
            return moved;
        });
        using var x = tiny.Case("structcond.x");
        using var t = tiny.Case("structcond.timesteps");
        using var features = encoder.Forward(x, t);
        foreach (var w in features.ByWidth.Keys) tiny.AssertMatches(features[w], $"structcond.out.{w}");
    }

    /// <summary>
    /// Level attention (attn_resolutions) on the fixture VAE: with its proj_out at zero each AttnBlock is the identity,
    /// so encode and decode give upstream's attention-free tensors; with a random proj_out they must not.
    /// </summary>
    [Fact]
    public void LevelAttentionIsAppliedWhereListed()
    {
        var rng = Reference.NewRandom(out int seed);
        var cfg = Load((Vae, "attn_resolutions", "[64, 16]"));
        using var image = tiny.Case("vae.image");
        using var z = tiny.Case("vae.posterior_mean");
        foreach (bool identity in new[] { true, false })
        {
            using var vae = new AutoencoderKL(cfg.Vae);
            CopyWeights(tiny.Model.FirstStageModel, vae, (_, data, _) => data, (path, n) =>
                identity && path.Contains(".proj_out.", StringComparison.Ordinal) ? new float[n] : Reference.ToFloat(Reference.RandomArray(rng, n, 0.2)));
            Assert.Equal(6, vae.NamedParameters().Count(p => p.Path.EndsWith(".attn.0.q.weight", StringComparison.Ordinal) || p.Path.EndsWith(".attn.1.q.weight", StringComparison.Ordinal)));
            using var encoding = vae.Encode(image);
            using var decoded = vae.Decode(z);
            if (identity)
            {
                tiny.AssertMatches(encoding.Moments, "vae.moments");
                tiny.AssertMatches(decoded, "vae.decode_plain");
                continue;
            }
            using var plain = tiny.Case("vae.decode_plain");
            double diff = decoded.ToFloatArray().Zip(plain.ToFloatArray()).Max(p => Math.Abs(p.First - p.Second));
            Assert.True(diff > 1e-3, $"random level attention changed the decode by only {diff} (seed {seed})");
        }
    }

    [Fact]
    public void ConfiguredFusionWeightIsTheDecodersDefault()
    {
        var cfg = Load((Cfw, "fusion_w", "0.5"));
        using var vae = new AutoencoderKL(cfg.CfwVae, cfw: true);
        CopyWeights(tiny.CfwVae, vae, (_, data, _) => data);
        using var z = tiny.Case("vae.posterior_mean");
        using var f0 = tiny.Case("vae.enc_fea.0");
        using var f1 = tiny.Case("vae.enc_fea.1");
        using var image = vae.Decode(z, [f0, f1]);
        tiny.AssertMatches(image, "vae.decode_cfw_w0.5");
    }

    /// <summary>
    /// The fixture's CFW weights without the second RRDB of each fusion layer, as a separate VAE file beside a
    /// config.json: it loads through the restore pipeline's loader with num_fuse_block 1, and not with the default 2.
    /// </summary>
    [Fact]
    public void CfwVaeWithOneFuseBlockLoads()
    {
        var dir = Directory.CreateTempSubdirectory("pfstorer-fuse1");
        try
        {
            string modelPath = Path.Combine(dir.FullName, "model.safetensors");
            File.CreateSymbolicLink(modelPath, Fixtures.Path("stablesr-tiny", "model.safetensors"));
            string vaePath = Path.Combine(dir.FullName, "vae_cfw.safetensors");
            using (var cfw = Checkpoint.Open(Fixtures.Path("stablesr-tiny", "vae_cfw.safetensors")))
            {
                var kept = cfw.Tensors.Select(t => t.Name).Where(n => !n.Contains(".encode_enc_2.1.", StringComparison.Ordinal)).ToArray();
                Assert.True(kept.Length < cfw.Tensors.Count);
                var tensors = kept.Select(n => (n, cfw.Load(n))).ToArray();
                try { SafetensorsWriter.Write(vaePath, tensors); }
                finally { foreach (var (_, tensor) in tensors) tensor.Dispose(); }
            }

            Write(Path.Combine(dir.FullName, "config.json"));
            var ex = Assert.Throws<WeightsException>(() => StableSRWeights.Load(modelPath, vaePath).Dispose());
            Assert.Contains("encode_enc_2.1", ex.Message);

            Write(Path.Combine(dir.FullName, "config.json"), (CfwVae, "num_fuse_block", "1"));
            using var weights = StableSRWeights.Load(modelPath, vaePath);
            Assert.All(weights.CfwVae.Decoder.FusionLayers.OfType<FuseSftBlockRrdb>(), f => Assert.Single(f.EncodeEnc2));
            using var z = tiny.Case("vae.posterior_mean");
            using var f0 = tiny.Case("vae.enc_fea.0");
            using var f1 = tiny.Case("vae.enc_fea.1");
            using var image = weights.CfwVae.Decode(z, [f0, f1], 0.5f);
            Assert.Equal([1, 3, 64, 64], image.ShapeArray());
            Assert.All(image.ToFloatArray(), v => Assert.True(float.IsFinite(v)));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

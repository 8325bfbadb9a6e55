using PFStorer.Graph.Models;
using Xunit;

namespace PFStorer.Graph.Tests.Models;

/// <summary>The CFW VAE (AutoencoderKLResi) and the plain first-stage VAE of stablesr-tiny against upstream.</summary>
public sealed class VaeParityTests(StableSRTiny tiny) : IClassFixture<StableSRTiny>
{
    [Fact]
    public void EncodePosteriorAndCfwFeaturesMatch()
    {
        using var image = tiny.Case("vae.image");
        using var enc = tiny.CfwVae.Encode(image);
        tiny.AssertMatches(enc.Moments, "vae.moments");
        Assert.Equal(2, enc.CfwFeatures.Count);
        tiny.AssertMatches(enc.CfwFeatures[0], "vae.enc_fea.0");
        tiny.AssertMatches(enc.CfwFeatures[1], "vae.enc_fea.1");
        using var posterior = enc.Posterior();
        tiny.AssertMatches(posterior.Mean, "vae.posterior_mean");
        tiny.AssertMatches(posterior.LogVar, "vae.posterior_logvar");
        tiny.AssertMatches(posterior.Std, "vae.posterior_std");
    }

    [Theory]
    [InlineData(1.0f, "1.0")]
    [InlineData(0.5f, "0.5")]
    [InlineData(0.0f, "0.0")]
    public void CfwDecodeMatches(float w, string label)
    {
        using var z = tiny.Case("vae.posterior_mean");
        using var f0 = tiny.Case("vae.enc_fea.0");
        using var f1 = tiny.Case("vae.enc_fea.1");
        using var image = tiny.CfwVae.Decode(z, [f0, f1], w);
        tiny.AssertMatches(image, $"vae.decode_cfw_w{label}");
    }

    [Fact]
    public void PlainDecodeAndDecodeFirstStageMatch()
    {
        var vae = tiny.Model.FirstStageModel;
        using var z = tiny.Case("vae.posterior_mean");
        using var image = vae.Decode(z);
        tiny.AssertMatches(image, "vae.decode_plain");
        using var scaled = F.Scale(z, tiny.Config.ScaleFactor);
        using var fromScaled = vae.DecodeFirstStage(scaled, tiny.Config.ScaleFactor);
        tiny.AssertMatches(fromScaled, "vae.decode_first_stage_from_scaled");
    }

    [Fact]
    public void CfwDecoderRefusesToRunWithoutEncoderFeatures()
    {
        using var z = tiny.Case("vae.posterior_mean");
        Assert.Throws<ArgumentException>(() => tiny.CfwVae.Decode(z));
    }
}

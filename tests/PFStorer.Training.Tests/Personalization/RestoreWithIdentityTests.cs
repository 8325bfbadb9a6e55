using PFStorer.Graph;
using PFStorer.Images;
using PFStorer.Graph.Modules;
using PFStorer.Graph.Personalization;
using PFStorer.Graph.Pipeline;
using Xunit;

namespace PFStorer.Training.Tests.Personalization;

/// <summary>
/// Restoring the shipped old photo with an identity on the tiny model (tiled: 4 latent windows per step, both CFG
/// branches): exact equalities where the maths says the identity cannot act, and a different result where it must.
/// </summary>
public sealed class RestoreWithIdentityTests(TinyPersonalization fx) : IClassFixture<TinyPersonalization>, IDisposable
{
    private readonly Restorer _restorer = TinyPersonalization.LoadRestorer();
    private readonly Image _old = ImageFile.Read(Fixtures.Example("astronaut", "old.png"));
    private static readonly RestoreSettings Base = new() { Steps = 3, Seed = 5 };

    /// <summary>A fresh identity (no iteration: γ = 0, the token = the embedding of "face") read back through the restorer.</summary>
    private Identity FreshIdentity(string name)
    {
        string path = fx.Temp(name);
        using (var run = fx.Run(fx.Settings(1))) run.WriteIdentity(path, DateTimeOffset.UnixEpoch);
        return _restorer.ReadIdentity(path);
    }

    private byte[] Restore(RestoreSettings settings) => _restorer.Restore(_old, settings).U8!;

    private static RestoreSettings With(Identity identity, float lambdaAtt = 1f) =>
        Base with { Identity = identity, Prompt = Prompts.PositiveWithIdentity, LambdaAtt = lambdaAtt };

    [Fact]
    public void GammaZeroAndTheInitialTokenEqualTheBaseRestorationWithTheInitWordBitForBit()
    {
        using var identity = FreshIdentity("fresh.pfid.safetensors");
        var personalized = Restore(With(identity));
        var plain = Restore(Base with { Prompt = Prompts.PositiveWithIdentity.Replace(Prompts.Placeholder, "face") });
        Assert.Equal(plain, personalized);
    }

    [Fact]
    public void ALearnedIdentityChangesTheRestorationAndLambdaZeroEqualsTheTokenOnlyModel()
    {
        using var identity = FreshIdentity("random.pfid.safetensors");
        TinyPersonalization.Randomise(identity.Adapter.Token, 1);
        var tokenOnly = Restore(With(identity));
        int seed = 2;
        foreach (var block in identity.Adapter.Blocks) TinyPersonalization.Randomise(block.Gamma, seed++);
        var full = Restore(With(identity));
        var lambdaZero = Restore(With(identity, lambdaAtt: 0f));
        var baseline = Restore(Base);

        Assert.Equal(tokenOnly, lambdaZero);
        Assert.NotEqual(tokenOnly, full);
        Assert.NotEqual(baseline, full);
        double meanAbs = full.Zip(baseline, (a, b) => Math.Abs(a - b)).Average();
        TestContext.Current.TestOutputHelper?.WriteLine($"identity vs base: mean |Δ| {meanAbs:F2} of 255");
    }

    [Fact]
    public void TheRestorerServesSeveralIdentitiesAndLeavesTheBaseAsItWas()
    {
        var before = Restore(Base);
        using (var a = FreshIdentity("a.pfid.safetensors"))
        using (var b = FreshIdentity("b.pfid.safetensors"))
        {
            TinyPersonalization.Randomise(b.Adapter.Blocks[0].Gamma, 9);
            var first = Restore(With(a));
            Restore(With(b));
            Assert.Equal(first, Restore(With(a)));
        }
        Assert.Equal(before, Restore(Base));
    }

    [Fact]
    public void AReferenceOutOfRangeOrAPromptWithoutThePlaceholderIsRefused()
    {
        using var identity = FreshIdentity("refuse.pfid.safetensors");
        Assert.Contains("reference must be 0..2", Assert.Throws<ArgumentException>(() => Restore(With(identity) with { ReferenceIndex = 3 })).Message);
        Assert.Contains("placeholder", Assert.Throws<ArgumentException>(() => Restore(Base with { Identity = identity })).Message);
    }

    public void Dispose() => _restorer.Dispose();
}

using PFStorer.Graph;
using PFStorer.Graph.Modules;
using PFStorer.Graph.Personalization;
using PFStorer.Graph.Pipeline;
using PFStorer.Images;
using Xunit;

namespace PFStorer.Training.Tests.Personalization;

/// <summary>
/// The reference-stream cache on the tiny model, CPU backend (docs/identity-files.md, "Reference-stream cache"): restoring
/// with an identity whose blocks act (random γ and token) gives the same floats bit for bit with the cache as without it —
/// on the shipped old photo (4 latent windows per step, both CFG branches), on a batch of two images sharing the cache,
/// with a budget that holds only some steps, and after the identity's token changes under the cache.
/// </summary>
public sealed class ReferenceStreamCacheTests(TinyPersonalization fx) : IClassFixture<TinyPersonalization>, IDisposable
{
    private readonly Restorer _cached = TinyPersonalization.LoadRestorer(), _uncached = TinyPersonalization.LoadRestorer();
    private readonly Image _old = ImageFile.Read(Fixtures.Example("astronaut", "old.png"));
    private static readonly RestoreSettings Base = new() { Steps = 3, Seed = 11, Prompt = Prompts.PositiveWithIdentity };

    /// <summary>A fresh identity read back through <paramref name="restorer"/>, with random γ and token so every block acts.</summary>
    private Identity ActingIdentity(Restorer restorer, string name, int seed)
    {
        string path = fx.Temp(name);
        if (!File.Exists(path))
            using (var run = fx.Run(fx.Settings(1))) run.WriteIdentity(path, DateTimeOffset.UnixEpoch);
        var identity = restorer.ReadIdentity(path);
        TinyPersonalization.Randomise(identity.Adapter.Token, seed);
        foreach (var block in identity.Adapter.Blocks) TinyPersonalization.Randomise(block.Gamma, ++seed);
        return identity;
    }

    private static float[] Restore(Restorer restorer, Image image, RestoreSettings settings) =>
        restorer.Restore(image, settings, output: PixelKind.F32).F32!;

    private static Image Mirrored(Image image)
    {
        var src = image.U8!;
        var dst = new byte[src.Length];
        int w = image.Width, ch = image.Channels;
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < w; x++)
                Array.Copy(src, (y * w + x) * ch, dst, (y * w + w - 1 - x) * ch, ch);
        return Image.FromU8(dst, w, image.Height, ch);
    }

    [Fact]
    public void ABatchOfTwoTiledImagesRestoresBitForBitAsWithoutTheCache()
    {
        using var cachedIdentity = ActingIdentity(_cached, "acting.pfid.safetensors", 3);
        using var uncachedIdentity = ActingIdentity(_uncached, "acting.pfid.safetensors", 3);
        var on = Base with { Identity = cachedIdentity };
        var off = Base with { Identity = uncachedIdentity, ReferenceCacheBytes = 0 };
        var second = Mirrored(_old);

        Assert.Equal(Restore(_uncached, _old, off), Restore(_cached, _old, on));
        var (bytes, steps) = _cached.ReferenceStreamCacheUse;
        Assert.Equal(Base.Steps, steps);
        Assert.Equal((0L, 0), _uncached.ReferenceStreamCacheUse);
        // The second image meets only recorded timesteps: every UNet call replays.
        Assert.Equal(Restore(_uncached, second, off), Restore(_cached, second, on));
        Assert.Equal((bytes, steps), _cached.ReferenceStreamCacheUse);
        TestContext.Current.TestOutputHelper?.WriteLine($"tiny model: {bytes} bytes for {steps} steps ({bytes / steps} per step)");
    }

    [Fact]
    public void ABudgetForSomeStepsComputesTheRestWithTheirReferenceRowsAndStillAgrees()
    {
        using var identity = ActingIdentity(_cached, "budget.pfid.safetensors", 5);
        var reference = Restore(_uncached, _old, Base with { Identity = identity, ReferenceCacheBytes = 0 });
        Restore(_cached, _old, Base with { Identity = identity });
        var (bytes, steps) = _cached.ReferenceStreamCacheUse;
        long perStep = bytes / steps;

        var partial = Base with { Identity = identity, ReferenceCacheBytes = 2 * perStep + perStep / 2 };
        Assert.Equal(reference, Restore(_cached, _old, partial));
        Assert.Equal((2 * perStep, 2), _cached.ReferenceStreamCacheUse);
        Assert.Equal(reference, Restore(_cached, _old, partial));   // the two kept steps replay, the third is recomputed
        Assert.Equal((2 * perStep, 2), _cached.ReferenceStreamCacheUse);

        var tooSmall = Base with { Identity = identity, ReferenceCacheBytes = perStep - 1 };
        Assert.Equal(reference, Restore(_cached, _old, tooSmall));
        Assert.Equal((0L, 0), _cached.ReferenceStreamCacheUse);
    }

    [Fact]
    public void ANewTokenOrADetachedIdentityFreesTheCache()
    {
        using var identity = ActingIdentity(_cached, "token.pfid.safetensors", 7);
        var settings = Base with { Identity = identity };
        Restore(_cached, _old, settings);
        TinyPersonalization.Randomise(identity.Adapter.Token, 99);   // the positive branch's context changes: the recorded stream no longer holds
        var afterChange = Restore(_cached, _old, settings);
        Assert.Equal(Restore(_uncached, _old, settings with { ReferenceCacheBytes = 0 }), afterChange);

        Restore(_cached, _old, Base with { Prompt = Prompts.Positive });
        Assert.Equal((0L, 0), _cached.ReferenceStreamCacheUse);
    }

    [Fact]
    public void ANegativeBudgetIsRefused() =>
        Assert.Contains("reference cache budget", Assert.Throws<ArgumentException>(() => (Base with { ReferenceCacheBytes = -1 }).Validate()).Message);

    public void Dispose()
    {
        _cached.Dispose();
        _uncached.Dispose();
    }
}

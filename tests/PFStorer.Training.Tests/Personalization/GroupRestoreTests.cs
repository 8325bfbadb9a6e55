using System.Text.Json;
using PFStorer.Graph;
using PFStorer.Graph.Faces;
using PFStorer.Graph.Modules;
using PFStorer.Graph.Personalization;
using PFStorer.Graph.Pipeline;
using PFStorer.Images;
using Xunit;

namespace PFStorer.Training.Tests.Personalization;

/// <summary>
/// The group-photo path on the tiny model with face-api's real networks on tests/fixtures/faces/pair.png (two people):
/// identities whose stored descriptors are those of the photo's two faces route each face to its own; pixels outside
/// the assigned faces' squares are the base restoration bit for bit; a face beyond the threshold keeps the base.
/// </summary>
public sealed class GroupRestoreTests(TinyPersonalization fx) : IClassFixture<TinyPersonalization>, IDisposable
{
    private readonly Restorer _restorer = TinyPersonalization.LoadRestorer();
    private readonly FaceAnalyzer _faces = FaceAnalyzer.Load(FaceFixtures.WeightsDir);
    private readonly Image _pair = ImageFile.Read(FaceFixtures.Image("pair"));
    private static readonly RestoreSettings Settings = new() { Steps = 1, Seed = 11, Upscale = 1.5f, Prompt = Prompts.PositiveWithIdentity };

    /// <summary>An identity file (no training iteration) whose stored descriptor is <paramref name="descriptor"/>, read back;
    /// <paramref name="tokenSeed"/> gives it a random token, so identities restore differently.</summary>
    private Identity IdentityWith(string name, float[]? descriptor, int? tokenSeed = null)
    {
        string path = fx.Temp(name);
        using (var run = fx.Run(fx.Settings(1)))
        {
            run.FaceDescriptor = descriptor;
            run.WriteIdentity(path, DateTimeOffset.UnixEpoch);
        }
        var identity = _restorer.ReadIdentity(path);
        if (tokenSeed is { } seed) TinyPersonalization.Randomise(identity.Adapter.Token, seed);
        return identity;
    }

    private IReadOnlyList<AnalyzedFace> PairFaces()
    {
        var faces = _faces.Analyze(FaceImage.From(_pair));
        Assert.Equal(2, faces.Count);
        return faces;
    }

    private byte[] BaseRestoration() => _restorer.Restore(_pair, Settings with { Prompt = Prompts.WithoutPlaceholder(Settings.Prompt) }, cancel: TestContext.Current.CancellationToken).U8!;

    /// <summary>Pixel (x, y) of the output lies inside the output square of <paramref name="crop"/>.</summary>
    private static bool Inside(FaceCrop crop, int x, int y)
    {
        var s = crop.Scaled(Settings.Upscale);
        return x >= s.X && x < s.X + s.Side && y >= s.Y && y < s.Y + s.Side;
    }

    private static (int Outside, int OutsideDiffering, int Inside, int InsideDiffering) Compare(Image group, byte[] baseline, IEnumerable<FaceCrop> assigned)
    {
        var squares = assigned.ToList();
        int outside = 0, outsideDiff = 0, inside = 0, insideDiff = 0;
        for (int y = 0; y < group.Height; y++)
            for (int x = 0; x < group.Width; x++)
            {
                bool differs = false;
                for (int c = 0; c < 3; c++) differs |= group.U8![(y * group.Width + x) * 3 + c] != baseline[(y * group.Width + x) * 3 + c];
                if (squares.Any(s => Inside(s, x, y))) { inside++; insideDiff += differs ? 1 : 0; }
                else { outside++; outsideDiff += differs ? 1 : 0; }
            }
        return (outside, outsideDiff, inside, insideDiff);
    }

    [Fact]
    public void EachFaceGoesToItsIdentityAndTheBackgroundIsTheBaseRestorationBitForBit()
    {
        var faces = PairFaces();
        // Listed in the other order than the faces, so routing cannot succeed by position.
        using var second = IdentityWith("second.pfid.safetensors", faces[1].Descriptor, tokenSeed: 3);
        using var first = IdentityWith("first.pfid.safetensors", faces[0].Descriptor);
        var reports = new List<RestoreProgress>();
        var group = new GroupRestorer(_restorer, _faces).Restore(_pair, Settings, [second, first], reports.Add, TestContext.Current.CancellationToken);
        // Progress counts the two face passes as patches after the base's, on one scale throughout.
        Assert.Single(reports.Select(r => r.Patches).Distinct());
        Assert.Equal(reports[^1].Patches, reports[^1].Patch);
        Assert.Equal(2, reports.Select(r => r.Patch).Distinct().Count(p => p > reports[^1].Patches - 2));
        Assert.Equal(reports.Select(r => r.Patch).Order(), reports.Select(r => r.Patch));

        Assert.Equal("first.pfid.safetensors second.pfid.safetensors", string.Join(' ', group.Faces.Select(f => f.Identity)));
        Assert.All(group.Faces, f => Assert.InRange(f.Distance, 0, 1e-5));   // the same photo's descriptors, recomputed
        Assert.True(FaceDistance.Euclidean(faces[0].Descriptor, faces[1].Descriptor) > FaceDistance.SameIdentityThreshold);
        Assert.Equal((int)(_pair.Width * Settings.Upscale), group.Image.Width);

        var (outside, outsideDiff, inside, insideDiff) = Compare(group.Image, BaseRestoration(), group.Faces.Select(f => f.Crop));
        TestContext.Current.TestOutputHelper?.WriteLine($"outside the squares: {outsideDiff} of {outside} pixels differ; inside: {insideDiff} of {inside}");
        Assert.True(outside > 0 && inside > 0);
        Assert.Equal(0, outsideDiff);
        Assert.True(insideDiff > inside / 4, $"only {insideDiff} of {inside} pixels inside the face squares changed");

        using var json = JsonDocument.Parse(group.FacesJson());
        Assert.Equal("first.pfid.safetensors second.pfid.safetensors", string.Join(' ', json.RootElement.EnumerateArray().Select(f => f.GetProperty("identity").GetString())));
        Assert.Equal(faces[0].Detection.Box.X, json.RootElement[0].GetProperty("box")[0].GetDouble(), 2);

        // Swapping the stored descriptors swaps the identities the faces are restored with, and so the squares' pixels.
        using var secondSwapped = IdentityWith("second-swapped.pfid.safetensors", faces[0].Descriptor, tokenSeed: 3);
        using var firstSwapped = IdentityWith("first-swapped.pfid.safetensors", faces[1].Descriptor);
        var swapped = new GroupRestorer(_restorer, _faces).Restore(_pair, Settings, [secondSwapped, firstSwapped], cancel: TestContext.Current.CancellationToken);
        Assert.Equal("second-swapped.pfid.safetensors first-swapped.pfid.safetensors", string.Join(' ', swapped.Faces.Select(f => f.Identity)));
        var (_, swappedOutsideDiff, _, swappedInsideDiff) = Compare(swapped.Image, group.Image.U8!, group.Faces.Select(f => f.Crop));
        Assert.Equal(0, swappedOutsideDiff);
        Assert.True(swappedInsideDiff > 0);
    }

    [Fact]
    public void AFaceBeyondTheThresholdKeepsTheBaseRestoration()
    {
        var faces = PairFaces();
        // A descriptor 0.7 away from face 1 in a random direction: past face-api's 0.6, so face 1 goes to no one.
        var rng = new Random(Environment.TickCount);
        var direction = Enumerable.Range(0, faces[1].Descriptor.Length).Select(_ => rng.NextDouble() - 0.5).ToArray();
        double norm = Math.Sqrt(direction.Sum(v => v * v));
        var far = faces[1].Descriptor.Select((v, i) => (float)(v + 0.7 * direction[i] / norm)).ToArray();
        using var near = IdentityWith("near.pfid.safetensors", faces[0].Descriptor);
        using var away = IdentityWith("away.pfid.safetensors", far);
        var group = new GroupRestorer(_restorer, _faces).Restore(_pair, Settings, [near, away], cancel: TestContext.Current.CancellationToken);

        Assert.Equal("near.pfid.safetensors", group.Faces[0].Identity);
        Assert.Null(group.Faces[1].Identity);
        double expected = Math.Min(FaceDistance.Euclidean(faces[1].Descriptor, far), FaceDistance.Euclidean(faces[1].Descriptor, faces[0].Descriptor));
        Assert.Equal(expected, group.Faces[1].Distance, 6);
        Assert.Equal(0.7, FaceDistance.Euclidean(faces[1].Descriptor, far), 5);

        // Face 1's square lies apart from face 0's, so it is part of what must equal the base.
        FaceCrop a = group.Faces[0].Crop.Scaled(Settings.Upscale), b = group.Faces[1].Crop.Scaled(Settings.Upscale);
        Assert.True(b.X >= a.X + a.Side || a.X >= b.X + b.Side || b.Y >= a.Y + a.Side || a.Y >= b.Y + b.Side, $"squares {a} and {b} overlap");
        var (_, outsideDiff, _, insideDiff) = Compare(group.Image, BaseRestoration(), [group.Faces[0].Crop]);
        Assert.Equal(0, outsideDiff);
        Assert.True(insideDiff > 0);
    }

    [Fact]
    public void AnIdentityWithoutADescriptorIsRefusedByName()
    {
        using var with = IdentityWith("with.pfid.safetensors", PairFaces()[0].Descriptor);
        using var without = IdentityWith("without.pfid.safetensors", null);
        var e = Assert.Throws<ArgumentException>(() => new GroupRestorer(_restorer, _faces).Restore(_pair, Settings, [with, without], cancel: TestContext.Current.CancellationToken));
        Assert.Contains("without.pfid.safetensors", e.Message);
        Assert.Contains("no face descriptor", e.Message);
    }

    [Theory]
    [InlineData("[0.1, 0.2]")]
    [InlineData("not json")]
    [InlineData("null")]
    public void AMalformedStoredDescriptorIsRefusedOnReadNamingTheFile(string stored)
    {
        string path = fx.Temp("malformed.pfid.safetensors");
        using (var run = fx.Run(fx.Settings(1)))
            IdentityFile.Write(path, run.Adapter, run.Photos.Select(p => p.Latent).ToArray(), run.BaseFingerprint,
                new Dictionary<string, string> { [Identity.FaceDescriptorKey] = stored });
        var e = Assert.Throws<IdentityFileException>(() => _restorer.ReadIdentity(path));
        Assert.Contains("malformed.pfid.safetensors", e.Message);
        Assert.Contains(Identity.FaceDescriptorKey, e.Message);
    }

    public void Dispose()
    {
        _faces.Dispose();
        _restorer.Dispose();
    }
}

using PFStorer.Graph.Faces;
using PFStorer.Images;
using PFStorer.Training.Personalization;
using Xunit;

namespace PFStorer.Training.Tests.Personalization;

/// <summary>The same-person check of `personalize` with face-api's real networks on real photos.</summary>
public sealed class ReferenceFacesTests
{
    private static (string, Image) Astronaut(int i) => ($"{i}.png", ImageFile.Read(Fixtures.Example("astronaut", "photos", $"{i}.png")));

    [Fact]
    public void ThreeCropsOfOneFaceAreOnePersonAndAnotherPersonIsNamed()
    {
        using var analyzer = FaceAnalyzer.Load(FaceFixtures.WeightsDir);
        var same = ReferenceFaces.Check(analyzer, [Astronaut(1), Astronaut(2), Astronaut(3)]);
        Assert.Empty(same.WithoutFace);
        Assert.Empty(same.Outliers);
        Assert.Equal(128, same.MeanDescriptor!.Length);

        var mixed = ReferenceFaces.Check(analyzer, [Astronaut(1), Astronaut(2), Astronaut(3), ("camera.png", ImageFile.Read(FaceFixtures.Image("camera")))]);
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join(", ", mixed.Outliers.Select(o => $"{o.Name} {o.Distance:F3}")));
        Assert.Equal(["camera.png"], mixed.Outliers.Select(o => o.Name).ToArray());
    }

    [Fact]
    public void APhotoWithoutAFaceIsReportedAndStandsOut()
    {
        using var analyzer = FaceAnalyzer.Load(FaceFixtures.WeightsDir);
        var gray = Image.NewU8(160, 160, 3);
        Array.Fill(gray.U8!, (byte)128);
        var result = ReferenceFaces.Check(analyzer, [Astronaut(1), ("gray.png", gray)]);
        Assert.Equal(["gray.png"], result.WithoutFace.ToArray());
    }
}

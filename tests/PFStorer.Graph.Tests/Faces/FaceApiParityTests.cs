using System.Text.Json;
using PFStorer.Graph.Faces;
using PFStorer.Images;
using PFStorer.Tests;
using Xunit;

namespace PFStorer.Graph.Tests.Faces;

/// <summary>Loads the three face networks once for a test class.</summary>
public sealed class LoadedFaceAnalyzer : IDisposable
{
    public FaceAnalyzer Analyzer { get; } = FaceAnalyzer.Load(FaceFixtures.WeightsDir);
    public void Dispose() => Analyzer.Dispose();
}

/// <summary>
/// Our face networks and pipeline against face-api 1.7.15 itself (tfjs pure-JS CPU backend, reference.json) on real
/// photos: scikit-image's astronaut and cameraman, and both faces side by side. Tolerances: detector grid logits
/// 1e-3 absolute, boxes 0.01 px, scores 1e-4, landmarks 0.05 px, aligned rectangles exact, descriptors cosine ≥ 0.9999
/// (reached figures are printed).
/// </summary>
public sealed class FaceApiParityTests(LoadedFaceAnalyzer fixture, ITestOutputHelper output) : IClassFixture<LoadedFaceAnalyzer>
{
    private FaceAnalyzer Faces => fixture.Analyzer;

    private static FaceImage Photo(string name) => FaceImage.From(ImageFile.Read(FaceFixtures.Image(name)));

    [Fact]
    public void Name_map_loads_every_weight_with_nothing_missing_or_unexpected()
    {
        int[] expectedCounts = [19, 49, 117];   // weights in the three manifests
        Assert.Equal(3, Faces.Reports.Count);
        for (int i = 0; i < 3; i++)
        {
            var (manifest, report) = Faces.Reports[i];
            output.WriteLine($"{Path.GetFileName(manifest)}: {report}");
            Assert.True(report.IsExact, report.ToString());
            Assert.Equal(expectedCounts[i], report.Matched);
        }
    }

    [Fact]
    public void Detector_grid_matches_face_api()
    {
        var reference = FaceFixtures.Reference("astronaut").GetProperty("detectorGrid");
        var nhwc = FaceFixtures.Doubles(reference.GetProperty("nhwc"));
        var grid = Faces.DetectorGrid(Photo("astronaut"), 416, out int cells);
        Assert.Equal(13, cells);
        Assert.Equal(nhwc.Length, grid.Length);
        double maxErr = 0, maxRef = 0;
        for (int y = 0; y < cells; y++)
            for (int x = 0; x < cells; x++)
                for (int c = 0; c < 25; c++)
                {
                    double r = nhwc[(y * cells + x) * 25 + c], ours = grid[(c * cells + y) * cells + x];
                    maxErr = Math.Max(maxErr, Math.Abs(r - ours));
                    maxRef = Math.Max(maxRef, Math.Abs(r));
                }
        output.WriteLine($"detector grid: max |Δ| {maxErr:E2} (max |value| {maxRef:F2})");
        Assert.True(maxErr < 1e-3, $"max |Δ| {maxErr}");
    }

    [Fact]
    public void Landmark_net_matches_face_api_on_the_whole_photo()
    {
        var reference = FaceFixtures.Doubles(FaceFixtures.Reference("astronaut").GetProperty("landmarksWholeImage"));
        var ours = Faces.LandmarksWhole(Photo("astronaut"));
        double maxErr = reference.Select((r, i) => Math.Abs(r - ours[i])).Max();
        output.WriteLine($"landmark net (relative coords): max |Δ| {maxErr:E2} = {maxErr * 512:F4} px at 512");
        Assert.True(maxErr < 1e-4, $"max |Δ| {maxErr}");
    }

    [Fact]
    public void Recognition_net_matches_face_api_on_the_whole_photo()
    {
        var reference = FaceFixtures.Floats(FaceFixtures.Reference("astronaut").GetProperty("descriptorWholeImage"));
        var ours = Faces.EmbedWhole(Photo("astronaut"));
        double cos = FaceDistance.Cosine(reference, ours), dist = FaceDistance.Euclidean(reference, ours);
        output.WriteLine($"recognition net: 1 − cosine {1 - cos:E1}, euclidean {dist:E2}");
        Assert.True(cos >= 0.9999, $"cosine {cos}");
    }

    [Theory]
    [InlineData("astronaut")]
    [InlineData("camera")]
    [InlineData("pair")]
    public void Pipeline_matches_face_api(string name)
    {
        var reference = FaceFixtures.Reference(name).GetProperty("faces").EnumerateArray().ToList();
        var ours = Faces.Analyze(Photo(name));
        Assert.Equal(reference.Count, ours.Count);
        for (int i = 0; i < ours.Count; i++)
        {
            var r = reference[i];
            var box = Box(r.GetProperty("box"));
            var o = ours[i];
            double boxErr = new[] { o.Detection.Box.X - box.X, o.Detection.Box.Y - box.Y, o.Detection.Box.Width - box.Width, o.Detection.Box.Height - box.Height }.Max(Math.Abs);
            double scoreErr = Math.Abs(o.Detection.Score - r.GetProperty("score").GetDouble());
            var points = r.GetProperty("landmarks").EnumerateArray().Select(p => (X: p[0].GetDouble(), Y: p[1].GetDouble())).ToArray();
            double lmErr = points.Select((p, k) => Math.Max(Math.Abs(p.X - o.Landmarks.Points[k].X), Math.Abs(p.Y - o.Landmarks.Points[k].Y))).Max();
            double cos = FaceDistance.Cosine(FaceFixtures.Floats(r.GetProperty("descriptor")), o.Descriptor);
            output.WriteLine($"{name} face {i}: box max |Δ| {boxErr:E2} px, score |Δ| {scoreErr:E2}, landmarks max |Δ| {lmErr:E2} px, " +
                $"aligned {o.AlignedRect}, descriptor 1 − cosine {1 - cos:E1}");
            Assert.True(boxErr < 0.01, $"box off by {boxErr} px");
            Assert.True(scoreErr < 1e-4, $"score off by {scoreErr}");
            Assert.True(lmErr < 0.05, $"landmarks off by {lmErr} px");
            Assert.Equal(Box(r.GetProperty("alignedRect")), o.AlignedRect);
            Assert.True(cos >= 0.9999, $"descriptor cosine {cos}");
        }
    }

    private static FaceBox Box(JsonElement b) =>
        new(b.GetProperty("x").GetDouble(), b.GetProperty("y").GetDouble(), b.GetProperty("width").GetDouble(), b.GetProperty("height").GetDouble());
}

using PFStorer.Graph.Faces;
using PFStorer.Images;
using Xunit;

namespace PFStorer.Kernels.Tests;

/// <summary>
/// The face pipeline on the CUDA backend against face-api's own results (tests/fixtures/faces/reference.json) on the
/// two-person photo: same faces, boxes within 0.05 px, landmarks within 0.1 px, descriptors cosine ≥ 0.9999.
/// Skipped without a GPU.
/// </summary>
public sealed class FaceNetworksCudaTests(ITestOutputHelper output)
{
    [Fact]
    public void Cuda_face_pipeline_matches_face_api()
    {
        var gpu = Gpu.Require();
        using var faces = FaceAnalyzer.Load(FaceFixtures.WeightsDir, gpu.Device);
        var ours = faces.Analyze(FaceImage.From(ImageFile.Read(FaceFixtures.Image("pair"))));
        var reference = FaceFixtures.Reference("pair").GetProperty("faces").EnumerateArray().ToList();
        Assert.Equal(reference.Count, ours.Count);
        for (int i = 0; i < ours.Count; i++)
        {
            var box = reference[i].GetProperty("box");
            double boxErr = new[]
            {
                ours[i].Detection.Box.X - box.GetProperty("x").GetDouble(), ours[i].Detection.Box.Y - box.GetProperty("y").GetDouble(),
                ours[i].Detection.Box.Width - box.GetProperty("width").GetDouble(), ours[i].Detection.Box.Height - box.GetProperty("height").GetDouble(),
            }.Max(Math.Abs);
            var points = reference[i].GetProperty("landmarks").EnumerateArray().ToList();
            double lmErr = points.Select((p, k) => Math.Max(Math.Abs(p[0].GetDouble() - ours[i].Landmarks.Points[k].X), Math.Abs(p[1].GetDouble() - ours[i].Landmarks.Points[k].Y))).Max();
            double cos = FaceDistance.Cosine(FaceFixtures.Floats(reference[i].GetProperty("descriptor")), ours[i].Descriptor);
            output.WriteLine($"face {i}: box {boxErr:E2} px, landmarks {lmErr:E2} px, 1 − cosine {1 - cos:E1}");
            Assert.True(boxErr < 0.05, $"box off by {boxErr}");
            Assert.True(lmErr < 0.1, $"landmarks off by {lmErr}");
            Assert.True(cos >= 0.9999, $"cosine {cos}");
        }
    }
}

using PFStorer.Graph.Faces;
using PFStorer.Images;

namespace PFStorer.Training.Metrics;

/// <summary>
/// The identity metrics of one restored/reference pair (docs/faces.md). Id: cosine similarity of the face-recognition
/// descriptors (the paper's ID column; 1 = same direction). Lmse: mean over the 68 landmarks of the squared distance in
/// pixels between the restored and the reference landmarks, <see cref="FaceMetrics.NoLandmarks"/> when the restored
/// image has no face where the reference has one. Both are null when the reference has no face.
/// </summary>
public sealed record FaceScores(double? Id, double? Lmse, int ReferenceFaces, bool RestoredFaceFound);

public static class FaceMetrics
{
    /// <summary>LMSE charged when no landmarks are found in the restored image (the paper supplement's convention).</summary>
    public const double NoLandmarks = 128;

    /// <summary>
    /// Scores the main face of the reference (the detector's best) against the restored image. The restored face is the
    /// detection overlapping that face most; without one, its descriptor is taken at the reference face's aligned
    /// rectangle (the pair is pixel-aligned) and LMSE is <see cref="NoLandmarks"/>.
    /// </summary>
    public static FaceScores Compare(FaceAnalyzer faces, Image restored, Image reference, FaceDetectorOptions? options = null)
    {
        var refImage = FaceImage.From(reference);
        var refFaces = faces.Analyze(refImage, options);
        if (refFaces.Count == 0) return new FaceScores(null, null, 0, false);
        var main = refFaces[0];
        var resImage = FaceImage.From(restored);
        var match = faces.Analyze(resImage, options)
            .Select(f => (Face: f, Overlap: FaceGeometry.IoU(f.Detection.Box, main.Detection.Box)))
            .Where(f => f.Overlap > 0)
            .OrderByDescending(f => f.Overlap)
            .Select(f => f.Face)
            .FirstOrDefault();
        var descriptor = match?.Descriptor ?? faces.Embed(resImage, main.AlignedRect);
        double id = FaceDistance.Cosine(descriptor, main.Descriptor);
        double lmse = match == null ? NoLandmarks : Lmse(match.Landmarks, main.Landmarks);
        return new FaceScores(id, lmse, refFaces.Count, match != null);
    }

    /// <summary>Mean over the points of the squared Euclidean distance, in pixels².</summary>
    public static double Lmse(FaceLandmarks68 a, FaceLandmarks68 b)
    {
        double sum = 0;
        for (int i = 0; i < FaceLandmarks68.Count; i++)
        {
            double dx = a.Points[i].X - b.Points[i].X, dy = a.Points[i].Y - b.Points[i].Y;
            sum += dx * dx + dy * dy;
        }
        return sum / FaceLandmarks68.Count;
    }
}

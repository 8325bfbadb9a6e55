using PFStorer.Graph.Faces;
using PFStorer.Images;

namespace PFStorer.Training.Personalization;

/// <summary>
/// Do the reference photos show one person? (docs/identity-files.md, "Photos") The face-api descriptor of each photo's
/// best face, their mean (stored in the identity file), the photos where the detector found no face, and the outliers:
/// photos whose descriptor lies farther than face-api's same-person distance (0.6, Euclidean) from the mean of the
/// others. The tiny detector misses faces that fill the whole frame (tight crops): such photos are reported, not compared
/// (describing the unaligned crop as a whole was tried and lands 0.74 from the same person's other photos).
/// </summary>
public sealed record ReferenceFaces(float[]? MeanDescriptor, IReadOnlyList<string> WithoutFace, IReadOnlyList<(string Name, double Distance)> Outliers)
{
    public static ReferenceFaces Check(FaceAnalyzer analyzer, IReadOnlyList<(string Name, Image Image)> photos)
    {
        var found = new List<(string Name, float[] Descriptor)>();
        var without = new List<string>();
        foreach (var (name, image) in photos)
        {
            var face = FaceImage.From(image);
            var faces = analyzer.Analyze(face);
            if (faces.Count == 0) without.Add(name);
            else found.Add((name, faces[0].Descriptor));
        }
        var outliers = new List<(string, double)>();
        if (found.Count >= 2)
            foreach (var (name, descriptor) in found)
            {
                var others = FaceDistance.Mean(found.Where(f => f.Name != name).Select(f => f.Descriptor).ToArray());
                double d = FaceDistance.Euclidean(descriptor, others);
                if (d > FaceDistance.SameIdentityThreshold) outliers.Add((name, d));
            }
        return new(found.Count > 0 ? FaceDistance.Mean(found.Select(f => f.Descriptor).ToArray()) : null, without, outliers);
    }
}

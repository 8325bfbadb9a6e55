using PFStorer.Graph.Faces;
using PFStorer.Tests;
using Xunit;

namespace PFStorer.Graph.Tests.Faces;

/// <summary>Nearest-identity routing on fresh random descriptors placed at known distances from a face.</summary>
public sealed class FaceRoutingTests
{
    /// <summary><paramref name="face"/> moved <paramref name="distance"/> in a random direction.</summary>
    private static float[] At(float[] face, double distance, Random rng)
    {
        var dir = Reference.RandomArray(rng, face.Length);
        double norm = Math.Sqrt(dir.Sum(v => v * v));
        return face.Select((v, i) => (float)(v + distance * dir[i] / norm)).ToArray();
    }

    [Fact]
    public void TheNearestIdentityWithinTheThresholdIsChosenWhateverItsPlace()
    {
        var rng = Reference.NewRandom(out int seed);
        var face = Reference.RandomArray(rng, 128, 0.1).Select(v => (float)v).ToArray();
        float[] near = At(face, 0.3, rng), farther = At(face, 0.5, rng), beyond = At(face, 0.9, rng);

        var match = FaceRouting.Nearest(face, [farther, near, beyond]);
        Assert.True(match.Identity == 1, $"seed {seed}: chose {match.Identity}");
        Assert.Equal(0.3, match.Distance, 5);
        Assert.Equal(0, FaceRouting.Nearest(face, [near, farther]).Identity);
    }

    [Fact]
    public void BeyondTheThresholdNoOneIsChosenButTheNearestDistanceIsKept()
    {
        var rng = Reference.NewRandom(out int seed);
        var face = Reference.RandomArray(rng, 128, 0.1).Select(v => (float)v).ToArray();
        float[] a = At(face, 0.7, rng), b = At(face, 0.65, rng);

        var match = FaceRouting.Nearest(face, [a, b]);
        Assert.True(match.Identity == null, $"seed {seed}: chose {match.Identity}");
        Assert.Equal(0.65, match.Distance, 5);
        // The threshold itself still counts as the same person (≤), as face-api's FaceMatcher decides.
        Assert.Equal(1, FaceRouting.Nearest(face, [a, b], threshold: FaceDistance.Euclidean(face, b)).Identity);
        var none = FaceRouting.Nearest(face, []);
        Assert.Null(none.Identity);
        Assert.True(double.IsNaN(none.Distance));
    }
}

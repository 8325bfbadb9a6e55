namespace PFStorer.Graph.Faces;

/// <summary>
/// Who a face is among known people: <paramref name="Identity"/> is the index of the nearest known descriptor, or null
/// when even that one lies beyond the threshold (or none is known); <paramref name="Distance"/> is the Euclidean distance
/// to the nearest (NaN when none is known), kept also when the face goes unassigned so a user can see how far it was.
/// </summary>
public readonly record struct FaceMatch(int? Identity, double Distance);

/// <summary>Assigns faces to known people by their face-api descriptors (docs/faces.md, "Group photos").</summary>
public static class FaceRouting
{
    /// <summary>
    /// The known descriptor nearest to <paramref name="face"/> (the first of equals), assigned when its distance is at
    /// most <paramref name="threshold"/> (face-api's same-person distance by default). Each face is decided on its own:
    /// two faces may go to one person.
    /// </summary>
    public static FaceMatch Nearest(ReadOnlySpan<float> face, IReadOnlyList<float[]> known, double threshold = FaceDistance.SameIdentityThreshold)
    {
        int best = -1;
        double bestDistance = double.NaN;
        for (int i = 0; i < known.Count; i++)
        {
            double d = FaceDistance.Euclidean(face, known[i]);
            if (best < 0 || d < bestDistance) (best, bestDistance) = (i, d);
        }
        return new FaceMatch(best >= 0 && bestDistance <= threshold ? best : null, bestDistance);
    }
}

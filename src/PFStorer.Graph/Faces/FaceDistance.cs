namespace PFStorer.Graph.Faces;

/// <summary>Comparing face descriptors (128-D, from <see cref="FaceAnalyzer.Embed"/>).</summary>
public static class FaceDistance
{
    /// <summary>face-api's usual decision threshold: descriptors closer than this (Euclidean) are the same person.</summary>
    public const double SameIdentityThreshold = 0.6;

    public static double Euclidean(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Check(a, b);
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        return Math.Sqrt(s);
    }

    /// <summary>Cosine similarity (the paper's ID metric): 1 for the same direction.</summary>
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Check(a, b);
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    /// <summary>Element-wise mean of several descriptors (an identity's reference embedding).</summary>
    public static float[] Mean(IReadOnlyList<float[]> descriptors)
    {
        if (descriptors.Count == 0) throw new ArgumentException("no descriptors to average");
        var mean = new double[descriptors[0].Length];
        foreach (var d in descriptors)
        {
            Check(d, descriptors[0]);
            for (int i = 0; i < mean.Length; i++) mean[i] += d[i];
        }
        return mean.Select(v => (float)(v / descriptors.Count)).ToArray();
    }

    private static void Check(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length || a.Length == 0) throw new ArgumentException($"descriptors of lengths {a.Length} and {b.Length} cannot be compared");
    }
}

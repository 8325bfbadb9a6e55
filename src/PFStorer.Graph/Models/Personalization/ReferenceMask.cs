namespace PFStorer.Graph.Models;

/// <summary>One reference row's mask: the min-max normalised map, the chosen threshold and the kept keys (1 = kept).</summary>
public sealed record ReferenceMask(double[] Normalised, double Tau, float[] Keep)
{
    /// <summary>Otsu's candidates k/10, k = 0…9, as the doubles Python's k/10 gives.</summary>
    private static readonly double[] Candidates = Enumerable.Range(0, 10).Select(k => k / 10.0).ToArray();

    /// <summary>
    /// ViCo's mask of one reference map (docs/personalization.md, "Masks"): n = (a − min)/(max − min); for each τ, low = {n &lt; τ},
    /// high = {n ≥ τ}, g = (|low|/N · |high|/N)·(mean low − mean high)²; the first τ whose g is strictly above the running
    /// maximum (from 0) wins; τ = 0 gives an empty low set (NaN) and never wins. Keep = n ≥ τ, or n &gt; 0 when τ stays 0.
    /// </summary>
    public static ReferenceMask From(ReadOnlySpan<float> map)
    {
        int count = map.Length;
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float v in map) { min = MathF.Min(min, v); max = MathF.Max(max, v); }
        // In double: the thresholds sit as close as 1e-5 to some normalised values (docs/personalization.md).
        var n = new double[count];
        for (int i = 0; i < count; i++) n[i] = ((double)map[i] - min) / ((double)max - min);

        double tau = 0, best = 0;
        foreach (double t in Candidates)
        {
            double sumLow = 0, sumHigh = 0;
            int low = 0;
            foreach (double v in n)
                if (v < t) { low++; sumLow += v; } else sumHigh += v;
            int high = count - low;
            double g = (double)low / count * ((double)high / count) * Math.Pow(sumLow / low - sumHigh / high, 2);
            if (g > best) { best = g; tau = t; }   // NaN (an empty side) never compares greater
        }
        var keep = new float[count];
        for (int i = 0; i < count; i++) keep[i] = tau > 0 ? (n[i] >= tau ? 1f : 0f) : (n[i] > 0 ? 1f : 0f);
        return new ReferenceMask(n, tau, keep);
    }
}

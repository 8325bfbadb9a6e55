using PFStorer.Graph;

namespace PFStorer.Tests;

/// <summary>
/// Shared test machinery: fresh random inputs, normalised-error comparison, and central finite differences in float64.
/// Op tests write a straightforward float64 reference of the forward, compare the engine's f32 forward to it, and compare
/// the engine's backward to finite differences of that float64 reference (so the numeric gradient is exact to ~1e-9).
/// </summary>
public static class Reference
{
    /// <summary>A fresh seed per call so every run draws new inputs; printed on failure through the message.</summary>
    public static Random NewRandom(out int seed)
    {
        seed = Random.Shared.Next();
        return new Random(seed);
    }

    public static double[] RandomArray(Random rng, int n, double scale = 1.0)
    {
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = (rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    public static float[] ToFloat(double[] a) => Array.ConvertAll(a, x => (float)x);
    public static double[] ToDouble(float[] a) => Array.ConvertAll(a, x => (double)x);

    public static Tensor Tensor(double[] data, params int[] shape) => PFStorer.Graph.Tensor.FromArray(ToFloat(data), shape);

    /// <summary>‖a − b‖ / max(‖b‖, tiny): ggml's test-backend-ops style normalised error. NaN anywhere gives +∞.</summary>
    public static double NormalisedError(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected)
    {
        if (actual.Length != expected.Length) throw new ArgumentException($"length {actual.Length} vs {expected.Length}");
        double num = 0, den = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            if (!float.IsFinite(actual[i]) || !double.IsFinite(expected[i])) return double.PositiveInfinity;
            double d = actual[i] - expected[i];
            num += d * d;
            den += expected[i] * expected[i];
        }
        return Math.Sqrt(num) / Math.Max(Math.Sqrt(den), 1e-30);
    }

    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double tolerance, string what)
    {
        double err = NormalisedError(actual, expected);
        Xunit.Assert.True(err <= tolerance, $"{what}: normalised error {err:E3} > {tolerance:E1}");
    }

    /// <summary>
    /// Central differences of a scalar function f(inputs) = Σ reference(inputs) · weights, with respect to input
    /// <paramref name="which"/>. The caller's reference must be float64 throughout.
    /// </summary>
    public static double[] NumericGradient(Func<double[][], double[]> reference, double[][] inputs, double[] outputWeights, int which, double h = 1e-5)
    {
        var x = inputs[which];
        var grad = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double keep = x[i];
            x[i] = keep + h;
            double plus = Dot(reference(inputs), outputWeights);
            x[i] = keep - h;
            double minus = Dot(reference(inputs), outputWeights);
            x[i] = keep;
            grad[i] = (plus - minus) / (2 * h);
        }
        return grad;
    }

    public static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }
}

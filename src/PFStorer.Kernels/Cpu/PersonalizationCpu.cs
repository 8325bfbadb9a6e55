using System.Numerics.Tensors;

namespace PFStorer.Kernels.Cpu;

/// <summary>
/// The personalization op family (docs/personalization.md): the γ-gated residual y = f + γ ⊙ (p + b) that adds a
/// personalization block's output to its host's tokens, and the attention-map loss L_Pers. Rows of C channels.
/// </summary>
public static class PersonalizationCpu
{
    /// <summary>y = f + γ ⊙ (p + bias); bias may be empty. With γ = 0 every y equals f exactly (f + 0 = f).</summary>
    public static void Residual(ReadOnlySpan<float> f, ReadOnlySpan<float> p, ReadOnlySpan<float> bias, ReadOnlySpan<float> gamma, Span<float> y, int channels)
    {
        CheckRows(f.Length, channels, "personalize");
        ActivationCpu.CheckSame(f.Length, p.Length, "personalize");
        ActivationCpu.CheckSame(f.Length, y.Length, "personalize");
        ActivationCpu.CheckSame(channels, gamma.Length, "personalize γ");
        if (!bias.IsEmpty) ActivationCpu.CheckSame(channels, bias.Length, "personalize bias");
        Span<float> biased = channels <= 4096 ? stackalloc float[channels] : new float[channels];
        for (int r = 0; r < f.Length / channels; r++)
        {
            var pr = p.Slice(r * channels, channels);
            if (bias.IsEmpty) pr.CopyTo(biased);
            else TensorPrimitives.Add(pr, bias, biased);
            TensorPrimitives.MultiplyAdd(biased, gamma, f.Slice(r * channels, channels), y.Slice(r * channels, channels));
        }
    }

    /// <summary>dp = γ ⊙ dy and dγ = Σ_rows dy ⊙ (p + bias); empty outputs are skipped (df = dy needs no work).</summary>
    public static void ResidualBackward(ReadOnlySpan<float> p, ReadOnlySpan<float> bias, ReadOnlySpan<float> gamma, ReadOnlySpan<float> dy,
        Span<float> dp, Span<float> dgamma, int channels)
    {
        CheckRows(p.Length, channels, "personalize backward");
        ActivationCpu.CheckSame(p.Length, dy.Length, "personalize backward");
        if (!dp.IsEmpty)
        {
            ActivationCpu.CheckSame(p.Length, dp.Length, "personalize backward dp");
            for (int r = 0; r < p.Length / channels; r++)
                TensorPrimitives.Multiply(dy.Slice(r * channels, channels), gamma, dp.Slice(r * channels, channels));
        }
        if (dgamma.IsEmpty) return;
        ActivationCpu.CheckSame(channels, dgamma.Length, "personalize backward dγ");
        // Accumulate in double: dγ sums over every token of the batch (up to 2·4096 rows at 512²).
        var acc = new double[channels];
        for (int r = 0; r < p.Length / channels; r++)
            for (int c = 0; c < channels; c++)
                acc[c] += (double)dy[r * channels + c] * (p[r * channels + c] + (bias.IsEmpty ? 0f : bias[c]));
        for (int c = 0; c < channels; c++) dgamma[c] = (float)acc[c];
    }

    /// <summary>
    /// L_Pers of one placement: mean over rows and positions of (a/max a − e/max e)², max per row (a = the map of the
    /// placeholder token, e = the detached map of the end-of-text token), over [rows, n].
    /// </summary>
    public static float MapLoss(ReadOnlySpan<float> a, ReadOnlySpan<float> e, int n)
    {
        CheckRows(a.Length, n, "attention-map loss");
        ActivationCpu.CheckSame(a.Length, e.Length, "attention-map loss");
        double sum = 0;
        for (int r = 0; r < a.Length / n; r++)
        {
            var ar = a.Slice(r * n, n);
            var er = e.Slice(r * n, n);
            double ma = TensorPrimitives.Max(ar), me = TensorPrimitives.Max(er);
            for (int i = 0; i < n; i++)
            {
                double d = ar[i] / ma - er[i] / me;
                sum += d * d;
            }
        }
        return (float)(sum / a.Length);
    }

    /// <summary>
    /// da of <see cref="MapLoss"/> scaled by dLoss. With m = max a at its first index j and d = a/m − e/max e:
    /// ∂L/∂aᵢ = 2/(rows·n) · (dᵢ/m − [i = j]·Σₖ dₖaₖ/m²).
    /// </summary>
    public static void MapLossBackward(ReadOnlySpan<float> a, ReadOnlySpan<float> e, float dLoss, Span<float> da, int n)
    {
        CheckRows(a.Length, n, "attention-map loss backward");
        ActivationCpu.CheckSame(a.Length, e.Length, "attention-map loss backward");
        ActivationCpu.CheckSame(a.Length, da.Length, "attention-map loss backward");
        double scale = 2.0 * dLoss / a.Length;
        for (int r = 0; r < a.Length / n; r++)
        {
            var ar = a.Slice(r * n, n);
            var er = e.Slice(r * n, n);
            int j = TensorPrimitives.IndexOfMax(ar);
            double m = ar[j], me = TensorPrimitives.Max(er), cross = 0;
            for (int i = 0; i < n; i++)
            {
                double d = ar[i] / m - er[i] / me;
                cross += d * ar[i];
                da[r * n + i] = (float)(scale * d / m);
            }
            da[r * n + j] = (float)(da[r * n + j] - scale * cross / (m * m));
        }
    }

    private static void CheckRows(int length, int width, string op)
    {
        if (width <= 0 || length % width != 0) throw new ArgumentException($"{op}: {length} elements do not form rows of {width}");
    }
}

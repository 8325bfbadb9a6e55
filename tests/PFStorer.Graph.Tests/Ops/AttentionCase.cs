using PFStorer.Graph.Backends;
using Xunit;

namespace PFStorer.Graph.Tests.Ops;

/// <summary>
/// One randomly drawn attention problem and its float64 reference: per (b, h, i), logits s_j = scale·q·k over the visible
/// keys (j ≤ i when causal), masked keys set to −float.MaxValue as ViCo's masked_fill does, softmax, o = P·v,
/// lse = log Σ exp(s), probs[b,i,n] = mean over heads of P[key_n].
/// </summary>
internal sealed record AttentionCase(int Batch, int QueryLength, int KeyLength, int Heads, int HeadDim, int ValueHeadDim, bool Causal,
    float[]? Mask, int[]? ProbKeys, int Seed)
{
    public float Scale => 1f / MathF.Sqrt(HeadDim);
    public int ProbKeyCount => ProbKeys == null ? 0 : ProbKeys.Length / Batch;

    public override string ToString() =>
        $"B{Batch} Tq{QueryLength} Tk{KeyLength} H{Heads} D{HeadDim} Dv{ValueHeadDim}{(Causal ? " causal" : "")}" +
        $"{(Mask != null ? " masked" : "")} probKeys[{string.Join(',', ProbKeys ?? [])}] (seed {Seed})";

    public static AttentionCase Draw(Random rng, int seed, int batch, int tq, int tk, int heads, int d, int dv, bool causal,
        KeyMaskKind maskKind, int probKeyCount)
    {
        float[]? mask = null;
        if (maskKind != KeyMaskKind.None)
        {
            mask = new float[batch * tk];
            bool fullyMasked = maskKind == KeyMaskKind.WithFullyMaskedRows;
            int cleared = fullyMasked && causal ? Math.Min(3, tk) : 0;
            // At least two kept keys past the cleared ones: with one, every row's softmax is constant and dq is exactly
            // zero, which a normalised error cannot compare against f32 round-off.
            for (int b = 0; b < batch; b++)
                while (mask.AsSpan(b * tk + cleared, tk - cleared).Count(1f) < Math.Min(2, tk - cleared))
                    for (int j = 0; j < tk; j++) mask[b * tk + j] = rng.NextDouble() < 0.3 ? 0f : 1f;
            for (int b = 0; b < batch; b++) Array.Clear(mask, b * tk, cleared);
            if (fullyMasked && !causal) Array.Clear(mask, (batch - 1) * tk, tk);
        }
        int[]? keys = null;
        if (probKeyCount > 0)
        {
            // Distinct keys within an entry, drawn independently per entry (so they differ across the batch), kept keys
            // first: ViCo's A_* and A_EOT are text tokens, which are never masked.
            keys = new int[batch * probKeyCount];
            for (int b = 0; b < batch; b++)
            {
                var perm = Enumerable.Range(0, tk).ToArray();
                rng.Shuffle(perm);
                var ordered = perm.OrderBy(j => mask == null || mask[b * tk + j] != 0 ? 0 : 1).ToArray();
                Array.Copy(ordered, 0, keys, b * probKeyCount, probKeyCount);
            }
        }
        return new AttentionCase(batch, tq, tk, heads, d, dv, causal, mask, keys, seed);
    }

    /// <summary>q and k span ±2 so the softmax is far from uniform; v spans ±1.</summary>
    public (double[] Q, double[] K, double[] V) DrawInputs(Random rng) => (
        Reference.RandomArray(rng, Batch * QueryLength * Heads * HeadDim, 2),
        Reference.RandomArray(rng, Batch * KeyLength * Heads * HeadDim, 2),
        Reference.RandomArray(rng, Batch * KeyLength * Heads * ValueHeadDim));

    public Tensor? MaskTensor() => Mask == null ? null : Tensor.FromArray(Mask, Batch, KeyLength);

    public AttentionArgs Args(Tensor? mask) => new(Heads, Scale, mask, Causal, ProbKeys);

    private int Visible(int i) => Causal ? Math.Min(i + 1, KeyLength) : KeyLength;

    private bool FullyMasked(int b, int i)
    {
        if (Mask == null) return false;
        for (int j = 0; j < Visible(i); j++) if (Mask[b * KeyLength + j] != 0) return false;
        return true;
    }

    public (double[] O, double[] Lse, double[] Probs) Expected(double[] q, double[] k, double[] v)
    {
        int d = HeadDim, dv = ValueHeadDim, wq = Heads * d, wv = Heads * dv, nk = ProbKeyCount;
        var o = new double[Batch * QueryLength * wv];
        var lse = new double[Batch * Heads * QueryLength];
        var probs = new double[Batch * QueryLength * nk];
        var s = new double[KeyLength];
        for (int b = 0; b < Batch; b++)
            for (int h = 0; h < Heads; h++)
                for (int i = 0; i < QueryLength; i++)
                {
                    int visible = Visible(i);
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < visible; j++)
                    {
                        double dot = 0;
                        for (int c = 0; c < d; c++) dot += q[(b * QueryLength + i) * wq + h * d + c] * k[(b * KeyLength + j) * wq + h * d + c];
                        s[j] = Mask != null && Mask[b * KeyLength + j] == 0 ? -float.MaxValue : (double)Scale * dot;
                        max = Math.Max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < visible; j++) sum += Math.Exp(s[j] - max);
                    lse[(b * Heads + h) * QueryLength + i] = max + Math.Log(sum);
                    for (int j = 0; j < visible; j++)
                    {
                        double p = Math.Exp(s[j] - max) / sum;
                        for (int c = 0; c < dv; c++) o[(b * QueryLength + i) * wv + h * dv + c] += p * v[(b * KeyLength + j) * wv + h * dv + c];
                    }
                    for (int n = 0; n < nk; n++)
                    {
                        int key = ProbKeys![b * nk + n];
                        if (key < visible) probs[(b * QueryLength + i) * nk + n] += Math.Exp(s[key] - max) / sum / Heads;
                    }
                }
        return (o, lse, probs);
    }

    /// <summary>
    /// lse of a fully masked row is −max + log|V_i|, which is −float.MaxValue in f32: checked exactly, apart from the
    /// normalised error of the others (whose norm it would otherwise swamp).
    /// </summary>
    public void AssertLse(float[] actual, double[] expected)
    {
        var keptActual = new List<float>();
        var keptExpected = new List<double>();
        for (int b = 0; b < Batch; b++)
            for (int h = 0; h < Heads; h++)
                for (int i = 0; i < QueryLength; i++)
                {
                    int at = (b * Heads + h) * QueryLength + i;
                    if (FullyMasked(b, i)) Assert.True(actual[at] == (float)expected[at], $"lse of fully masked row {i} is {actual[at]} in {this}");
                    else { keptActual.Add(actual[at]); keptExpected.Add(expected[at]); }
                }
        Reference.AssertClose(keptActual.ToArray(), keptExpected.ToArray(), OpCheck.ForwardTolerance, $"lse of {this}");
    }

    /// <summary>Compares engine gradients with central differences of Σ oWeights·o + Σ pWeights·probs of the float64 reference.</summary>
    public void AssertGradients(double[] q, double[] k, double[] v, double[] oWeights, double[] pWeights,
        float[] dq, float[] dk, float[] dv, string what)
    {
        double[] LossTerms(double[][] x)
        {
            var (o, _, probs) = Expected(x[0], x[1], x[2]);
            return [.. o, .. probs];
        }
        double[] weights = [.. oWeights, .. pWeights];
        double[][] inputs = [q, k, v];
        (string Name, float[] Actual)[] grads = [("dq", dq), ("dk", dk), ("dv", dv)];
        for (int which = 0; which < 3; which++)
        {
            var numeric = Reference.NumericGradient(LossTerms, inputs, weights, which);
            Reference.AssertClose(grads[which].Actual, numeric, OpCheck.GradTolerance, $"{grads[which].Name} ({what}) of {this}");
        }
    }
}

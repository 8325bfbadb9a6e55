using PFStorer.Graph.Tests.Ops;

namespace PFStorer.Graph.Tests.Models;

/// <summary>
/// PersonalizationBlock.Apply written out in float64 (docs/personalization.md, "The block and γ"): x̂ = x + γ ⊙ δ with
/// δ = b1 + b2 + b3, b1 = attn1(LN1(x)), b2 = attn2(LN2(x + b1), r, mask), b3 = ff(LN3(x + b1 + b2)); 8 heads,
/// LayerNorm eps 1e-5, masked keys take the logit −float.MaxValue, GEGLU with exact-erf GELU. Parameters are addressed
/// by the block's own paths ("attn2.to_k.weight", "gamma", …).
/// </summary>
internal sealed class PersonalizationBlockReference(int batch, int tokens, int refTokens, int dim)
{
    public const int Heads = 8;

    public double[] Apply(IReadOnlyDictionary<string, double[]> p, double[] x, double[] r, float[] mask)
    {
        int rows = batch * tokens;
        var b1 = Attention(p, "attn1", LayerNorm(x, p["norm1.weight"], p["norm1.bias"]), null, tokens, null);
        var x1 = Add(x, b1);
        var b2 = Attention(p, "attn2", LayerNorm(x1, p["norm2.weight"], p["norm2.bias"]), r, refTokens, mask);
        var x2 = Add(x1, b2);
        var b3 = FeedForward(p, LayerNorm(x2, p["norm3.weight"], p["norm3.bias"]), rows);
        var gamma = p["gamma"];
        var y = new double[x.Length];
        for (int i = 0; i < y.Length; i++) y[i] = x[i] + gamma[i % dim] * (b1[i] + b2[i] + b3[i]);
        return y;
    }

    private static double[] Add(double[] a, double[] b) => a.Select((v, i) => v + b[i]).ToArray();

    private double[] LayerNorm(double[] x, double[] w, double[] b)
    {
        var y = new double[x.Length];
        for (int row = 0; row < x.Length / dim; row++)
        {
            var span = x.AsSpan(row * dim, dim);
            double mean = 0, variance = 0;
            foreach (var v in span) mean += v;
            mean /= dim;
            foreach (var v in span) variance += (v - mean) * (v - mean);
            double rstd = 1 / Math.Sqrt(variance / dim + 1e-5);
            for (int c = 0; c < dim; c++) y[row * dim + c] = (span[c] - mean) * rstd * w[c] + b[c];
        }
        return y;
    }

    /// <summary>x [rows, in] · wᵀ [out, in] (+ b).</summary>
    private static double[] Linear(double[] x, double[] w, double[]? b, int inWidth)
    {
        int outWidth = w.Length / inWidth, rows = x.Length / inWidth;
        var y = new double[rows * outWidth];
        for (int row = 0; row < rows; row++)
            for (int o = 0; o < outWidth; o++)
            {
                double s = b?[o] ?? 0;
                for (int i = 0; i < inWidth; i++) s += x[row * inWidth + i] * w[o * inWidth + i];
                y[row * outWidth + o] = s;
            }
        return y;
    }

    // Queries from h [B,T,d]; keys/values from context [B,Tk,d] (h itself when null); mask [B,Tk] (0 = masked).
    private double[] Attention(IReadOnlyDictionary<string, double[]> p, string name, double[] h, double[]? context, int keyLength, float[]? mask)
    {
        var ctx = context ?? h;
        var q = Linear(h, p[$"{name}.to_q.weight"], null, dim);
        var k = Linear(ctx, p[$"{name}.to_k.weight"], null, dim);
        var v = Linear(ctx, p[$"{name}.to_v.weight"], null, dim);
        int dh = dim / Heads;
        double scale = 1 / Math.Sqrt(dh);
        var o = new double[batch * tokens * dim];
        var s = new double[keyLength];
        for (int b = 0; b < batch; b++)
            for (int head = 0; head < Heads; head++)
                for (int i = 0; i < tokens; i++)
                {
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < keyLength; j++)
                    {
                        double dot = 0;
                        for (int e = 0; e < dh; e++) dot += q[(b * tokens + i) * dim + head * dh + e] * k[(b * keyLength + j) * dim + head * dh + e];
                        s[j] = mask != null && mask[b * keyLength + j] == 0 ? -float.MaxValue : dot * scale;
                        max = Math.Max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < keyLength; j++) sum += s[j] = Math.Exp(s[j] - max);
                    for (int e = 0; e < dh; e++)
                    {
                        double acc = 0;
                        for (int j = 0; j < keyLength; j++) acc += s[j] * v[(b * keyLength + j) * dim + head * dh + e];
                        o[(b * tokens + i) * dim + head * dh + e] = acc / sum;
                    }
                }
        return Linear(o, p[$"{name}.to_out.0.weight"], p[$"{name}.to_out.0.bias"], dim);
    }

    private double[] FeedForward(IReadOnlyDictionary<string, double[]> p, double[] h, int rows)
    {
        var projected = Linear(h, p["ff.net.0.proj.weight"], p["ff.net.0.proj.bias"], dim);
        int hidden = 4 * dim;
        var gated = new double[rows * hidden];
        for (int row = 0; row < rows; row++)
            for (int c = 0; c < hidden; c++)
            {
                double value = projected[row * 2 * hidden + c], gate = projected[row * 2 * hidden + hidden + c];
                gated[row * hidden + c] = value * 0.5 * gate * (1 + Erf.Of(gate / Math.Sqrt(2)));
            }
        return Linear(gated, p["ff.net.2.weight"], p["ff.net.2.bias"], hidden);
    }
}

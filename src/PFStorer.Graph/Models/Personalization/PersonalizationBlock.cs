using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// PFStorer's personalization block (docs/personalization.md): ViCo's image-attention block — pre-LN self-attention over
/// the generated stream's tokens x, pre-LN cross-attention from them to the reference stream's raw tokens r under the
/// reference key mask, pre-LN GEGLU feed-forward, 8 heads — whose summed residual branches δ are added by the host as
/// x̂ = x + γ ⊙ δ. γ is per channel and starts at 0, so a fresh block leaves the base model unchanged bit for bit.
/// Every parameter is trainable; the block is registered below its host as "personalization".
/// </summary>
public sealed class PersonalizationBlock : Module
{
    public const int Heads = 8;

    /// <summary>The host SpatialTransformer's path, e.g. "output_blocks.4.1".</summary>
    public string Placement { get; }
    public int Dim { get; }
    public LayerNorm Norm1 { get; }
    public CrossAttention Attn1 { get; }
    public LayerNorm Norm2 { get; }
    public CrossAttention Attn2 { get; }
    public LayerNorm Norm3 { get; }
    public FeedForward Ff { get; }
    public Parameter Gamma { get; }

    public PersonalizationBlock(string placement, int dim)
    {
        if (dim % Heads != 0) throw new ArgumentException($"personalization block at {placement}: width {dim} does not split into {Heads} heads");
        Placement = placement;
        Dim = dim;
        Attn1 = Child("attn1", new CrossAttention(dim, dim, Heads, dim / Heads));
        Ff = Child("ff", new FeedForward(dim));
        Attn2 = Child("attn2", new CrossAttention(dim, dim, Heads, dim / Heads));
        Norm1 = Child("norm1", new LayerNorm(dim));
        Norm2 = Child("norm2", new LayerNorm(dim));
        Norm3 = Child("norm3", new LayerNorm(dim));
        Gamma = TrainableParam("gamma", dim);
        MakeTrainable();
    }

    /// <summary>
    /// The block inside its host, on the whole two-stream batch: tokens [B,T,d] after the host's BasicTransformerBlocks and
    /// maps [B,T,2] (the host attn2's placeholder and end-of-text maps). Builds each reference row's mask, adds this
    /// placement's L_Pers to the pass when asked, and returns the tokens with x̂ = x + λatt·γ ⊙ δ on the generated rows
    /// (the reference rows pass unchanged). A replaying pass supplies the reference tokens and masks instead of the batch.
    /// </summary>
    public Tensor Forward(Tensor tokens, Tensor maps, PersonalizationPass pass)
    {
        int g = pass.GeneratedRows, rows = tokens.Dim(0), t = tokens.Dim(1);
        var (distinct, masks, read) = pass.Replay != null ? Replayed(pass) : ReadReferences(tokens, maps, pass);
        using (distinct)
        {
            var keep = pass.ReferenceSlots.SelectMany(s => masks[s].Keep).ToArray();
            using var keyMaskHost = Tensor.FromArray(keep, g, t);
            using var keyMask = keyMaskHost.To(tokens.Device);
            using var generated = F.Slice(tokens, 0, 0, g);
            using var reference = GatherRows(distinct, pass.ReferenceSlots);
            if (pass.KeepMaps) pass.Keep(Placement, new PlacementMaps(read!.Value.Placeholder, read.Value.EndOfText, masks, generated.Share(), reference.Share(), keyMask.Share()));
            var personalized = Apply(generated, reference, keyMask, pass.LambdaAtt);
            if (rows == g) return personalized;
            using (personalized)
            using (var rest = F.Slice(tokens, 0, g, rows - g))
                return F.Concat([personalized, rest], 0);
        }
    }

    // The distinct reference rows' tokens [n,T,d] and masks from the batch (with their raw maps), adding L_Pers and
    // recording them when the pass asks.
    private (Tensor Tokens, ReferenceMask[] Masks, (float[][] Placeholder, float[][] EndOfText)? Maps) ReadReferences(Tensor tokens, Tensor maps, PersonalizationPass pass)
    {
        var refRows = pass.DistinctReferenceRows;
        using var placeholderMaps = GatherMap(maps, refRows, 0);
        var placeholder = Rows(placeholderMaps);
        using var endOfTextMaps = GatherMap(maps, refRows, 1);
        var endOfText = Rows(endOfTextMaps);
        var masks = placeholder.Select(m => ReferenceMask.From(m)).ToArray();
        if (pass.ComputeLoss)
        {
            // A_EOT is a stop-gradient: a fresh tensor with no autograd link.
            using var eot = Tensor.FromArray(endOfText.SelectMany(r => r).ToArray(), refRows.Length, tokens.Dim(1));
            using var eotOnDevice = eot.To(tokens.Device);
            pass.AddLoss(F.AttentionMapLoss(placeholderMaps, eotOnDevice));
        }
        var distinct = GatherRows(tokens, refRows);
        pass.Record?.Add(Placement, distinct, masks);
        return (distinct, masks, (placeholder, endOfText));
    }

    // The recorded reference tokens and masks of this placement; a replay has no maps, so nothing that needs them may run.
    private (Tensor Tokens, ReferenceMask[] Masks, (float[][] Placeholder, float[][] EndOfText)? Maps) Replayed(PersonalizationPass pass)
    {
        if (pass.ComputeLoss || pass.KeepMaps)
            throw new InvalidOperationException($"personalization block at {Placement}: a replayed reference stream has no attention maps for L_Pers or inspection");
        var (tokens, masks) = pass.Replay!.Of(Placement);
        return (tokens, masks, null);
    }

    // Batch rows of tokens [B,T,C] in the given order, on the tape.
    private static Tensor GatherRows(Tensor x, IReadOnlyList<int> rows)
    {
        var parts = rows.Select(r => F.Slice(x, 0, r, 1)).ToArray();
        try { return F.Concat(parts, 0); }
        finally { foreach (var p in parts) p.Dispose(); }
    }

    // One map of the given rows as [n,T] from maps [B,T,2], on the tape (maps go channels-first so each slice is contiguous).
    private static Tensor GatherMap(Tensor maps, IReadOnlyList<int> rows, int which)
    {
        using var channelsFirst = F.Permute(maps, 0, 2, 1);
        using var map = F.Slice(channelsFirst, 1, which, 1);
        using var gathered = GatherRows(map, rows);
        return F.Reshape(gathered, rows.Count, maps.Dim(1));
    }

    private static float[][] Rows(Tensor m)
    {
        var all = m.ToFloatArray();
        int n = m.Dim(1);
        return Enumerable.Range(0, m.Dim(0)).Select(r => all.AsSpan(r * n, n).ToArray()).ToArray();
    }

    /// <summary>δ = (b1 + b2) + b3 for tokens x [B,T,d], reference tokens r [B,Tr,d] and key mask [B,Tr] (0 = masked).</summary>
    public Tensor Delta(Tensor x, Tensor r, Tensor keyMask)
    {
        using var withoutBias = BranchesWithoutLastBias(x, r, keyMask);
        return F.Add(withoutBias, Ff.Out.Bias!.Tensor);
    }

    /// <summary>x̂ = x + (λatt·γ) ⊙ δ through the fused γ epilogue (λatt scales γ at inference; 1 in training).</summary>
    public Tensor Apply(Tensor x, Tensor r, Tensor keyMask, float lambdaAtt = 1f)
    {
        using var p = BranchesWithoutLastBias(x, r, keyMask);
        using var scaled = lambdaAtt == 1f ? null : F.Scale(Gamma.Tensor, lambdaAtt);
        return F.PersonalizeResidual(x, p, Ff.Out.Bias!.Tensor, scaled ?? Gamma.Tensor);
    }

    // δ minus the bias of ff.net.2: the γ epilogue adds that bias, so the last GEMM's output feeds it directly.
    private Tensor BranchesWithoutLastBias(Tensor x, Tensor r, Tensor keyMask)
    {
        using var n1 = Norm1.Forward(x);
        using var b1 = Attn1.Forward(n1);
        using var x1 = F.Add(x, b1);
        using var n2 = Norm2.Forward(x1);
        using var b2 = Attn2.Forward(n2, r, keyMask);
        using var x2 = F.Add(x1, b2);
        using var n3 = Norm3.Forward(x2);
        using var projected = Ff.Proj.Forward(n3);
        using var gated = F.Geglu(projected);
        using var b3 = F.Linear(gated, Ff.Out.Weight.Tensor);
        using var b12 = F.Add(b1, b2);
        return F.Add(b12, b3);
    }

    /// <summary>
    /// PyTorch's default initialisation (docs/personalization.md): Linear weights and biases U(±1/√fan_in), LayerNorm 1 and 0,
    /// and γ = 0.
    /// </summary>
    public void Initialise(Random rng, Device device)
    {
        foreach (var (path, p) in NamedParameters())
        {
            var shape = p.ShapeArray();
            var values = new float[p.Numel];
            if (path.StartsWith("norm") && path.EndsWith(".weight")) Array.Fill(values, 1f);
            else if (path != "gamma" && !path.StartsWith("norm"))
            {
                double bound = 1.0 / Math.Sqrt(LinearFanIn(path));
                for (int i = 0; i < values.Length; i++) values[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
            }
            using var host = Tensor.FromArray(values, shape);
            p.Assign(host.To(device));
        }
    }

    // fan_in of a Linear weight or bias: the weight's input width (ff.net.2 reads the 4d GEGLU output).
    private int LinearFanIn(string path) => path.StartsWith("ff.net.2") ? 4 * Dim : Dim;
}

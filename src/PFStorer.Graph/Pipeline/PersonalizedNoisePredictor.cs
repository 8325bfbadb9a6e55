using PFStorer.Graph.Autograd;
using PFStorer.Graph.Models;
using PFStorer.Graph.Sampling;
using PFStorer.Kernels;

namespace PFStorer.Graph.Pipeline;

/// <summary>
/// ε_θ of PFStorer at inference (docs/personalization.md, "Inference"): the sampler's rows (one block of rows per CFG
/// branch) run in one UNet batch with one reference-stream row per branch — the stored reference latent with that branch's
/// context and its own time-aware-encoder features at t — which the attached personalization blocks read.
/// <paramref name="branchKeys"/> gives, per branch in the sampler's order, the placeholder (or end-of-text) and end-of-text
/// positions of its prompt. λatt scales γ. <paramref name="inspect"/>, when given, sees each step's pass with its maps and masks.
/// </summary>
public sealed class PersonalizedNoisePredictor(LatentDiffusionSRTextWT model, Tensor referenceLatent,
    IReadOnlyList<(int Placeholder, int EndOfText)> branchKeys, float lambdaAtt = 1f, Action<PersonalizationPass>? inspect = null) : INoisePredictor
{
    public void PredictNoise(Tensor x, Tensor lqLatent, Tensor context, long timestep, Tensor eps)
    {
        int rows = x.Dim(0), branches = branchKeys.Count;
        if (rows % branches != 0) throw new ArgumentException($"{rows} sampler rows do not split into {branches} guidance branches");
        if (referenceLatent.Dim(2) != x.Dim(2) || referenceLatent.Dim(3) != x.Dim(3))
            throw new ArgumentException($"the reference latent {referenceLatent.ShapeString} must have the window's size {x.ShapeString}");
        int perBranch = rows / branches, total = rows + branches;
        // The adapter's parameters are trainable; inference must not record a tape.
        using var noGrad = GradMode.NoGrad();
        var references = Enumerable.Repeat(referenceLatent, branches).ToArray();
        using var xAll = F.Concat([x, .. references], 0);
        using var conditionAll = F.Concat([lqLatent, .. references], 0);
        var branchContexts = Enumerable.Range(0, branches).Select(k => F.Slice(context, 0, k * perBranch, 1)).ToArray();
        Tensor contextAll;
        try { contextAll = F.Concat([context, .. branchContexts], 0); }
        finally { foreach (var c in branchContexts) c.Dispose(); }
        using (contextAll)
        {
            var t = new long[total];
            Array.Fill(t, timestep);
            using var ts = Tensor.FromSpan<long>(t, DType.I64, [total], x.Device);
            var keys = new int[2 * total];
            for (int r = 0; r < total; r++)
                (keys[2 * r], keys[2 * r + 1]) = branchKeys[r < rows ? r / perBranch : r - rows];
            using var pass = new PersonalizationPass(rows, Enumerable.Range(0, rows).Select(r => rows + r / perBranch).ToArray(), keys) { LambdaAtt = lambdaAtt, KeepMaps = inspect != null };
            using var structCond = model.StructCondStageModel.Forward(conditionAll, ts);
            using var output = model.DiffusionModel.Forward(xAll, ts, contextAll, structCond, pass);
            using var generated = output.Slice(0, 0, rows);
            x.Backend.Copy(generated, eps);
            inspect?.Invoke(pass);
        }
    }
}

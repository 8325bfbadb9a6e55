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
/// With a <paramref name="cache"/> the first call at a timestep records what the blocks read from the reference rows and
/// later calls at that timestep replay it, running the sampler's rows alone (docs/identity-files.md, "Reference-stream
/// cache"); inspection needs the reference rows' maps, so it always runs both streams.
/// </summary>
public sealed class PersonalizedNoisePredictor(LatentDiffusionSRTextWT model, Tensor referenceLatent,
    IReadOnlyList<(int Placeholder, int EndOfText)> branchKeys, float lambdaAtt = 1f, Action<PersonalizationPass>? inspect = null,
    ReferenceStreamCache? cache = null) : INoisePredictor
{
    public void PredictNoise(Tensor x, Tensor lqLatent, Tensor context, long timestep, Tensor eps)
    {
        int rows = x.Dim(0), branches = branchKeys.Count;
        if (rows % branches != 0) throw new ArgumentException($"{rows} sampler rows do not split into {branches} guidance branches");
        if (referenceLatent.Dim(2) != x.Dim(2) || referenceLatent.Dim(3) != x.Dim(3))
            throw new ArgumentException($"the reference latent {referenceLatent.ShapeString} must have the window's size {x.ShapeString}");
        // The adapter's parameters are trainable; inference must not record a tape.
        using var noGrad = GradMode.NoGrad();
        var useCache = inspect == null ? cache : null;
        if (useCache?.Find(timestep) is { } replay)
        {
            Run(x, lqLatent, context, timestep, eps, replay, null);
            return;
        }
        var record = useCache?.StartRecording();
        try { Run(x, lqLatent, context, timestep, eps, null, record); }
        catch { record?.Dispose(); throw; }
        if (record != null) useCache!.Keep(timestep, record);
    }

    // One UNet call: the sampler's rows followed by one reference row per branch, or the sampler's rows alone when replaying.
    private void Run(Tensor x, Tensor lqLatent, Tensor context, long timestep, Tensor eps, ReferenceStream? replay, ReferenceStream? record)
    {
        int rows = x.Dim(0), branches = branchKeys.Count, perBranch = rows / branches;
        int total = replay == null ? rows + branches : rows;
        var references = Enumerable.Repeat(referenceLatent, total - rows).ToArray();
        using var xAll = replay == null ? F.Concat([x, .. references], 0) : x.Share();
        using var conditionAll = replay == null ? F.Concat([lqLatent, .. references], 0) : lqLatent.Share();
        using var contextAll = replay == null ? WithBranchContexts(context, branches, perBranch) : context.Share();
        var t = new long[total];
        Array.Fill(t, timestep);
        using var ts = Tensor.FromSpan<long>(t, DType.I64, [total], x.Device);
        var keys = new int[2 * total];
        for (int r = 0; r < total; r++)
            (keys[2 * r], keys[2 * r + 1]) = branchKeys[r < rows ? r / perBranch : r - rows];
        var branchOfRow = Enumerable.Range(0, rows).Select(r => r / perBranch).ToArray();
        using var pass = replay != null
            ? new PersonalizationPass(replay, branchOfRow, keys) { LambdaAtt = lambdaAtt }
            : new PersonalizationPass(rows, branchOfRow.Select(b => rows + b).ToArray(), keys) { LambdaAtt = lambdaAtt, KeepMaps = inspect != null, Record = record };
        using var structCond = model.StructCondStageModel.Forward(conditionAll, ts);
        using var output = model.DiffusionModel.Forward(xAll, ts, contextAll, structCond, pass);
        using var generated = output.Slice(0, 0, rows);
        x.Backend.Copy(generated, eps);
        inspect?.Invoke(pass);
    }

    // The sampler's contexts followed by each branch's context for its reference row.
    private static Tensor WithBranchContexts(Tensor context, int branches, int perBranch)
    {
        var branchContexts = Enumerable.Range(0, branches).Select(k => F.Slice(context, 0, k * perBranch, 1)).ToArray();
        try { return F.Concat([context, .. branchContexts], 0); }
        finally { foreach (var c in branchContexts) c.Dispose(); }
    }
}

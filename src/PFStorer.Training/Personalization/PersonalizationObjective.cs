using PFStorer.Graph;
using PFStorer.Graph.Autograd;
using PFStorer.Graph.Models;
using PFStorer.Kernels;

namespace PFStorer.Training.Personalization;

/// <summary>The weights of the loss parts: L = L_Diff + λGen·L_Gen + λPers·L_Pers (defaults as PFStorer and ViCo).</summary>
public sealed record LossWeights(float LambdaGen = 0.1f, float LambdaPers = 5e-4f);

/// <summary>
/// One training example in latent space, batch 1: the noised target z_t at timestep t (with the noise ε that made it),
/// the LQ latent, the clean reference latent, and the prompt's token ids [1,77] holding the placeholder.
/// </summary>
public sealed record TrainingExample(Tensor NoisyTarget, Tensor LowQuality, Tensor Reference, Tensor Noise, long Timestep, Tensor TokenIds);

/// <summary>The loss parts as numbers.</summary>
public readonly record struct LossParts(double Diff, double Gen, double Pers, double Total);

/// <summary>
/// PFStorer's training objective on the frozen StableSR networks with a personalization adapter attached
/// (docs/personalization.md, "Training step"). One UNet forward runs a batch of three rows: G with the LQ condition,
/// G with the null condition (an all-zero LQ latent through the time-aware encoder) and the reference stream R, which
/// both G rows read at every placement. L_Pers comes from R's maps.
/// </summary>
public sealed class PersonalizationObjective(LatentDiffusionSRTextWT model, PersonalizationAdapter adapter, LossWeights weights, long placeholderId, long endOfTextId)
{
    public LossWeights Weights { get; } = weights;

    /// <summary>
    /// Recompute the frozen UNet's ResBlocks and BasicTransformerBlocks in backward (docs/personalization.md, "Memory").
    /// Off by default: one 512² iteration of the 512 configuration stores every activation within ~12.5 GB of host
    /// memory; turn it on where that does not fit (larger batches or images, smaller hosts).
    /// </summary>
    public bool GradientCheckpointing { get; init; }

    public ObjectiveResult Forward(TrainingExample example, bool keepMaps = false)
    {
        var device = example.NoisyTarget.Device;
        using var timesteps = Tensor.FromArray([example.Timestep, example.Timestep, example.Timestep], 3);
        using var t3 = timesteps.To(device);
        StructCond structCond;
        using (GradMode.NoGrad())
        {
            // The time-aware encoder's outputs carry no gradient: G's LQ, G's null (zeros) and R's own clean latent.
            using var nullLatent = Tensor.Zeros(example.LowQuality.Shape, device: device);
            using var encoderInput = F.Concat([example.LowQuality, nullLatent, example.Reference], 0);
            structCond = model.StructCondStageModel.Forward(encoderInput, t3);
        }
        using (structCond)
        {
            using var context = model.CondStageModel.Forward(example.TokenIds, (int)placeholderId, adapter.Token.Tensor);
            using var context3 = F.Concat([context, context, context], 0);
            using var x = F.Concat([example.NoisyTarget, example.NoisyTarget, example.Reference], 0);
            var (star, eot) = PersonalizationPass.KeysOf(example.TokenIds.ToInt64Array(), placeholderId, endOfTextId);
            var pass = new PersonalizationPass(2, [2, 2], [star, eot, star, eot, star, eot]) { ComputeLoss = true, KeepMaps = keepMaps };
            try
            {
                var unet = model.DiffusionModel;
                bool before = unet.GradientCheckpointing;
                unet.GradientCheckpointing = GradientCheckpointing;
                try
                {
                    using var eps = unet.Forward(x, t3, context3, structCond, pass);
                    return ObjectiveResult.Build(eps, example.Noise, pass, Weights);
                }
                finally { unet.GradientCheckpointing = before; }
            }
            catch
            {
                pass.Dispose();
                throw;
            }
        }
    }
}

/// <summary>The outputs of one objective forward: both G predictions, each loss part and the total (all on the tape until <see cref="Backward"/>).</summary>
public sealed class ObjectiveResult : IDisposable
{
    public required Tensor EpsLowQuality { get; init; }
    public required Tensor EpsNull { get; init; }
    public required Tensor Diff { get; init; }
    public required Tensor Gen { get; init; }
    public required Tensor Pers { get; init; }
    public required Tensor Total { get; init; }
    public required PersonalizationPass Pass { get; init; }

    internal static ObjectiveResult Build(Tensor eps, Tensor noise, PersonalizationPass pass, LossWeights w)
    {
        var epsLq = F.Slice(eps, 0, 0, 1);
        var epsNull = F.Slice(eps, 0, 1, 1);
        var diff = F.MseLoss(epsLq, noise);
        var gen = F.MseLoss(epsNull, noise);
        var pers = pass.PersonalizationLoss ?? throw new InvalidOperationException("no personalization block is attached: L_Pers is undefined");
        using var genScaled = F.Scale(gen, w.LambdaGen);
        using var persScaled = F.Scale(pers, w.LambdaPers);
        using var partial = F.Add(diff, genScaled);
        var total = F.Add(partial, persScaled);
        return new ObjectiveResult { EpsLowQuality = epsLq, EpsNull = epsNull, Diff = diff, Gen = gen, Pers = pers, Total = total, Pass = pass };
    }

    public LossParts Values() => new(Scalar(Diff), Scalar(Gen), Scalar(Pers), Scalar(Total));

    private static double Scalar(Tensor t) => t.ToFloatArray()[0];

    /// <summary>Back-propagates the total into the trainable leaves' Grad (and frees the graph).</summary>
    public void Backward() => Tape.Backward(Total);

    public void Dispose()
    {
        foreach (var t in new[] { EpsLowQuality, EpsNull, Diff, Gen, Total }) t.Dispose();
        Pass.Dispose();   // owns Pers
    }
}

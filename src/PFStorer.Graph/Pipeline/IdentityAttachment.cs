using PFStorer.Graph.Models;
using PFStorer.Graph.Personalization;
using PFStorer.Graph.Sampling;

namespace PFStorer.Graph.Pipeline;

/// <summary>
/// An identity hung into the restorer's UNet for one patch (docs/identity-files.md, "Restoring"): the positive context with
/// the learned token at the placeholder, and the noise predictor that runs the reference stream beside the sampler's rows
/// (or replays it from the restorer's cache for these inputs, which <paramref name="cacheFor"/> hands out).
/// Disposing detaches the blocks, leaving the base model as it was.
/// </summary>
internal sealed class IdentityAttachment : IDisposable
{
    private readonly Identity _identity;
    private readonly Tensor _reference;

    public Tensor Positive { get; }
    public INoisePredictor Predictor { get; }

    public IdentityAttachment(LatentDiffusionSRTextWT model, RestoreSettings settings, int tile, Tensor? negative, Device device,
        Func<ReferenceStreamKey, ReferenceStreamCache> cacheFor)
    {
        var identity = settings.Identity!;
        var tokenizer = SimpleTokenizer.Default;
        var positive = tokenizer.TokenizeWithPlaceholder(settings.Prompt);
        var negativeIds = tokenizer.Tokenize(settings.NegativePrompt);
        _reference = identity.ReferenceForRestore(settings.ReferenceIndex, model.Config.ScaleFactor, device);
        if (_reference.Dim(2) != tile || _reference.Dim(3) != tile)
        {
            int side = _reference.Dim(2);
            _reference.Dispose();
            throw new ArgumentException($"{identity.Source} was learned at {8 * side} px (latent {side}); restore with tile size {side}, not {tile}");
        }
        identity.MoveTo(device);
        identity.Adapter.Attach(model.DiffusionModel);
        _identity = identity;
        using var ids = Tensor.FromSpan<long>(positive.Ids, Kernels.DType.I64, [1, positive.Ids.Length], device);
        Positive = model.CondStageModel.Forward(ids, tokenizer.PlaceholderId, identity.Adapter.Token.Tensor);
        var keys = new List<(int, int)>();
        if (negative != null) keys.Add(PersonalizationPass.KeysOf(negativeIds, tokenizer.PlaceholderId, tokenizer.EndId));
        keys.Add((positive.PlaceholderIndex, positive.EndIndex));
        float[][] contexts = negative == null ? [Positive.ToFloatArray()] : [negative.ToFloatArray(), Positive.ToFloatArray()];
        var cache = cacheFor(new ReferenceStreamKey(identity, _reference.ToFloatArray(), contexts, settings.ReferenceCacheBytes));
        Predictor = new PersonalizedNoisePredictor(model, _reference, keys, settings.LambdaAtt, cache: cache);
    }

    public void Dispose()
    {
        _identity.Adapter.Detach();
        Positive.Dispose();
        _reference.Dispose();
    }
}

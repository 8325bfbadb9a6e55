using PFStorer.Graph;
using PFStorer.Graph.Models;
using PFStorer.Graph.Tests.Autograd;
using PFStorer.Kernels;
using PFStorer.Training.Personalization;
using Xunit;
using static PFStorer.Tests.Reference;

namespace PFStorer.Training.Tests.Personalization;

/// <summary>
/// Autograd discipline of one training iteration on the real networks (stablesr-tiny, personalization at every
/// SpatialTransformer), run through a recording backend: only block weights, γ and the token get gradient buffers, and
/// the backward pass computes no weight gradient of a frozen base parameter (no weight-gradient GEMM, no conv, norm or
/// embedding-table weight gradient), while it does compute every trainable one.
/// </summary>
public sealed class PersonalizationAutogradTests
{
    [Fact]
    public void FrozenParametersGetNoGradientBufferAndNoWeightGradientWork()
    {
        var be = CountingBackend.Create();
        var rng = NewRandom(out int seed);
        using var tiny = new StableSRTiny();
        var model = tiny.Model;
        foreach (var (_, p) in model.NamedParameters()) p.Assign(p.Tensor.To(be.Device));
        var unet = model.DiffusionModel;
        var placements = Placements.Resolve(Placements.All, unet);
        using var adapter = new PersonalizationAdapter(unet, placements, model.Config.Text.Width);
        using (var token = On(be, RandomArray(rng, model.Config.Text.Width), model.Config.Text.Width)) adapter.Initialise(seed, token);
        foreach (var block in adapter.Blocks) block.Gamma.Assign(On(be, RandomArray(rng, block.Dim), block.Dim));
        adapter.Attach(unet);

        int[] latent = [1, 4, 16, 16];
        using var tokens = Graph.Tensor.FromArray(SimpleTokenizer.Default.Tokenize("a photo of *"), 1, 77).To(be.Device);
        var example = new TrainingExample(On(be, RandomArray(rng, 1024), latent), On(be, RandomArray(rng, 1024), latent),
            On(be, RandomArray(rng, 1024), latent), On(be, RandomArray(rng, 1024), latent), rng.Next(1000), tokens);
        var objective = new PersonalizationObjective(model, adapter, new LossWeights(), SimpleTokenizer.Default.PlaceholderId, SimpleTokenizer.Default.EndId);
        using (var result = objective.Forward(example))
        {
            be.ClearCalls();
            result.Backward();
        }
        foreach (var t in new[] { example.NoisyTarget, example.LowQuality, example.Reference, example.Noise }) t.Dispose();
        string what = $"placements {placements.Count}, (seed {seed})";

        var trainable = adapter.NamedParameters().Select(p => p.Param).ToHashSet();
        foreach (var (path, p) in model.NamedParameters())
        {
            if (trainable.Contains(p)) Assert.True(p.Tensor.Grad != null, $"{path}: trainable without a gradient ({what})");
            else Assert.True(p.Tensor.Grad == null && !p.Tensor.RequiresGrad, $"{path}: frozen, yet has a gradient buffer ({what})");
        }
        var gradients = adapter.TrainableParameters().Select(p => (object)p.Tensor.Grad!).ToHashSet(ReferenceEqualityComparer.Instance);
        var calls = be.Calls;

        // A Linear's weight gradient is the GEMM dyᵀ·x (transA); its input gradient dy·W is not. Every such GEMM must
        // write a trainable weight's gradient: ten per block (q, k, v, out of both attentions, the two feed-forward layers).
        var weightGemms = calls.Where(c => c.Name == "MatMul" && (bool)c.Args[3]!).ToArray();
        Assert.True(weightGemms.All(c => gradients.Contains(c.Args[2]!)), $"a weight-gradient GEMM wrote a frozen weight's gradient ({what})");
        Assert.Equal(10 * adapter.Blocks.Count, weightGemms.Length);
        Assert.Contains(calls, c => c.Name == "MatMul" && !(bool)c.Args[3]!);

        // Convolutions and GroupNorms are all frozen: their backward computes dx only.
        var convs = calls.Where(c => c.Name == "Conv2dBackward").ToArray();
        Assert.NotEmpty(convs);
        Assert.All(convs, c => Assert.True(c.Args[3] != null && c.Args[4] == null && c.Args[5] == null, $"conv weight gradient ({what})"));
        var groupNorms = calls.Where(c => c.Name == "GroupNormBackward").ToArray();
        Assert.NotEmpty(groupNorms);
        Assert.All(groupNorms, c => Assert.True(c.Args[7] == null && c.Args[8] == null, $"GroupNorm weight gradient ({what})"));
        // LayerNorms: the three of each block get weight gradients; the base transformers' and the text encoder's do not.
        var layerNorms = calls.Where(c => c.Name == "LayerNormBackward").ToArray();
        var withWeights = layerNorms.Where(c => c.Args[6] != null).ToArray();
        Assert.Equal(3 * adapter.Blocks.Count, withWeights.Length);
        Assert.All(withWeights, c => Assert.True(gradients.Contains(c.Args[6]!) && gradients.Contains(c.Args[7]!), $"LayerNorm gradient of a frozen norm ({what})"));
        Assert.Contains(layerNorms, c => c.Args[6] == null);
        // The token embedding table is frozen; only the placeholder row gets a gradient.
        var embedding = Assert.Single(calls, c => c.Name == "EmbeddingBackward");
        Assert.Null(embedding.Args[2]);
        Assert.Same(adapter.Token.Tensor.Grad, embedding.Args[4]);
    }

    private static Tensor On(CountingBackend be, double[] data, params int[] shape) =>
        Graph.Tensor.FromSpan<float>(ToFloat(data), DType.F32, shape, be.Device);
}

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
/// SpatialTransformer, random block weights, γ and inputs), run through a recording backend: only block weights, γ and
/// the token get gradient buffers; the backward pass computes no weight gradient of a frozen base parameter (no
/// weight-gradient GEMM, no conv, norm or embedding-table weight gradient) but every trainable one; and gradient
/// checkpointing changes no loss and no gradient beyond the rounding of a different accumulation order.
/// </summary>
public sealed class PersonalizationAutogradTests
{
    /// <summary>
    /// Checkpointed against stored activations: the same ops on the same values, but gradients reaching a tensor from
    /// several uses (the context, the skips) are summed in another order; seen up to ~2e-6 in f32 (normalised error).
    /// </summary>
    private const double CheckpointTolerance = 1e-5;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FrozenParametersGetNoGradientBufferAndNoWeightGradientWork(bool checkpointing)
    {
        using var c = new IterationCase();
        var (be, adapter) = (c.Backend, c.Adapter);
        be.ClearCalls();
        c.Run(checkpointing);
        string what = $"placements {adapter.Blocks.Count}, checkpointing {checkpointing} (seed {c.Seed})";

        var trainable = adapter.NamedParameters().Select(p => p.Param).ToHashSet();
        foreach (var (path, p) in c.Tiny.Model.NamedParameters())
        {
            if (trainable.Contains(p)) Assert.True(p.Tensor.Grad != null, $"{path}: trainable without a gradient ({what})");
            else Assert.True(p.Tensor.Grad == null && !p.Tensor.RequiresGrad, $"{path}: frozen, yet has a gradient buffer ({what})");
        }
        var gradients = adapter.TrainableParameters().Select(p => (object)p.Tensor.Grad!).ToHashSet(ReferenceEqualityComparer.Instance);
        var calls = be.Calls.Skip(c.BackwardStartsAt).ToArray();

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

    [Fact]
    public void CheckpointedGradientsEqualStoredActivationGradients()
    {
        using var c = new IterationCase();
        var stored = c.Run(checkpointing: false);
        var plain = c.Adapter.NamedParameters().ToDictionary(p => p.Path, p => p.Param.Tensor.Grad!.ToFloatArray());
        c.ClearGradients();
        var checkpointed = c.Run(checkpointing: true);

        // The forward runs the same ops on the same values either way.
        Assert.Equal(stored, checkpointed);
        double worst = 0;
        foreach (var (path, p) in c.Adapter.NamedParameters())
        {
            var g = p.Tensor.Grad!.ToFloatArray();
            Assert.True(g.Any(v => v != 0), $"{path}: zero gradient, nothing compared (seed {c.Seed})");
            worst = Math.Max(worst, NormalisedError(g, ToDouble(plain[path])));
            AssertClose(g, ToDouble(plain[path]), CheckpointTolerance, $"{path} checkpointed vs stored (seed {c.Seed})");
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"largest normalised error over {plain.Count} gradients: {worst:E2}");
    }

    /// <summary>stablesr-tiny on a recording backend with an adapter at every transformer, a random example and objective.</summary>
    private sealed class IterationCase : IDisposable
    {
        private readonly TrainingExample _example;

        public CountingBackend Backend { get; } = CountingBackend.Create();
        public StableSRTiny Tiny { get; } = new();
        public PersonalizationAdapter Adapter { get; }
        public int Seed { get; }
        /// <summary>Index in <see cref="CountingBackend.Calls"/> of the first backward call of the last <see cref="Run"/>.</summary>
        public int BackwardStartsAt { get; private set; }

        public IterationCase()
        {
            var rng = NewRandom(out int seed);
            Seed = seed;
            var model = Tiny.Model;
            foreach (var (_, p) in model.NamedParameters()) p.Assign(p.Tensor.To(Backend.Device));
            var unet = model.DiffusionModel;
            Adapter = new PersonalizationAdapter(unet, Placements.Resolve(Placements.All, unet), model.Config.Text.Width);
            using (var token = On(RandomArray(rng, model.Config.Text.Width), model.Config.Text.Width)) Adapter.Initialise(seed, token);
            foreach (var block in Adapter.Blocks) block.Gamma.Assign(On(RandomArray(rng, block.Dim), block.Dim));
            Adapter.Attach(unet);
            int[] latent = [1, 4, 16, 16];
            var tokens = Graph.Tensor.FromArray(SimpleTokenizer.Default.Tokenize("a photo of *"), 1, 77);
            _example = new TrainingExample(On(RandomArray(rng, 1024), latent), On(RandomArray(rng, 1024), latent),
                On(RandomArray(rng, 1024), latent), On(RandomArray(rng, 1024), latent), rng.Next(1000), tokens.To(Backend.Device));
            tokens.Dispose();
        }

        /// <summary>One objective forward and backward; returns the loss parts.</summary>
        public LossParts Run(bool checkpointing)
        {
            var objective = new PersonalizationObjective(Tiny.Model, Adapter, new LossWeights(), SimpleTokenizer.Default.PlaceholderId, SimpleTokenizer.Default.EndId)
            {
                GradientCheckpointing = checkpointing,
            };
            using var result = objective.Forward(_example);
            BackwardStartsAt = Backend.Calls.Count;
            result.Backward();
            return result.Values();
        }

        public void ClearGradients()
        {
            foreach (var p in Adapter.TrainableParameters())
            {
                p.Tensor.Grad!.Dispose();
                p.Tensor.Grad = null;
            }
        }

        private Tensor On(double[] data, params int[] shape) => Graph.Tensor.FromSpan<float>(ToFloat(data), DType.F32, shape, Backend.Device);

        public void Dispose()
        {
            foreach (var t in new[] { _example.NoisyTarget, _example.LowQuality, _example.Reference, _example.Noise, _example.TokenIds }) t.Dispose();
            Adapter.Dispose();
            Tiny.Dispose();
        }
    }
}

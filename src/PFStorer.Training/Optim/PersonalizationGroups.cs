using PFStorer.Graph.Models;

namespace PFStorer.Training.Optim;

/// <summary>Learning rates of the three trainable kinds (defaults: docs/personalization.md, "Optimiser").</summary>
public sealed record LearningRates(float Token = 5e-3f, float Blocks = 1e-4f, float Gamma = 1e-3f, float BlockWeightDecay = 0.01f);

public static class PersonalizationGroups
{
    /// <summary>
    /// The adapter's AdamW groups: the token (no decay), every block parameter except γ — biases and LayerNorms included —
    /// with weight decay, and the γ vectors (no decay).
    /// </summary>
    public static ParameterGroup[] For(PersonalizationAdapter adapter, LearningRates rates) =>
    [
        new("token", [adapter.Token], rates.Token, 0f),
        new("blocks", adapter.Blocks.SelectMany(b => b.NamedParameters().Where(p => p.Param != b.Gamma).Select(p => p.Param)).ToArray(),
            rates.Blocks, rates.BlockWeightDecay),
        new("gamma", adapter.Blocks.Select(b => b.Gamma).ToArray(), rates.Gamma, 0f),
    ];
}

using System.Globalization;
using System.Text.Json;
using PFStorer.Graph.Models;
using PFStorer.Training.Optim;

namespace PFStorer.Training.Personalization;

/// <summary>
/// Everything a personalization run depends on besides the base weights and the photos (defaults: PFStorer's recipe,
/// docs/personalization.md). The same photos, weights and settings give the same identity file byte for byte.
/// </summary>
public sealed record PersonalizeSettings
{
    public int Iterations { get; init; } = 500;
    public ulong Seed { get; init; }
    /// <summary>decoder, all-decoder, all, or a comma-separated list of SpatialTransformer paths.</summary>
    public string Placements { get; init; } = Graph.Models.Placements.Decoder;
    public LearningRates Rates { get; init; } = new();
    public LossWeights Losses { get; init; } = new();
    /// <summary>The word whose embedding the token `*` starts from (one BPE token).</summary>
    public string InitWord { get; init; } = "face";
    /// <summary>Seed of the blocks' initial weights (fixed by the run's seed).</summary>
    public int BlockInitSeed => unchecked((int)(Seed ^ (Seed >> 32)));

    public void Validate()
    {
        if (Iterations < 1) throw new ArgumentException($"iterations must be ≥ 1, got {Iterations}");
        foreach (var (name, v) in new[] { ("lr-token", Rates.Token), ("lr-blocks", Rates.Blocks), ("lr-gamma", Rates.Gamma), ("lambda-gen", Losses.LambdaGen), ("lambda-pers", Losses.LambdaPers) })
            if (!float.IsFinite(v) || v < 0) throw new ArgumentException($"{name} must be a finite number ≥ 0, got {v}");
        if (string.IsNullOrWhiteSpace(InitWord)) throw new ArgumentException("init-word must not be empty");
    }

    /// <summary>Every hyper-parameter as one JSON object (recorded in identity and state files; a resume must match it).</summary>
    public string ToJson() => JsonSerializer.Serialize(new SortedDictionary<string, string>
    {
        ["iterations"] = Iterations.ToString(CultureInfo.InvariantCulture),
        ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
        ["placements"] = Placements,
        ["lr_token"] = F(Rates.Token), ["lr_blocks"] = F(Rates.Blocks), ["lr_gamma"] = F(Rates.Gamma),
        ["weight_decay_blocks"] = F(Rates.BlockWeightDecay),
        ["lambda_gen"] = F(Losses.LambdaGen), ["lambda_pers"] = F(Losses.LambdaPers),
        ["init_word"] = InitWord,
    });

    private static string F(float v) => v.ToString("R", CultureInfo.InvariantCulture);
}

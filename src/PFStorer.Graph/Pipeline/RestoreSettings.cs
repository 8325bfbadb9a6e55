using PFStorer.Graph.Sampling;

namespace PFStorer.Graph.Pipeline;

public enum Precision { Fp32, Bf16 }

public enum DeviceChoice { Auto, Cpu, Cuda }

/// <summary>
/// Everything one restoration depends on besides the weights and the image. Defaults are PFStorer's inference settings
/// (docs/sampling.md) on StableSR's arbitrary-size script (docs/sampling.md, "Arbitrary sizes"); `Cfg = 1, Prompt = ""` is upstream StableSR.
/// </summary>
public sealed record RestoreSettings
{
    /// <summary>Respaced DDPM steps out of 1000.</summary>
    public int Steps { get; init; } = 200;
    public ulong Seed { get; init; } = 42;
    /// <summary>λcfg of ε̃ = ε(neg) + λ·(ε(pos) − ε(neg)); 1 runs the positive branch alone.</summary>
    public float Cfg { get; init; } = 4f;
    public string Prompt { get; init; } = Prompts.Positive;
    public string NegativePrompt { get; init; } = Prompts.Negative;
    /// <summary>Output size over input size; small inputs are first brought to one full tile (8 × TileSize pixels on the short side).</summary>
    public float Upscale { get; init; } = 4f;
    /// <summary>Latent tile side for aggregation sampling; null takes the model's own (image_size / 8: 64 for the 512 model).</summary>
    public int? TileSize { get; init; }
    /// <summary>Latent pixels shared by neighbouring tiles; null takes half the tile (upstream 32 of 64).</summary>
    public int? TileOverlap { get; init; }
    /// <summary>Pixel patch side and stride of the outer split that bounds VAE memory (upstream vqgantile_size / stride).</summary>
    public int VaeTileSize { get; init; } = 1280;
    public int VaeTileStride { get; init; } = 1000;
    /// <summary>CFW fusion weight w of the decoder (dec_w).</summary>
    public float DecoderWeight { get; init; } = 0.5f;
    public ColorFixMode ColorFix { get; init; } = ColorFixMode.AdaIn;
    public Precision Precision { get; init; } = Precision.Fp32;
    public DeviceChoice Device { get; init; } = DeviceChoice.Auto;
    /// <summary>The person to restore (docs/identity-files.md); null restores with StableSR and PFStorer's guidance alone.</summary>
    public Personalization.Identity? Identity { get; init; }
    /// <summary>λatt: the inference scale of every γ (0 keeps only the learned token).</summary>
    public float LambdaAtt { get; init; } = 1f;
    /// <summary>Which of the identity's reference latents the reference stream runs on.</summary>
    public int ReferenceIndex { get; init; }
    /// <summary>
    /// Memory budget in bytes of the identity's reference-stream cache (docs/identity-files.md, "Reference-stream cache"):
    /// timesteps whose reference stream fits are computed once per batch, the rest in every UNet call; 0 turns it off.
    /// Results are the same either way. The default 2 GiB holds 90 of the 512 model's 200 default steps (23.7 MB each).
    /// </summary>
    public long ReferenceCacheBytes { get; init; } = 2L << 30;

    /// <summary>Throws naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Steps is < 1 or > DiffusionSchedule.TrainSteps) throw new ArgumentException($"steps must be 1..{DiffusionSchedule.TrainSteps}, got {Steps}");
        if (!(Cfg > 0) || float.IsInfinity(Cfg)) throw new ArgumentException($"cfg must be a positive number, got {Cfg}");
        if (!(Upscale >= 1) || float.IsInfinity(Upscale)) throw new ArgumentException($"upscale must be ≥ 1, got {Upscale}");
        if (TileSize is { } t && (t < 8 || t % 8 != 0)) throw new ArgumentException($"tile size must be a multiple of 8 latent pixels, got {t}");
        if (TileOverlap is { } o && (o < 0 || (TileSize is { } ts && o >= ts))) throw new ArgumentException($"tile overlap must be in [0, tile size), got {o}");
        if (VaeTileSize < 64 || VaeTileSize % 32 != 0 || VaeTileStride < 1 || VaeTileStride > VaeTileSize)
            throw new ArgumentException($"VAE tile {VaeTileSize} / stride {VaeTileStride}: the tile must be a multiple of 32 and the stride in [1, tile]");
        if (!(DecoderWeight >= 0 && DecoderWeight <= 1)) throw new ArgumentException($"dec_w must be in [0, 1], got {DecoderWeight}");
        if (!float.IsFinite(LambdaAtt) || LambdaAtt < 0) throw new ArgumentException($"lambda-att must be a finite number ≥ 0, got {LambdaAtt}");
        if (ReferenceCacheBytes < 0) throw new ArgumentException($"the reference cache budget must not be negative, got {ReferenceCacheBytes} bytes");
        if (Identity is { } id)
        {
            if (!Prompt.Contains(Prompts.Placeholder)) throw new ArgumentException($"with an identity the prompt must hold the placeholder {Prompts.Placeholder} (e.g. \"{Prompts.PositiveWithIdentity}\"), got \"{Prompt}\"");
            if (NegativePrompt.Contains(Prompts.Placeholder)) throw new ArgumentException($"the negative prompt must not hold the placeholder {Prompts.Placeholder}");
            if (ReferenceIndex < 0 || ReferenceIndex >= id.References.Count) throw new ArgumentException($"reference must be 0..{id.References.Count - 1} for {id.Source}, got {ReferenceIndex}");
        }
    }

    /// <summary>The settings as PNG text metadata, so an output says how it was made.</summary>
    public IReadOnlyDictionary<string, string> ToMetadata(int tileSize, int tileOverlap) => new Dictionary<string, string>
    {
        ["pfstorer:steps"] = Steps.ToString(),
        ["pfstorer:seed"] = Seed.ToString(),
        ["pfstorer:cfg"] = Cfg.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["pfstorer:prompt"] = Prompt,
        ["pfstorer:negative_prompt"] = NegativePrompt,
        ["pfstorer:upscale"] = Upscale.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["pfstorer:tile_size"] = tileSize.ToString(),
        ["pfstorer:tile_overlap"] = tileOverlap.ToString(),
        ["pfstorer:vae_tile"] = $"{VaeTileSize}/{VaeTileStride}",
        ["pfstorer:dec_w"] = DecoderWeight.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["pfstorer:color_fix"] = ColorFix.ToString().ToLowerInvariant(),
        ["pfstorer:precision"] = Precision.ToString().ToLowerInvariant(),
    };
}

/// <summary>The supplementary's inference prompts (docs/sampling.md, "Guidance and prompts").</summary>
public static class Prompts
{
    public const string Placeholder = "*";
    public const string PositiveWithIdentity = "a Photo of *, masterpiece, best quality, realistic, very clear, professional";
    public const string Negative = "3d, cartoon, anime, sketches, worst quality, low quality";
    /// <summary>Without an identity the placeholder is dropped from the positive prompt.</summary>
    public static readonly string Positive = WithoutPlaceholder(PositiveWithIdentity);

    public static string WithoutPlaceholder(string prompt) =>
        string.Join(' ', prompt.Replace(Placeholder, " ").Split(' ', StringSplitOptions.RemoveEmptyEntries)).Replace(" ,", ",");
}

namespace PFStorer.Graph.Models;

/// <summary>
/// Where personalization blocks go: SpatialTransformer paths of a loaded UNet. Presets resolve against the model's own
/// block numbering (docs/personalization.md, "Placements"): "decoder" = ViCo's choice, the decoder transformers whose running
/// index among all SpatialTransformers (construction order) is even — output_blocks.4.1/.6.1/.8.1/.10.1 in the 512 model;
/// "all-decoder" = every decoder transformer; "all" = every transformer; otherwise a comma-separated list of paths.
/// </summary>
public static class Placements
{
    public const string Decoder = "decoder", AllDecoder = "all-decoder", All = "all";

    public static IReadOnlyList<string> Resolve(string spec, UNetModelDualcondV2 unet)
    {
        var all = unet.SpatialTransformers().Select(s => s.Path).ToArray();
        static bool InDecoder(string path) => path.StartsWith("output_blocks.", StringComparison.Ordinal);
        string[] chosen = spec switch
        {
            Decoder => all.Where((p, i) => InDecoder(p) && i % 2 == 0).ToArray(),
            AllDecoder => all.Where(InDecoder).ToArray(),
            All => all,
            _ => spec.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
        };
        var unknown = chosen.Where(p => !all.Contains(p)).ToArray();
        if (unknown.Length > 0)
            throw new ArgumentException($"placements '{string.Join(", ", unknown)}' are not SpatialTransformers of this UNet; " +
                $"use {Decoder}, {AllDecoder}, {All} or a list of: {string.Join(", ", all)}");
        if (chosen.Length == 0) throw new ArgumentException($"placement '{spec}' selects no SpatialTransformer");
        if (chosen.Distinct().Count() != chosen.Length) throw new ArgumentException($"placement '{spec}' names a transformer twice");
        return chosen;
    }
}

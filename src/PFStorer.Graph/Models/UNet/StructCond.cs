namespace PFStorer.Graph.Models;

/// <summary>
/// The time-aware encoder's features, keyed by spatial width (upstream keys the dict by str(width)); every SPADE picks
/// the map whose width equals its own feature map's. Owns its tensors.
/// </summary>
public sealed class StructCond(IReadOnlyDictionary<int, Tensor> byWidth) : IDisposable
{
    public IReadOnlyDictionary<int, Tensor> ByWidth { get; } = byWidth;

    public Tensor this[int width] => ByWidth.TryGetValue(width, out var t) ? t
        : throw new ArgumentException($"no struct-cond feature of width {width} (have {string.Join(", ", ByWidth.Keys)}); latent sides must be divisible by the UNet's total downsampling");

    public void Dispose()
    {
        foreach (var t in ByWidth.Values) t.Dispose();
    }
}

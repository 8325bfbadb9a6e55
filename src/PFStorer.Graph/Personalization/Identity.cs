using System.Text.Json;
using PFStorer.Graph.Models;
using PFStorer.Graph.Models.Faces;

namespace PFStorer.Graph.Personalization;

/// <summary>One reference photo's VAE posterior (unscaled latent space, [1,4,h,w]): training samples it, restoring uses the mean.</summary>
public sealed record ReferenceLatent(Tensor Mean, Tensor Std) : IDisposable
{
    public void Dispose()
    {
        Mean.Dispose();
        Std.Dispose();
    }
}

/// <summary>
/// A learned person (docs/identity-files.md): the personalization adapter (blocks per placement, γ, the token row), the
/// reference latents of the training photos, and the metadata written with them. Restoring with it needs no photos: the
/// reference stream runs on a stored latent. Owns its tensors; one identity can be attached to one UNet at a time.
/// </summary>
public sealed class Identity(PersonalizationAdapter adapter, IReadOnlyList<ReferenceLatent> references,
    string baseFingerprint, IReadOnlyDictionary<string, string> metadata, string source) : IDisposable
{
    public PersonalizationAdapter Adapter { get; } = adapter;
    public IReadOnlyList<ReferenceLatent> References { get; } = references;
    public string BaseFingerprint { get; } = baseFingerprint;
    public IReadOnlyDictionary<string, string> Metadata { get; } = metadata;
    /// <summary>Where it came from (the file name when read from disk).</summary>
    public string Source { get; } = source;
    /// <summary>
    /// The mean face-api descriptor of the training photos (metadata <c>face_descriptor</c>, written when `personalize`
    /// found faces in them); null when the file holds none. Group photos route faces by it (docs/identity-files.md).
    /// </summary>
    public float[]? FaceDescriptor { get; } = ParseDescriptor(metadata, source);

    public const string FaceDescriptorKey = "face_descriptor";

    private static float[]? ParseDescriptor(IReadOnlyDictionary<string, string> metadata, string source)
    {
        if (!metadata.TryGetValue(FaceDescriptorKey, out var json)) return null;
        float[]? d = null;
        try { d = JsonSerializer.Deserialize<float[]>(json); }
        catch (JsonException) { }
        if (d is not { Length: FaceRecognitionNet.DescriptorLength } || !d.All(float.IsFinite))
            throw new IdentityFileException($"{source}: {FaceDescriptorKey} is not a list of {FaceRecognitionNet.DescriptorLength} finite numbers");
        return d;
    }

    /// <summary>The latent the reference stream runs on at restore time: the posterior mean of photo <paramref name="index"/>, scaled into diffusion space.</summary>
    public Tensor ReferenceForRestore(int index, float scaleFactor, Device device)
    {
        if (index < 0 || index >= References.Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"{Source}: reference {index} does not exist; it holds {References.Count} (0..{References.Count - 1})");
        using var mean = References[index].Mean.To(device);
        return F.Scale(mean, scaleFactor);
    }

    /// <summary>Moves the adapter's weights to <paramref name="device"/> (a no-op where they already are).</summary>
    public void MoveTo(Device device) => Adapter.MoveTo(device);

    public void Dispose()
    {
        Adapter.Dispose();
        foreach (var r in References) r.Dispose();
    }
}

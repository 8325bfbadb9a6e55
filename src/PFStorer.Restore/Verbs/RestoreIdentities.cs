using System.Globalization;
using System.Text.Json.Nodes;
using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Faces;
using PFStorer.Graph.Personalization;
using PFStorer.Graph.Pipeline;
using PFStorer.Images;

namespace PFStorer.Restore;

/// <summary>
/// The identities of one `restore` run: none (plain restoration), one (the whole image restored as that person), or
/// several (a group photo: each face restored as the identity it matches, with the face networks loaded for it;
/// docs/faces.md, "Group photos"). Owns the identities and the face analyzer.
/// </summary>
internal sealed class RestoreIdentities : IDisposable
{
    private readonly List<(Identity Identity, string Path)> _identities = [];
    private FaceAnalyzer? _faces;
    private GroupRestorer? _group;

    public bool IsGroup => _group != null;

    /// <summary>Reads and checks the identities for <paramref name="settings"/>; a problem is returned as a message naming the file.</summary>
    public static RestoreIdentities Open(Restorer restorer, IReadOnlyList<string> paths, RestoreSettings settings, string? faceWeights, out string? problem)
    {
        var run = new RestoreIdentities();
        problem = null;
        try
        {
            foreach (var path in paths)
            {
                var identity = restorer.ReadIdentity(path);
                run._identities.Add((identity, path));
                (settings with { Identity = identity }).Validate();
                if (paths.Count > 1) GroupRestorer.Descriptor(identity);
                Console.WriteLine($"identity {identity.Source}: placements {identity.Metadata.GetValueOrDefault("placements")}, {identity.References.Count} reference photo(s), λatt {settings.LambdaAtt}");
            }
            if (paths.Count > 1)
            {
                run._faces = FaceAnalyzer.Load(faceWeights, restorer.Device);
                run._group = new GroupRestorer(restorer, run._faces);
            }
        }
        catch (Exception e) when (e is IdentityFileException or ArgumentException or FileNotFoundException or InvalidDataException or CheckpointFormatException)
        {
            problem = e.Message;
        }
        return run;
    }

    /// <summary>The settings for a plain or single-identity restoration (a group restoration takes them as they are).</summary>
    public RestoreSettings Apply(RestoreSettings settings) => _identities.Count == 1 ? settings with { Identity = _identities[0].Identity } : settings;

    /// <summary>What the output's PNG metadata records of the identities.</summary>
    public void Describe(IDictionary<string, string> metadata, RestoreSettings settings)
    {
        if (_identities.Count == 0) return;
        if (_identities.Count == 1)
        {
            metadata["pfstorer:identity"] = _identities[0].Identity.Source;
            metadata["pfstorer:identity_sha256"] = FileHash(_identities[0].Path);
        }
        else
            metadata["pfstorer:identities"] = new JsonArray(_identities.Select(i => (JsonNode)new JsonObject
            {
                ["file"] = i.Identity.Source,
                ["sha256"] = FileHash(i.Path),
            }).ToArray()).ToJsonString();
        metadata["pfstorer:base_fingerprint"] = _identities[0].Identity.BaseFingerprint;
        metadata["pfstorer:lambda_att"] = settings.LambdaAtt.ToString("R", CultureInfo.InvariantCulture);
        metadata["pfstorer:reference"] = settings.ReferenceIndex.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A group restoration of one image (<see cref="IsGroup"/>).</summary>
    public GroupRestoration RestoreGroup(Image image, RestoreSettings settings, Action<RestoreProgress> progress, CancellationToken cancel, PixelKind output) =>
        _group!.Restore(image, settings, _identities.Select(i => i.Identity).ToList(), progress, cancel, output);

    /// <summary>Prints the faces of a group restoration and where each went.</summary>
    public static void Print(string name, GroupRestoration result)
    {
        Console.WriteLine($"{name}: {result.Faces.Count} face{(result.Faces.Count == 1 ? "" : "s")}");
        for (int i = 0; i < result.Faces.Count; i++)
        {
            var f = result.Faces[i];
            string distance = double.IsNaN(f.Distance) ? "" : string.Create(CultureInfo.InvariantCulture, $" (distance {f.Distance:0.000})");
            string to = f.Identity ?? $"no identity within {FaceDistance.SameIdentityThreshold.ToString(CultureInfo.InvariantCulture)}, base restoration";
            Console.WriteLine($"  face {i} at {f.Box} → {to}{distance}");
        }
    }

    /// <summary>The first 16 hex digits of a file's SHA-256: which identity file made an output.</summary>
    private static string FileHash(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream), 0, 8);
    }

    public void Dispose()
    {
        foreach (var (identity, _) in _identities) identity.Dispose();
        _faces?.Dispose();
    }
}

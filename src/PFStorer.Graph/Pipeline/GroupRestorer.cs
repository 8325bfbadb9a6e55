using System.Text.Json.Nodes;
using PFStorer.Graph.Faces;
using PFStorer.Graph.Personalization;
using PFStorer.Images;

namespace PFStorer.Graph.Pipeline;

/// <summary>One face of a group photo: its detection box (input pixels), the square restored for it, and who it went to
/// (null: nobody within the threshold; it keeps the base restoration) at what descriptor distance to the nearest identity.</summary>
public sealed record GroupFace(FaceBox Box, FaceCrop Crop, string? Identity, double Distance);

/// <summary>A group photo's restoration and the faces found in it, in detection order (best first).</summary>
public sealed record GroupRestoration(Image Image, IReadOnlyList<GroupFace> Faces)
{
    /// <summary>The assignment as JSON, for the PNG metadata (pfstorer:faces).</summary>
    public string FacesJson() => new JsonArray(Faces.Select(f => (JsonNode)new JsonObject
    {
        ["box"] = new JsonArray(Math.Round(f.Box.X, 2), Math.Round(f.Box.Y, 2), Math.Round(f.Box.Width, 2), Math.Round(f.Box.Height, 2)),
        ["crop"] = new JsonArray(f.Crop.X, f.Crop.Y, f.Crop.Side),
        ["identity"] = f.Identity,
        ["distance"] = double.IsNaN(f.Distance) ? null : (JsonNode)Math.Round(f.Distance, 4),
    }).ToArray()).ToJsonString();
}

/// <summary>
/// Restoring a photo of several people, each with their own identity (docs/faces.md, "Group photos"): the whole image
/// is restored once without an identity (the base restoration); every face the detector finds on the input goes to
/// the identity whose stored descriptor is nearest (<see cref="FaceRouting"/>); each assigned face's
/// <see cref="FaceCrop"/> is cut from the input, brought to the identity's native size (8 × its reference latent, the
/// size it was learned at) with the pipeline's bicubic, restored there with that identity at upscale 1, brought to the
/// square's size in the output and blended into the base restoration with the feathered weight. Faces without an
/// identity, and every pixel outside the assigned squares, stay the base restoration exactly. Overlapping squares are
/// blended in detection order. Progress counts each face's pass as one more patch after the base's. Does not own the
/// restorer or the face analyzer.
/// </summary>
public sealed class GroupRestorer(Restorer restorer, FaceAnalyzer faces, FaceDetectorOptions? detector = null)
{
    /// <summary>
    /// <paramref name="settings"/> are those of a restoration with an identity (the positive prompt holds the
    /// placeholder); the base restoration runs them with the placeholder dropped from the prompt. Every identity needs a
    /// stored face descriptor (<see cref="Identity.FaceDescriptor"/>).
    /// </summary>
    public GroupRestoration Restore(Image input, RestoreSettings settings, IReadOnlyList<Identity> identities,
        Action<RestoreProgress>? progress = null, CancellationToken cancel = default, PixelKind output = PixelKind.U8)
    {
        if (identities.Count == 0) throw new ArgumentException("a group restoration needs at least one identity");
        var known = identities.Select(Descriptor).ToArray();
        foreach (var id in identities) (settings with { Identity = id }).Validate();
        var baseSettings = settings with { Identity = null, Prompt = Prompts.WithoutPlaceholder(settings.Prompt) };

        // Who is where first (cheap beside the restorations), so progress can count the faces' passes from the start.
        var found = faces.Analyze(FaceImage.From(input), detector).Select(face =>
        {
            var match = FaceRouting.Nearest(face.Descriptor, known);
            return (Face: new GroupFace(face.Detection.Box, FaceCrop.Around(face.Detection.Box), match.Identity is { } k ? identities[k].Source : null, match.Distance),
                Identity: match.Identity is { } i ? identities[i] : null);
        }).ToList();
        int passes = found.Count(f => f.Identity != null), basePatches = 1;

        int h = input.Height, w = input.Width;
        var lq = Restorer.ToPlanes(input);
        var (canvas, oh, ow) = restorer.RestorePlanes(lq, h, w, baseSettings,
            p => progress?.Invoke(p with { Patches = (basePatches = p.Patches) + passes }), cancel);
        int pass = 0;
        foreach (var (face, identity) in found)
        {
            if (identity == null) continue;
            int patch = basePatches + ++pass;
            int latent = identity.References[settings.ReferenceIndex].Mean.Dim(2), native = 8 * latent;
            var faceLq = TorchResize.Bicubic(face.Crop.Cut(lq, 3, h, w), 3, face.Crop.Side, face.Crop.Side, native, native);
            var (restored, _, _) = restorer.RestorePlanes(faceLq, native, native,
                settings with { Identity = identity, Upscale = 1, TileSize = latent, TileOverlap = null },
                p => progress?.Invoke(p with { Patch = patch, Patches = basePatches + passes }), cancel);
            var target = face.Crop.Scaled(settings.Upscale);
            var resized = TorchResize.Bicubic(restored, 3, native, native, target.Side, target.Side);
            for (int j = 0; j < resized.Length; j++) resized[j] = Math.Clamp(resized[j], 0f, 1f);
            target.BlendInto(canvas, resized, 3, oh, ow);
        }
        var image = output == PixelKind.U8 ? Restorer.ToImage(canvas, oh, ow) : Restorer.ToImageF32(canvas, oh, ow);
        return new GroupRestoration(Restorer.MatchLayout(input, image), found.Select(f => f.Face).ToList());
    }

    /// <summary>The identity's stored descriptor; an identity without one cannot be routed to, which is an error naming it.</summary>
    public static float[] Descriptor(Identity identity) => identity.FaceDescriptor
        ?? throw new ArgumentException($"{identity.Source}: holds no face descriptor (its photos showed no face the detector found, " +
            "or it was made before descriptors were recorded), so faces cannot be matched to it; personalize again with the face weights installed");
}

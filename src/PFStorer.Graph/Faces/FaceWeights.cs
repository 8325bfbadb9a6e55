namespace PFStorer.Graph.Faces;

/// <summary>
/// Where the face networks' weights live: an explicit folder, else $PFSTORER_FACE_WEIGHTS, else weights/face-api
/// under the current folder (where weights/install-face-api.sh puts them; nothing is downloaded at run time).
/// </summary>
public static class FaceWeights
{
    public const string InstallCommand = "weights/install-face-api.sh";
    public const string Detector = "tiny_face_detector_model-weights_manifest.json";
    public const string Landmarks = "face_landmark_68_model-weights_manifest.json";
    public const string Recognition = "face_recognition_model-weights_manifest.json";

    public static string DefaultDirectory =>
        Environment.GetEnvironmentVariable("PFSTORER_FACE_WEIGHTS") is { Length: > 0 } env ? env : Path.Combine("weights", "face-api");

    /// <summary>The folder, checked to hold all three manifests; a clear error naming the install command otherwise.</summary>
    public static string Locate(string? directory = null)
    {
        var dir = directory ?? DefaultDirectory;
        var missing = new[] { Detector, Landmarks, Recognition }.Where(f => !File.Exists(Path.Combine(dir, f))).ToList();
        if (missing.Count > 0)
            throw new FileNotFoundException($"face weights missing in {Path.GetFullPath(dir)} ({string.Join(", ", missing)}): run {InstallCommand} " +
                "(or ./setup.sh), or point PFSTORER_FACE_WEIGHTS at the folder");
        return dir;
    }
}

using System.Text.Json;

namespace PFStorer.Tests;

/// <summary>
/// The face networks' weights (installed by weights/install-face-api.sh, which setup.sh runs) and face-api's own
/// results on the photos in tests/fixtures/faces (made by tests/tools/faces/make-reference.sh).
/// </summary>
internal static class FaceFixtures
{
    public static string WeightsDir { get; } = Environment.GetEnvironmentVariable("PFSTORER_FACE_WEIGHTS")
        ?? System.IO.Path.GetFullPath(System.IO.Path.Combine(Fixtures.Dir, "..", "..", "weights", "face-api"));

    public static string Image(string name) => Fixtures.Path("faces", name + ".png");

    private static readonly Lazy<JsonDocument> _reference = new(() => JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("faces", "reference.json"))));

    /// <summary>reference.json's entry for one image: faces (score, box, landmarks, alignedRect, descriptor) and, for the
    /// first image, the nets' raw outputs on the whole picture.</summary>
    public static JsonElement Reference(string image) => _reference.Value.RootElement.GetProperty("images").GetProperty(image);

    public static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();

    public static float[] Floats(JsonElement array) => array.EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
}

using BenchmarkDotNet.Attributes;
using PFStorer.Graph.Faces;
using PFStorer.Images;

namespace PFStorer.Benchmarks;

/// <summary>
/// The face pipeline on the CPU backend for one 512² photo (scikit-image's astronaut, tests/fixtures/faces): detection
/// alone (416² detector input), one descriptor of an aligned face, and the whole chain the metrics run per image
/// (detection + landmarks + alignment + descriptor). Needs the weights (weights/install-face-api.sh).
/// </summary>
[MemoryDiagnoser]
public class FaceBenchmarks
{
    private FaceAnalyzer _faces = null!;
    private FaceImage _photo = null!;
    private FaceBox _aligned;

    [GlobalSetup]
    public void Setup()
    {
        string root = RepositoryRoot();
        _faces = FaceAnalyzer.Load(Environment.GetEnvironmentVariable("PFSTORER_FACE_WEIGHTS") ?? Path.Combine(root, "weights", "face-api"));
        _photo = FaceImage.From(ImageFile.Read(Path.Combine(root, "tests", "fixtures", "faces", "astronaut.png")));
        _aligned = _faces.Analyze(_photo).Single().AlignedRect;
    }

    [GlobalCleanup]
    public void Cleanup() => _faces.Dispose();

    [Benchmark]
    public int Detect() => _faces.Detect(_photo).Count;

    [Benchmark]
    public float[] Embed() => _faces.Embed(_photo, _aligned);

    [Benchmark(Baseline = true)]
    public int DetectLandmarksEmbed() => _faces.Analyze(_photo).Count;

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PFStorer.Native.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("run the face benchmarks from inside the repository (PFStorer.Native.sln not found above the binaries)");
    }
}

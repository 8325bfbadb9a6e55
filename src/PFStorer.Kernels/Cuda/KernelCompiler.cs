using System.Security.Cryptography;
using System.Text;

namespace PFStorer.Kernels.Cuda;

/// <summary>A compiled kernel family: the module image for the driver and name expression → mangled symbol.</summary>
public sealed record CompiledKernels(string Family, int Arch, bool IsCubin, byte[] Image, IReadOnlyDictionary<string, string> LoweredNames, string Log);

/// <summary>
/// Compiles kernels/*.cu with NVRTC for one architecture — CUBIN when this NVRTC knows the real arch (so the driver
/// need not JIT and a driver older than NVRTC still loads it), PTX otherwise — and caches the result on disk keyed by
/// source hash + arch + NVRTC version, so only the first run of a new build pays for compilation.
/// </summary>
public sealed class KernelCompiler
{
    private readonly string? _cacheDir;

    /// <param name="cacheDir">Cache directory; null disables caching.</param>
    public KernelCompiler(string? cacheDir) => _cacheDir = cacheDir;

    public static string DefaultCacheDirectory()
    {
        var explicitDir = Environment.GetEnvironmentVariable("PFSTORER_KERNEL_CACHE");
        if (!string.IsNullOrEmpty(explicitDir)) return explicitDir;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "pfstorer", "kernels");
    }

    /// <summary>NVRTC options for an architecture: a real one (sm_XX, CUBIN) or a virtual one (compute_XX, PTX).</summary>
    public static IReadOnlyList<string> Options(int arch, bool cubin) =>
        [$"--gpu-architecture={(cubin ? "sm" : "compute")}_{arch}", "--std=c++17"];

    /// <summary>
    /// The cache file name: family, arch, image kind, NVRTC version and a hash of everything that reaches the compiler
    /// (source, headers, options, name expressions). Any change to one of them gives a new name.
    /// </summary>
    public static string CacheKey(string family, string source, IReadOnlyDictionary<string, string> headers, IReadOnlyList<string> options,
        IReadOnlyList<string> nameExpressions, int arch, bool cubin, Version nvrtcVersion)
    {
        var text = new StringBuilder();
        void Part(string tag, string value) => text.Append(tag).Append(':').Append(value.Length).Append(':').Append(value).Append('\n');
        Part("source", source);
        foreach (var (name, body) in headers.OrderBy(h => h.Key, StringComparer.Ordinal)) { Part("header", name); Part("body", body); }
        foreach (var o in options) Part("option", o);
        foreach (var n in nameExpressions) Part("name", n);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..20];
        return $"{family}-{(cubin ? "sm" : "compute")}_{arch}-nvrtc{nvrtcVersion.Major}.{nvrtcVersion.Minor}-{hash}";
    }

    /// <summary>Compiles (or loads from the cache) one family's instantiations for <paramref name="arch"/> (e.g. 90).</summary>
    public CompiledKernels Compile(KernelFamily kernels, int arch, bool? cubin = null)
    {
        bool asCubin = cubin ?? Nvrtc.SupportedArchs().Contains(arch);
        string family = kernels.Name;
        var source = KernelSources.Source(family);
        var headers = KernelSources.Headers;
        var options = Options(arch, asCubin);
        var names = kernels.NameExpressions;
        string? path = null;
        if (_cacheDir != null)
        {
            path = Path.Combine(_cacheDir, CacheKey(family, source, headers, options, names, arch, asCubin, Nvrtc.Version()) + ".bin");
            var cached = KernelCacheFile.TryRead(path, names);
            if (cached != null) return new CompiledKernels(family, arch, asCubin, cached.Value.Image, cached.Value.Lowered, "");
        }
        var result = Nvrtc.Compile($"{family}.cu", source, headers, options, names, asCubin);
        if (path != null) KernelCacheFile.Write(path, result.Image, result.LoweredNames);
        return new CompiledKernels(family, arch, asCubin, result.Image, result.LoweredNames, result.Log);
    }
}

/// <summary>
/// One cached compilation: "PFKC", format version, the (name expression, lowered name) pairs and the image.
/// Written to a temporary file and renamed, so concurrent processes never read a half-written entry.
/// </summary>
public static class KernelCacheFile
{
    private const uint Magic = 0x434B4650;   // "PFKC"
    private const int FormatVersion = 1;

    public static void Write(string path, byte[] image, IReadOnlyDictionary<string, string> lowered)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        using (var w = new BinaryWriter(File.Create(tmp)))
        {
            w.Write(Magic);
            w.Write(FormatVersion);
            w.Write(lowered.Count);
            foreach (var (expr, sym) in lowered) { w.Write(expr); w.Write(sym); }
            w.Write(image.Length);
            w.Write(image);
        }
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>The cached entry, or null when absent, unreadable or not covering every expected name (then it is recompiled).</summary>
    public static (byte[] Image, IReadOnlyDictionary<string, string> Lowered)? TryRead(string path, IReadOnlyList<string> expectedNames)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var r = new BinaryReader(File.OpenRead(path));
            if (r.ReadUInt32() != Magic || r.ReadInt32() != FormatVersion) return null;
            int n = r.ReadInt32();
            var lowered = new Dictionary<string, string>();
            for (int i = 0; i < n; i++) lowered[r.ReadString()] = r.ReadString();
            int len = r.ReadInt32();
            var image = r.ReadBytes(len);
            if (image.Length != len || expectedNames.Any(e => !lowered.ContainsKey(e))) return null;
            return (image, lowered);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException)
        {
            return null;
        }
    }
}

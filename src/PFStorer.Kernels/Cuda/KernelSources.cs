using System.Reflection;

namespace PFStorer.Kernels.Cuda;

/// <summary>The CUDA sources embedded in this assembly: kernels/NAME.cu (one per op family) and the headers they include.</summary>
public static class KernelSources
{
    private const string Prefix = "kernels/";
    private static readonly Assembly Owner = typeof(KernelSources).Assembly;

    /// <summary>Family names (file names without .cu), sorted.</summary>
    public static IReadOnlyList<string> Families { get; } = Owner.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".cu", StringComparison.Ordinal))
        .Select(n => n[Prefix.Length..^3]).Order(StringComparer.Ordinal).ToArray();

    /// <summary>Header include name → text (given to NVRTC as in-memory headers).</summary>
    public static IReadOnlyDictionary<string, string> Headers { get; } = Owner.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".cuh", StringComparison.Ordinal))
        .Order(StringComparer.Ordinal).ToDictionary(n => n[Prefix.Length..], Read);

    public static string Source(string family)
    {
        if (!Families.Contains(family)) throw new ArgumentException($"no kernel source kernels/{family}.cu is embedded (have: {string.Join(", ", Families)})");
        return Read($"{Prefix}{family}.cu");
    }

    private static string Read(string resource)
    {
        using var s = Owner.GetManifestResourceStream(resource) ?? throw new InvalidOperationException($"embedded resource {resource} is missing");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }
}

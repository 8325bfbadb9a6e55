using System.Reflection;
using System.Runtime.InteropServices;

namespace PFStorer.Graph.Imaging;

/// <summary>
/// Maps the logical names used by the <c>LibraryImport</c> bindings ("turbojpeg", "spng") to the shared objects a
/// system actually ships: Debian's runtime packages install only the versioned soname (libturbojpeg.so.0,
/// libspng.so.0); the unversioned name exists only with the -dev package.
/// </summary>
internal static class NativeImageLibraries
{
    public const string TurboJpeg = "turbojpeg";
    public const string Spng = "spng";

    private static readonly Dictionary<string, string[]> Candidates = new()
    {
        [TurboJpeg] = ["libturbojpeg.so.0", "libturbojpeg.so", "libturbojpeg.0.dylib", "libturbojpeg.dylib", "turbojpeg.dll"],
        [Spng] = ["libspng.so.0", "libspng.so", "libspng.0.dylib", "libspng.dylib", "spng.dll"],
    };

    private static int _registered;

    /// <summary>Installs the resolver once for this assembly; every binding class calls it from its static constructor.</summary>
    public static void EnsureResolver()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1) return;
        NativeLibrary.SetDllImportResolver(typeof(NativeImageLibraries).Assembly, Resolve);
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (!Candidates.TryGetValue(name, out var names)) return 0;
        foreach (var candidate in names)
            if (NativeLibrary.TryLoad(candidate, assembly, path, out var handle)) return handle;
        throw new DllNotFoundException(
            $"native library '{name}' not found (tried {string.Join(", ", names)}); run ./setup.sh to install libturbojpeg0 and libspng0");
    }
}

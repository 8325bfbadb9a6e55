using System.Reflection;
using System.Runtime.InteropServices;

namespace PFStorer.Kernels.Cuda;

public enum CudaLibrary { Driver, Nvrtc, Cublas }

/// <summary>Where the resolver looks, captured from the process so that tests can substitute a fake tree.</summary>
public sealed record ProbeEnvironment(string? CudaPath, string? LdLibraryPath, IReadOnlyList<string> SitePackages, string Root = "/")
{
    public static ProbeEnvironment FromProcess()
    {
        var sites = new List<string>();
        void AddGlob(string parent, string pattern, string suffix)
        {
            if (!Directory.Exists(parent)) return;
            foreach (var d in Directory.GetDirectories(parent, pattern).OrderDescending()) sites.Add(Path.Combine(d, suffix));
        }
        foreach (var p in (Environment.GetEnvironmentVariable("PYTHONPATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)) sites.Add(p);
        var venv = Environment.GetEnvironmentVariable("VIRTUAL_ENV");
        if (venv != null) AddGlob(Path.Combine(venv, "lib"), "python3*", "site-packages");
        var home = Environment.GetEnvironmentVariable("HOME");
        if (home != null) AddGlob(Path.Combine(home, ".local/lib"), "python3*", "site-packages");
        AddGlob("/usr/local/lib", "python3*", "dist-packages");
        AddGlob("/usr/local/lib", "python3*", "site-packages");
        AddGlob("/usr/lib", "python3*", "dist-packages");
        return new ProbeEnvironment(Environment.GetEnvironmentVariable("CUDA_PATH"), Environment.GetEnvironmentVariable("LD_LIBRARY_PATH"), sites);
    }
}

/// <summary>
/// Finds the CUDA libraries at run time. The engine ships no CUDA binaries: the driver comes with the GPU's driver
/// install, NVRTC and cuBLAS from a toolkit, a distribution package (Debian's libnvrtc11.2) or PyTorch's pip wheels
/// (site-packages/nvidia/*/lib). Probing order: $CUDA_PATH, /usr/local/cuda, /usr/local/cuda-* (newest first),
/// $LD_LIBRARY_PATH, site-packages nvidia/*/lib, then the bare names for the system loader. In each directory the
/// newest major version wins (13, 12, 11). The driver is only ever taken from the system loader: toolkits carry a
/// stub libcuda.so that would load but fail every call.
/// </summary>
public static class CudaLibraries
{
    internal const string DriverName = "pfstorer_cuda";
    internal const string NvrtcName = "pfstorer_nvrtc";
    internal const string CublasName = "pfstorer_cublas";

    private static readonly Dictionary<CudaLibrary, (nint Handle, string Detail)> Loaded = new();
    private static readonly Lock Gate = new();
    private static int _registered;

    public static IReadOnlyList<string> FileNames(CudaLibrary lib) => lib switch
    {
        CudaLibrary.Driver => ["libcuda.so.1"],
        CudaLibrary.Nvrtc => ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"],
        CudaLibrary.Cublas => ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"],
        _ => throw new ArgumentOutOfRangeException(nameof(lib)),
    };

    /// <summary>The directories searched, in order (existing or not).</summary>
    public static IReadOnlyList<string> SearchDirectories(ProbeEnvironment env)
    {
        var dirs = new List<string>();
        if (!string.IsNullOrEmpty(env.CudaPath))
        {
            dirs.Add(Path.Combine(env.CudaPath, "lib64"));
            dirs.Add(Path.Combine(env.CudaPath, "lib"));
        }
        var local = Path.Combine(env.Root, "usr/local");
        dirs.Add(Path.Combine(local, "cuda/lib64"));
        if (Directory.Exists(local))
        {
            foreach (var d in Directory.GetDirectories(local, "cuda-*").OrderByDescending(ToolkitVersion))
                dirs.Add(Path.Combine(d, "lib64"));
        }
        foreach (var d in (env.LdLibraryPath ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)) dirs.Add(d);
        foreach (var site in env.SitePackages)
        {
            var nvidia = Path.Combine(site, "nvidia");
            if (!Directory.Exists(nvidia)) continue;
            foreach (var pkg in Directory.GetDirectories(nvidia).Order(StringComparer.Ordinal)) dirs.Add(Path.Combine(pkg, "lib"));
        }
        return dirs.Distinct().ToList();
    }

    /// <summary>Full paths of existing candidate files in probing order, then the bare names for the system loader.</summary>
    public static IReadOnlyList<string> Candidates(CudaLibrary lib, ProbeEnvironment env)
    {
        var names = FileNames(lib);
        var result = new List<string>();
        if (lib != CudaLibrary.Driver)
        {
            foreach (var dir in SearchDirectories(env))
            foreach (var name in names)
            {
                var path = Path.Combine(dir, name);
                if (File.Exists(path)) result.Add(path);
            }
        }
        result.AddRange(names);
        return result;
    }

    private static Version ToolkitVersion(string dir) =>
        Version.TryParse(Path.GetFileName(dir)["cuda-".Length..], out var v) ? v : new Version(0, 0);

    /// <summary>Loads (once) and returns the library, or false with the list of what was tried.</summary>
    public static bool TryLoad(CudaLibrary lib, out nint handle, out string detail)
    {
        lock (Gate)
        {
            if (!Loaded.TryGetValue(lib, out var entry))
            {
                entry = Probe(lib, ProbeEnvironment.FromProcess());
                Loaded[lib] = entry;
            }
            (handle, detail) = entry;
            return handle != 0;
        }
    }

    private static (nint, string) Probe(CudaLibrary lib, ProbeEnvironment env)
    {
        var tried = new List<string>();
        foreach (var candidate in Candidates(lib, env))
        {
            // cuBLAS needs its cuBLASLt sibling; load it from the same directory first so a non-system install resolves.
            if (lib == CudaLibrary.Cublas && Path.IsPathRooted(candidate))
            {
                var lt = Path.Combine(Path.GetDirectoryName(candidate)!, Path.GetFileName(candidate).Replace("libcublas", "libcublasLt"));
                if (File.Exists(lt)) NativeLibrary.TryLoad(lt, out _);
            }
            if (NativeLibrary.TryLoad(candidate, out var h)) return (h, candidate);
            tried.Add(candidate);
        }
        return (0, $"{lib} library not found (tried {string.Join(", ", tried)})");
    }

    /// <summary>Installs the resolver for this assembly's LibraryImports; the binding classes call it from their static constructors.</summary>
    internal static void EnsureResolver()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1) return;
        NativeLibrary.SetDllImportResolver(typeof(CudaLibraries).Assembly, Resolve);
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        CudaLibrary? lib = name switch
        {
            DriverName => CudaLibrary.Driver,
            NvrtcName => CudaLibrary.Nvrtc,
            CublasName => CudaLibrary.Cublas,
            _ => null,
        };
        if (lib == null) return 0;
        if (TryLoad(lib.Value, out var h, out var detail)) return h;
        throw new DllNotFoundException(detail);
    }
}

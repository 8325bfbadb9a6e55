using System.Runtime.InteropServices;
using System.Text;

namespace PFStorer.Kernels.Cuda;

/// <summary>NVRTC bindings (nvrtc.h). Every call's status is checked by the wrappers at the bottom.</summary>
public static unsafe partial class Nvrtc
{
    static Nvrtc() => CudaLibraries.EnsureResolver();

    public static bool IsAvailable(out string reason)
    {
        if (!CudaLibraries.TryLoad(CudaLibrary.Nvrtc, out _, out reason)) return false;
        reason = "";
        return true;
    }

    [LibraryImport(CudaLibraries.NvrtcName)] private static partial int nvrtcVersion(out int major, out int minor);
    [LibraryImport(CudaLibraries.NvrtcName)] private static partial nint nvrtcGetErrorString(int result);
    [LibraryImport(CudaLibraries.NvrtcName)] private static partial int nvrtcGetNumSupportedArchs(out int count);
    [LibraryImport(CudaLibraries.NvrtcName)] private static partial int nvrtcGetSupportedArchs(int* archs);
    [LibraryImport(CudaLibraries.NvrtcName)]
    private static partial int nvrtcCreateProgram(out nint prog, byte* src, byte* name, int numHeaders, byte** headers, byte** includeNames);
    [LibraryImport(CudaLibraries.NvrtcName)] private static partial int nvrtcDestroyProgram(ref nint prog);
    [LibraryImport(CudaLibraries.NvrtcName)] private static partial int nvrtcCompileProgram(nint prog, int numOptions, byte** options);
    [LibraryImport(CudaLibraries.NvrtcName)] private static partial int nvrtcGetProgramLogSize(nint prog, out nuint size);
    [LibraryImport(CudaLibraries.NvrtcName)] private static partial int nvrtcGetProgramLog(nint prog, byte* log);
    [LibraryImport(CudaLibraries.NvrtcName)] private static partial int nvrtcGetPTXSize(nint prog, out nuint size);
    [LibraryImport(CudaLibraries.NvrtcName)] private static partial int nvrtcGetPTX(nint prog, byte* ptx);
    [LibraryImport(CudaLibraries.NvrtcName)] private static partial int nvrtcGetCUBINSize(nint prog, out nuint size);
    [LibraryImport(CudaLibraries.NvrtcName)] private static partial int nvrtcGetCUBIN(nint prog, byte* cubin);
    [LibraryImport(CudaLibraries.NvrtcName)] private static partial int nvrtcAddNameExpression(nint prog, byte* nameExpression);
    [LibraryImport(CudaLibraries.NvrtcName)] private static partial int nvrtcGetLoweredName(nint prog, byte* nameExpression, out nint loweredName);

    public static Version Version()
    {
        Check(nvrtcVersion(out int major, out int minor), "nvrtcVersion");
        return new Version(major, minor);
    }

    /// <summary>The real architectures this NVRTC can emit CUBIN for (e.g. 80, 86, 90).</summary>
    public static int[] SupportedArchs()
    {
        Check(nvrtcGetNumSupportedArchs(out int n), "nvrtcGetNumSupportedArchs");
        var archs = new int[n];
        fixed (int* p = archs) Check(nvrtcGetSupportedArchs(p), "nvrtcGetSupportedArchs");
        return archs;
    }

    public static string ErrorString(int result) => Marshal.PtrToStringUTF8(nvrtcGetErrorString(result)) ?? CudaErrorNames.Nvrtc(result);

    /// <summary>The output of one compilation: the image (CUBIN or PTX), the log (warnings) and name expression → lowered symbol.</summary>
    public sealed record Result(byte[] Image, bool IsCubin, string Log, IReadOnlyDictionary<string, string> LoweredNames);

    /// <summary>
    /// Compiles <paramref name="source"/> with in-memory <paramref name="headers"/> (include name → text). With
    /// <paramref name="cubin"/> the options must name a real arch (sm_XX); otherwise a virtual one (compute_XX) gives PTX.
    /// A failed compile throws <see cref="CudaException"/> carrying the log.
    /// </summary>
    public static Result Compile(string name, string source, IReadOnlyDictionary<string, string> headers, IReadOnlyList<string> options,
        IReadOnlyList<string> nameExpressions, bool cubin)
    {
        using var strings = new Utf8Strings();
        var headerText = headers.Values.Select(h => (nint)strings.Add(h)).ToArray();
        var headerNames = headers.Keys.Select(h => (nint)strings.Add(h)).ToArray();
        var opts = options.Select(o => (nint)strings.Add(o)).ToArray();
        nint prog;
        fixed (nint* ht = headerText, hn = headerNames)
            Check(nvrtcCreateProgram(out prog, strings.Add(source), strings.Add(name), headers.Count, (byte**)ht, (byte**)hn), "nvrtcCreateProgram");
        try
        {
            foreach (var expr in nameExpressions) Check(nvrtcAddNameExpression(prog, strings.Add(expr)), $"nvrtcAddNameExpression({expr})");
            int status;
            fixed (nint* o = opts) status = nvrtcCompileProgram(prog, opts.Length, (byte**)o);
            string log = ProgramLog(prog);
            if (status != 0)
                throw new CudaException("NVRTC", $"nvrtcCompileProgram({name})", status, CudaErrorNames.Nvrtc(status), ErrorString(status), log);

            byte[] image;
            if (cubin)
            {
                Check(nvrtcGetCUBINSize(prog, out var size), "nvrtcGetCUBINSize");
                image = new byte[(int)size];
                fixed (byte* p = image) Check(nvrtcGetCUBIN(prog, p), "nvrtcGetCUBIN");
            }
            else
            {
                Check(nvrtcGetPTXSize(prog, out var size), "nvrtcGetPTXSize");
                image = new byte[(int)size];   // includes the terminating NUL cuModuleLoadData needs
                fixed (byte* p = image) Check(nvrtcGetPTX(prog, p), "nvrtcGetPTX");
            }

            var lowered = new Dictionary<string, string>();
            foreach (var expr in nameExpressions)
            {
                Check(nvrtcGetLoweredName(prog, strings.Add(expr), out var sym), $"nvrtcGetLoweredName({expr})");
                lowered[expr] = Marshal.PtrToStringUTF8(sym)!;
            }
            return new Result(image, cubin, log, lowered);
        }
        finally
        {
            nvrtcDestroyProgram(ref prog);
        }
    }

    private static string ProgramLog(nint prog)
    {
        Check(nvrtcGetProgramLogSize(prog, out var size), "nvrtcGetProgramLogSize");
        if (size <= 1) return "";
        var buf = new byte[(int)size];
        fixed (byte* p = buf) Check(nvrtcGetProgramLog(prog, p), "nvrtcGetProgramLog");
        return Encoding.UTF8.GetString(buf, 0, buf.Length - 1).Trim();
    }

    private static void Check(int status, string call)
    {
        if (status != 0) throw new CudaException("NVRTC", call, status, CudaErrorNames.Nvrtc(status), ErrorString(status));
    }

    /// <summary>NUL-terminated UTF-8 copies in native memory that live until disposal.</summary>
    private sealed class Utf8Strings : IDisposable
    {
        private readonly List<nint> _blocks = new();

        public byte* Add(string s)
        {
            var p = (byte*)Marshal.StringToCoTaskMemUTF8(s);
            _blocks.Add((nint)p);
            return p;
        }

        public void Dispose()
        {
            foreach (var p in _blocks) Marshal.FreeCoTaskMem(p);
        }
    }
}

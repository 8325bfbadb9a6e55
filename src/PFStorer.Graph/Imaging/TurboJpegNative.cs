using System.Runtime.InteropServices;

namespace PFStorer.Graph.Imaging;

/// <summary>The TurboJPEG 2.x C API (libjpeg-turbo), the subset we use. <c>unsigned long</c> is pointer-sized on LP64.</summary>
internal static partial class TurboJpegNative
{
    static TurboJpegNative() => NativeImageLibraries.EnsureResolver();

    // TJPF: pixel formats.
    public const int PixelRgb = 0, PixelGray = 6, PixelRgba = 7, PixelCmyk = 11;
    // TJCS: JPEG colour spaces reported by the header.
    public const int ColorspaceRgb = 0, ColorspaceYCbCr = 1, ColorspaceGray = 2, ColorspaceCmyk = 3, ColorspaceYcck = 4;
    // TJSAMP: chroma subsampling.
    public const int Subsamp444 = 0, Subsamp420 = 2, SubsampGray = 3;
    // TJFLAG: stop on libjpeg warnings ("Premature end of JPEG file") so truncated files are errors, not grey bars.
    public const int FlagStopOnWarning = 8192;

    [LibraryImport(NativeImageLibraries.TurboJpeg, EntryPoint = "tjInitDecompress")]
    public static partial nint InitDecompress();

    [LibraryImport(NativeImageLibraries.TurboJpeg, EntryPoint = "tjInitCompress")]
    public static partial nint InitCompress();

    [LibraryImport(NativeImageLibraries.TurboJpeg, EntryPoint = "tjDestroy")]
    public static partial int Destroy(nint handle);

    [LibraryImport(NativeImageLibraries.TurboJpeg, EntryPoint = "tjDecompressHeader3")]
    public static unsafe partial int DecompressHeader3(nint handle, byte* jpeg, nuint size, out int width, out int height, out int subsamp, out int colorspace);

    [LibraryImport(NativeImageLibraries.TurboJpeg, EntryPoint = "tjDecompress2")]
    public static unsafe partial int Decompress2(nint handle, byte* jpeg, nuint size, byte* dst, int width, int pitch, int height, int pixelFormat, int flags);

    [LibraryImport(NativeImageLibraries.TurboJpeg, EntryPoint = "tjCompress2")]
    public static unsafe partial int Compress2(nint handle, byte* src, int width, int pitch, int height, int pixelFormat,
        ref nint jpeg, ref nuint size, int subsamp, int quality, int flags);

    [LibraryImport(NativeImageLibraries.TurboJpeg, EntryPoint = "tjFree")]
    public static partial void Free(nint buffer);

    [LibraryImport(NativeImageLibraries.TurboJpeg, EntryPoint = "tjGetErrorStr2")]
    public static partial nint GetErrorStr2(nint handle);

    public static string LastError(nint handle) => Marshal.PtrToStringUTF8(GetErrorStr2(handle)) ?? "unknown TurboJPEG error";
}

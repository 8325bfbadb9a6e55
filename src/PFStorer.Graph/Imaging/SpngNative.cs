using System.Runtime.InteropServices;

namespace PFStorer.Graph.Imaging;

/// <summary>The libspng 0.7 C API, the subset we use.</summary>
internal static unsafe partial class SpngNative
{
    static SpngNative() => NativeImageLibraries.EnsureResolver();

    public const int CtxEncoder = 2;
    // spng_format
    public const int FmtRgba8 = 1, FmtRgba16 = 2, FmtRgb8 = 4, FmtGa8 = 16, FmtGa16 = 32, FmtG8 = 64, FmtPng = 256;
    public const int DecodeTrns = 1;
    public const int EncodeFinalize = 2;
    public const int OptionEncodeToBuffer = 12;
    public const int ColorGray = 0, ColorRgb = 2, ColorIndexed = 3, ColorGrayAlpha = 4, ColorRgba = 6;
    public const int TextPlain = 1;

    [StructLayout(LayoutKind.Sequential)]
    public struct Ihdr
    {
        public uint Width, Height;
        public byte BitDepth, ColorType, CompressionMethod, FilterMethod, InterlaceMethod;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Text
    {
        public fixed byte Keyword[80];
        public int Type;
        public nuint Length;
        public byte* Data;
        public byte CompressionFlag, CompressionMethod;
        public byte* LanguageTag;
        public byte* TranslatedKeyword;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Exif
    {
        public nuint Length;
        public byte* Data;
    }

    [LibraryImport(NativeImageLibraries.Spng, EntryPoint = "spng_ctx_new")]
    public static partial nint CtxNew(int flags);

    [LibraryImport(NativeImageLibraries.Spng, EntryPoint = "spng_ctx_free")]
    public static partial void CtxFree(nint ctx);

    [LibraryImport(NativeImageLibraries.Spng, EntryPoint = "spng_set_png_buffer")]
    public static partial int SetPngBuffer(nint ctx, byte* buf, nuint size);

    [LibraryImport(NativeImageLibraries.Spng, EntryPoint = "spng_set_image_limits")]
    public static partial int SetImageLimits(nint ctx, uint width, uint height);

    [LibraryImport(NativeImageLibraries.Spng, EntryPoint = "spng_get_ihdr")]
    public static partial int GetIhdr(nint ctx, out Ihdr ihdr);

    [LibraryImport(NativeImageLibraries.Spng, EntryPoint = "spng_set_ihdr")]
    public static partial int SetIhdr(nint ctx, ref Ihdr ihdr);

    [LibraryImport(NativeImageLibraries.Spng, EntryPoint = "spng_get_trns")]
    public static partial int GetTrns(nint ctx, byte* trns);

    [LibraryImport(NativeImageLibraries.Spng, EntryPoint = "spng_decoded_image_size")]
    public static partial int DecodedImageSize(nint ctx, int fmt, out nuint size);

    [LibraryImport(NativeImageLibraries.Spng, EntryPoint = "spng_decode_image")]
    public static partial int DecodeImage(nint ctx, byte* dst, nuint size, int fmt, int flags);

    [LibraryImport(NativeImageLibraries.Spng, EntryPoint = "spng_get_text")]
    public static partial int GetText(nint ctx, Text* text, ref uint count);

    [LibraryImport(NativeImageLibraries.Spng, EntryPoint = "spng_set_text")]
    public static partial int SetText(nint ctx, Text* text, uint count);

    [LibraryImport(NativeImageLibraries.Spng, EntryPoint = "spng_get_exif")]
    public static partial int GetExif(nint ctx, out Exif exif);

    [LibraryImport(NativeImageLibraries.Spng, EntryPoint = "spng_set_option")]
    public static partial int SetOption(nint ctx, int option, int value);

    [LibraryImport(NativeImageLibraries.Spng, EntryPoint = "spng_encode_image")]
    public static partial int EncodeImage(nint ctx, byte* img, nuint size, int fmt, int flags);

    [LibraryImport(NativeImageLibraries.Spng, EntryPoint = "spng_get_png_buffer")]
    public static partial nint GetPngBuffer(nint ctx, out nuint size, out int error);

    [LibraryImport(NativeImageLibraries.Spng, EntryPoint = "spng_strerror")]
    public static partial nint StrError(int error);

    public static string Error(int code) => Marshal.PtrToStringUTF8(StrError(code)) ?? $"libspng error {code}";
}

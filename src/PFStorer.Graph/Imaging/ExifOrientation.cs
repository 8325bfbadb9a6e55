using System.Buffers.Binary;

namespace PFStorer.Graph.Imaging;

/// <summary>
/// The EXIF Orientation tag (0x0112) and the transform it asks for. Cameras store pixels as the sensor saw them and
/// record the rotation here; viewers apply it, so a decoder that ignores it hands the model sideways faces.
/// </summary>
public static class ExifOrientation
{
    private const ushort OrientationTag = 0x0112;

    /// <summary>Orientation 1..8 from a TIFF-structured EXIF block ("II*\0" or "MM\0*" first); 1 when absent or malformed.</summary>
    public static int FromTiff(ReadOnlySpan<byte> tiff)
    {
        if (tiff.Length < 8) return 1;
        bool little = tiff[0] == (byte)'I' && tiff[1] == (byte)'I';
        if (!little && !(tiff[0] == (byte)'M' && tiff[1] == (byte)'M')) return 1;
        if (U16(tiff, 2, little) != 42) return 1;
        uint ifd = little ? BinaryPrimitives.ReadUInt32LittleEndian(tiff[4..]) : BinaryPrimitives.ReadUInt32BigEndian(tiff[4..]);
        if (ifd > (uint)tiff.Length - 2) return 1;
        int count = U16(tiff, (int)ifd, little);
        for (int i = 0; i < count; i++)
        {
            int entry = (int)ifd + 2 + 12 * i;
            if (entry + 12 > tiff.Length) return 1;
            if (U16(tiff, entry, little) != OrientationTag) continue;
            // Type SHORT, count 1: the value sits left-justified in the 4-byte value field.
            int value = U16(tiff, entry + 8, little);
            return value is >= 1 and <= 8 ? value : 1;
        }
        return 1;
    }

    private static ushort U16(ReadOnlySpan<byte> b, int at, bool little)
        => little ? BinaryPrimitives.ReadUInt16LittleEndian(b[at..]) : BinaryPrimitives.ReadUInt16BigEndian(b[at..]);

    /// <summary>Orientation from a JPEG's APP1 "Exif\0\0" segment (scanned up to the first SOS); 1 when absent.</summary>
    public static int FromJpeg(ReadOnlySpan<byte> jpeg)
    {
        if (jpeg.Length < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) return 1;
        int at = 2;
        while (at + 4 <= jpeg.Length)
        {
            if (jpeg[at] != 0xFF) return 1;
            byte marker = jpeg[at + 1];
            if (marker == 0xFF) { at++; continue; }      // fill byte
            if (marker == 0xDA || marker == 0xD9) return 1; // start of scan / end of image: no more headers
            int length = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(at + 2)..]);
            if (length < 2 || at + 2 + length > jpeg.Length) return 1;
            var payload = jpeg.Slice(at + 4, length - 2);
            if (marker == 0xE1 && payload.Length > 6 && payload[..6].SequenceEqual("Exif\0\0"u8))
                return FromTiff(payload[6..]);
            at += 2 + length;
        }
        return 1;
    }

    /// <summary>Returns the image as it should be displayed (a new image; the input itself when orientation is 1).</summary>
    public static Image Apply(Image src, int orientation)
    {
        if (orientation is <= 1 or > 8) return src;
        int w = src.Width, h = src.Height, c = src.Channels;
        bool swap = orientation >= 5; // 5..8 transpose the axes
        int ow = swap ? h : w, oh = swap ? w : h;
        var map = new int[ow * oh]; // destination pixel → source pixel
        for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
        {
            (int sx, int sy) = orientation switch
            {
                2 => (w - 1 - x, y),             // mirror horizontal
                3 => (w - 1 - x, h - 1 - y),     // rotate 180
                4 => (x, h - 1 - y),             // mirror vertical
                5 => (y, x),                     // transpose
                6 => (y, h - 1 - x),             // rotate 90 clockwise
                7 => (w - 1 - y, h - 1 - x),     // transverse
                _ => (w - 1 - y, x),             // 8: rotate 270 clockwise
            };
            map[y * ow + x] = sy * w + sx;
        }
        if (src.Kind == PixelKind.U8)
        {
            var dst = new byte[src.Length];
            for (int p = 0; p < map.Length; p++) src.U8.AsSpan(map[p] * c, c).CopyTo(dst.AsSpan(p * c, c));
            return Image.FromU8(dst, ow, oh, c);
        }
        var f = new float[src.Length];
        for (int p = 0; p < map.Length; p++) src.F32.AsSpan(map[p] * c, c).CopyTo(f.AsSpan(p * c, c));
        return Image.FromF32(f, ow, oh, c);
    }
}

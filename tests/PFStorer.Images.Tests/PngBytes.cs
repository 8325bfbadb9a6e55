using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace PFStorer.Images.Tests;

/// <summary>
/// Hand-built PNG files for decoder tests, independent of the encoder under test: chunks with their CRC-32, filter type 0
/// on every row, zlib-compressed IDAT. Samples are given already packed the way the PNG format stores them.
/// </summary>
internal static class PngBytes
{
    public static byte[] Build(int width, int height, int bitDepth, int colorType, byte[] packedRows,
        byte[]? palette = null, byte[]? transparency = null, byte[]? exif = null)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)height);
        ihdr[8] = (byte)bitDepth;
        ihdr[9] = (byte)colorType;
        Chunk(png, "IHDR", ihdr);
        if (palette != null) Chunk(png, "PLTE", palette);
        if (transparency != null) Chunk(png, "tRNS", transparency);
        if (exif != null) Chunk(png, "eXIf", exif);
        int rowBytes = height == 0 ? 0 : packedRows.Length / height;
        using var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0); // filter type None
            raw.Write(packedRows, y * rowBytes, rowBytes);
        }
        using var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true)) raw.WriteTo(zs);
        Chunk(png, "IDAT", z.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> u32 = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(u32, (uint)data.Length);
        s.Write(u32);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(u32, Crc32(typed));
        s.Write(u32);
    }

    /// <summary>CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320) as the PNG specification defines it.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>A minimal big-endian TIFF block with one IFD entry: Orientation (0x0112, SHORT, 1) = value.</summary>
    public static byte[] ExifOrientation(int value, bool littleEndian = false)
    {
        var t = new byte[8 + 2 + 12 + 4];
        if (littleEndian)
        {
            "II"u8.CopyTo(t);
            BinaryPrimitives.WriteUInt16LittleEndian(t.AsSpan(2), 42);
            BinaryPrimitives.WriteUInt32LittleEndian(t.AsSpan(4), 8);
            BinaryPrimitives.WriteUInt16LittleEndian(t.AsSpan(8), 1);
            BinaryPrimitives.WriteUInt16LittleEndian(t.AsSpan(10), 0x0112);
            BinaryPrimitives.WriteUInt16LittleEndian(t.AsSpan(12), 3);
            BinaryPrimitives.WriteUInt32LittleEndian(t.AsSpan(14), 1);
            BinaryPrimitives.WriteUInt16LittleEndian(t.AsSpan(18), (ushort)value);
        }
        else
        {
            "MM"u8.CopyTo(t);
            BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(2), 42);
            BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(4), 8);
            BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(8), 1);
            BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(10), 0x0112);
            BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(12), 3);
            BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(14), 1);
            BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(18), (ushort)value);
        }
        return t;
    }

    /// <summary>Inserts an APP1 "Exif\0\0" segment right after a JPEG's SOI marker.</summary>
    public static byte[] WithJpegExif(byte[] jpeg, byte[] tiff)
    {
        var payload = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        var segment = new byte[4 + payload.Length];
        segment[0] = 0xFF;
        segment[1] = 0xE1;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), (ushort)(payload.Length + 2));
        payload.CopyTo(segment, 4);
        return jpeg[..2].Concat(segment).Concat(jpeg[2..]).ToArray();
    }
}

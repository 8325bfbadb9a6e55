using System.Buffers.Binary;
using System.Text;

namespace PFStorer.Graph.Checkpoints;

/// <summary>A ZIP entry: where its (stored) bytes are in the file.</summary>
internal sealed record ZipEntry(string Name, ushort Method, long DataOffset, long CompressedSize, long Size)
{
    public bool IsStored => Method == 0;
}

/// <summary>
/// Minimal ZIP central-directory reader for PyTorch checkpoints (torch.save writes stored, 64-byte aligned entries,
/// with ZIP64 records past 4 GB). It never inflates anything, so compressed entries are reported, not expanded, and
/// every size and offset is bounded by the file: zip bombs and absurd sizes fail fast, before any allocation.
/// </summary>
internal static class ZipDirectory
{
    private const uint EndSignature = 0x06054b50, Zip64EndSignature = 0x06064b50, Zip64LocatorSignature = 0x07064b50;
    private const uint CentralSignature = 0x02014b50, LocalSignature = 0x04034b50;
    private const int MaxEntries = 1_000_000;
    private const long MaxCentralDirectoryBytes = 256 << 20;

    public static Dictionary<string, ZipEntry> Read(ByteSource src)
    {
        string file = src.Name;
        long len = src.Length;
        if (len < 22) throw new CheckpointFormatException(file, $"truncated zip: {len} bytes is too short for an end-of-central-directory record");

        // The end record sits at the very end, followed only by its comment (at most 65535 bytes).
        int tailLength = (int)Math.Min(len, 22 + 65535);
        var tail = src.ReadArray(len - tailLength, tailLength);
        int eocd = -1;
        for (int i = tailLength - 22; i >= 0; i--)
            if (U32(tail, i) == EndSignature && i + 22 + U16(tail, i + 20) == tailLength) { eocd = i; break; }
        if (eocd < 0) throw new CheckpointFormatException(file, "truncated or damaged zip: no end-of-central-directory record at the end of the file");
        long eocdPos = len - tailLength + eocd;

        if (U16(tail, eocd + 4) != 0 || U16(tail, eocd + 6) != 0) throw new CheckpointFormatException(file, "multi-disk zip archives are not supported");
        long count = U16(tail, eocd + 10), cdSize = U32(tail, eocd + 12), cdOffset = U32(tail, eocd + 16);
        long cdLimit = eocdPos;
        if (eocdPos >= 20 && U32(src.ReadArray(eocdPos - 20, 20), 0) == Zip64LocatorSignature)
        {
            var locator = src.ReadArray(eocdPos - 20, 20);
            long z64 = checked((long)U64(locator, 8));
            if (z64 < 0 || z64 > eocdPos - 20 - 56) throw new CheckpointFormatException(file, $"ZIP64 end record offset {z64} is outside the file");
            var rec = src.ReadArray(z64, 56);
            if (U32(rec, 0) != Zip64EndSignature) throw new CheckpointFormatException(file, "ZIP64 locator does not point at a ZIP64 end record");
            count = Bounded(file, U64(rec, 32), MaxEntries, "entry count");
            cdSize = Bounded(file, U64(rec, 40), MaxCentralDirectoryBytes, "central directory size");
            cdOffset = Bounded(file, U64(rec, 48), len, "central directory offset");
            cdLimit = z64;
        }
        if (count > MaxEntries || cdSize > MaxCentralDirectoryBytes || cdOffset > cdLimit || cdSize > cdLimit - cdOffset || count * 46 > cdSize)
            throw new CheckpointFormatException(file, $"zip central directory ({count} entries, {cdSize} bytes at {cdOffset}) does not fit in the file");

        var cd = src.ReadArray(cdOffset, (int)cdSize);
        var entries = new Dictionary<string, ZipEntry>((int)count, StringComparer.Ordinal);
        var extents = new List<(long Start, long End, string Name)>((int)count);
        int p = 0;
        for (long n = 0; n < count; n++)
        {
            if (p > cd.Length - 46 || U32(cd, p) != CentralSignature) throw new CheckpointFormatException(file, $"zip central directory entry {n} is damaged");
            ushort flags = U16(cd, p + 8), method = U16(cd, p + 10);
            long csize = U32(cd, p + 20), usize = U32(cd, p + 24), local = U32(cd, p + 42);
            int nameLen = U16(cd, p + 28), extraLen = U16(cd, p + 30), commentLen = U16(cd, p + 32);
            if (p + 46 + nameLen + extraLen + commentLen > cd.Length) throw new CheckpointFormatException(file, $"zip central directory entry {n} runs past the directory");
            string name;
            try { name = new UTF8Encoding(false, true).GetString(cd, p + 46, nameLen); }
            catch (DecoderFallbackException) { throw new CheckpointFormatException(file, $"zip entry {n} has a name that is not UTF-8"); }
            if ((flags & 1) != 0) throw new CheckpointFormatException(file, $"zip entry '{name}' is encrypted");
            ReadZip64Extra(file, name, cd.AsSpan(p + 46 + nameLen, extraLen), ref usize, ref csize, ref local);
            p += 46 + nameLen + extraLen + commentLen;

            if (csize > len || (usize > len && method == 0)) throw new CheckpointFormatException(file, $"zip entry '{name}' claims {usize} bytes, more than the whole file");
            if (method == 0 && csize != usize) throw new CheckpointFormatException(file, $"stored zip entry '{name}' has different sizes ({csize} vs {usize})");
            if (local > cdOffset - 30) throw new CheckpointFormatException(file, $"zip entry '{name}' has its local header outside the data area");
            var lh = src.ReadArray(local, 30);
            if (U32(lh, 0) != LocalSignature) throw new CheckpointFormatException(file, $"zip entry '{name}' does not point at a local header");
            long data = local + 30 + U16(lh, 26) + U16(lh, 28);
            if (data > cdOffset || csize > cdOffset - data) throw new CheckpointFormatException(file, $"zip entry '{name}' ({csize} bytes at {data}) runs into the central directory");
            if (!entries.TryAdd(name, new ZipEntry(name, method, data, csize, usize))) throw new CheckpointFormatException(file, $"zip entry '{name}' appears twice");
            extents.Add((local, data + csize, name));
        }
        // Entries sharing bytes are the trick behind non-recursive zip bombs; a torch archive never does it.
        extents.Sort((a, b) => a.Start.CompareTo(b.Start));
        for (int i = 1; i < extents.Count; i++)
            if (extents[i].Start < extents[i - 1].End)
                throw new CheckpointFormatException(file, $"zip entries '{extents[i - 1].Name}' and '{extents[i].Name}' overlap");
        return entries;
    }

    private static void ReadZip64Extra(string file, string name, ReadOnlySpan<byte> extra, ref long usize, ref long csize, ref long local)
    {
        while (extra.Length >= 4)
        {
            int id = BinaryPrimitives.ReadUInt16LittleEndian(extra), size = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (size > extra.Length - 4) throw new CheckpointFormatException(file, $"zip entry '{name}' has a damaged extra field");
            if (id == 1)
            {
                var f = extra.Slice(4, size);
                int q = 0;
                if (usize == uint.MaxValue) usize = Next(ref f, ref q);
                if (csize == uint.MaxValue) csize = Next(ref f, ref q);
                if (local == uint.MaxValue) local = Next(ref f, ref q);
            }
            extra = extra[(4 + size)..];
        }

        long Next(ref ReadOnlySpan<byte> f, ref int q)
        {
            if (q + 8 > f.Length) throw new CheckpointFormatException(file, $"zip entry '{name}' has a short ZIP64 extra field");
            ulong v = BinaryPrimitives.ReadUInt64LittleEndian(f[q..]);
            q += 8;
            return v > long.MaxValue ? throw new CheckpointFormatException(file, $"zip entry '{name}' has an absurd ZIP64 size {v}") : (long)v;
        }
    }

    private static long Bounded(string file, ulong value, long max, string what) =>
        value > (ulong)max ? throw new CheckpointFormatException(file, $"zip {what} {value} is out of range (limit {max})") : (long)value;

    private static ushort U16(byte[] b, int i) => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(i));
    private static uint U32(byte[] b, int i) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(i));
    private static ulong U64(byte[] b, int i) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(i));
}

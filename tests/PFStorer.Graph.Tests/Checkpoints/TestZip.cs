using System.Buffers.Binary;
using System.Text;

namespace PFStorer.Graph.Tests.Checkpoints;

/// <summary>One entry for <see cref="TestZip"/>; Method and ClaimedSize let tests lie about compression and sizes.</summary>
internal sealed record TestZipEntry(string Name, byte[] Data, ushort Method = 0, long? ClaimedSize = null, int? LocalHeaderOf = null);

/// <summary>
/// A tiny ZIP writer for building test archives the way torch.save lays them out (stored entries), optionally with
/// ZIP64 records everywhere (as a > 4 GB checkpoint has them), and with the deliberate defects the hostile tests need.
/// </summary>
internal static class TestZip
{
    public static byte[] Write(IReadOnlyList<TestZipEntry> entries, bool zip64 = false)
    {
        using var ms = new MemoryStream();
        var w = new BinaryWriter(ms);
        var offsets = new long[entries.Count];
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            if (e.LocalHeaderOf is int shared) { offsets[i] = offsets[shared]; continue; } // overlapping entries
            offsets[i] = ms.Position;
            var name = Encoding.UTF8.GetBytes(e.Name);
            w.Write(0x04034b50u); w.Write((ushort)45); w.Write((ushort)0); w.Write(e.Method); w.Write(0u); w.Write(0u);
            w.Write((uint)e.Data.Length); w.Write((uint)(e.ClaimedSize ?? e.Data.Length));
            w.Write((ushort)name.Length); w.Write((ushort)0);
            w.Write(name);
            w.Write(e.Data);
        }
        long cdStart = ms.Position;
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            var name = Encoding.UTF8.GetBytes(e.Name);
            long usize = e.ClaimedSize ?? e.Data.Length;
            w.Write(0x02014b50u); w.Write((ushort)45); w.Write((ushort)45); w.Write((ushort)0); w.Write(e.Method);
            w.Write(0u); w.Write(0u);
            w.Write(zip64 ? uint.MaxValue : (uint)e.Data.Length);
            w.Write(zip64 ? uint.MaxValue : (uint)usize);
            w.Write((ushort)name.Length); w.Write((ushort)(zip64 ? 28 : 0)); w.Write((ushort)0);
            w.Write((ushort)0); w.Write((ushort)0); w.Write(0u);
            w.Write(zip64 ? uint.MaxValue : (uint)offsets[i]);
            w.Write(name);
            if (zip64) { w.Write((ushort)1); w.Write((ushort)24); w.Write(usize); w.Write((long)e.Data.Length); w.Write(offsets[i]); }
        }
        long cdSize = ms.Position - cdStart;
        if (zip64)
        {
            long z64 = ms.Position;
            w.Write(0x06064b50u); w.Write(44L); w.Write((ushort)45); w.Write((ushort)45); w.Write(0u); w.Write(0u);
            w.Write((long)entries.Count); w.Write((long)entries.Count); w.Write(cdSize); w.Write(cdStart);
            w.Write(0x07064b50u); w.Write(0u); w.Write(z64); w.Write(1u);
        }
        w.Write(0x06054b50u); w.Write((ushort)0); w.Write((ushort)0);
        w.Write(zip64 ? ushort.MaxValue : (ushort)entries.Count); w.Write(zip64 ? ushort.MaxValue : (ushort)entries.Count);
        w.Write(zip64 ? uint.MaxValue : (uint)cdSize); w.Write(zip64 ? uint.MaxValue : (uint)cdStart);
        w.Write((ushort)0);
        w.Flush();
        return ms.ToArray();
    }

    /// <summary>A torch.save-style archive: prefix/data.pkl, prefix/data/&lt;key&gt; storages, prefix/version.</summary>
    public static byte[] TorchCheckpoint(byte[] pickle, IEnumerable<(string Key, byte[] Data)> storages, bool zip64 = false, string prefix = "archive") =>
        Write([new($"{prefix}/data.pkl", pickle), .. storages.Select(s => new TestZipEntry($"{prefix}/data/{s.Key}", s.Data)), new($"{prefix}/version", "3\n"u8.ToArray())], zip64);

    public static byte[] U32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); return b; }
}

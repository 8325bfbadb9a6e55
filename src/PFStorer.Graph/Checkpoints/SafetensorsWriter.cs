using System.Text.Json;

namespace PFStorer.Graph.Checkpoints;

/// <summary>One tensor to write: its header fields and a callback that writes exactly numel·size little-endian bytes.</summary>
public sealed record SafetensorsEntry(string Name, CheckpointDType DType, int[] Shape, Action<Stream> WriteData)
{
    public long Bytes => Shape.Aggregate(1L, (a, d) => checked(a * d)) * DType.Size();
}

/// <summary>
/// Writes safetensors files the way the reference implementation does: keys sorted (ordinal), <c>__metadata__</c>
/// first, data in key order, JSON header padded with spaces to a multiple of 8 bytes. Data is streamed entry by entry,
/// and the file appears atomically (written to a temporary file beside it, then renamed over the target).
/// </summary>
public static class SafetensorsWriter
{
    /// <param name="cancel">observed between tensors; a cancelled write leaves neither the target nor a temporary file.</param>
    public static void Write(string path, IEnumerable<SafetensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancel = default)
    {
        var sorted = entries.OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        for (int i = 0; i < sorted.Count; i++)
        {
            if (sorted[i].Name.Length == 0 || sorted[i].Name == "__metadata__") throw new ArgumentException($"{path}: invalid tensor name '{sorted[i].Name}'");
            if (i > 0 && sorted[i].Name == sorted[i - 1].Name) throw new ArgumentException($"{path}: tensor name '{sorted[i].Name}' given twice");
        }
        var header = BuildHeader(sorted, metadata);
        AtomicFile.Write(path, stream =>
        {
            stream.Write(BitConverter.IsLittleEndian ? BitConverter.GetBytes((ulong)header.Length) : throw new PlatformNotSupportedException("big-endian host"));
            stream.Write(header);
            foreach (var e in sorted)
            {
                cancel.ThrowIfCancellationRequested();
                long before = stream.Position;
                e.WriteData(stream);
                if (stream.Position - before != e.Bytes)
                    throw new InvalidOperationException($"{path}: tensor '{e.Name}' wrote {stream.Position - before} bytes, expected {e.Bytes}");
            }
        }, cancel: cancel);
    }

    /// <summary>Writes CPU tensors in their own dtypes (non-contiguous views are written in row-major order).</summary>
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        Write(path, tensors.Select(t => new SafetensorsEntry(t.Name, CheckpointDTypeInfo.FromEngine(t.Tensor.DType), t.Tensor.ShapeArray(), s => WriteTensor(s, t.Tensor))), metadata);

    private static unsafe void WriteTensor(Stream stream, Tensor tensor)
    {
        using var c = tensor.Contiguous(tensor.DType, Device.Cpu);
        byte* p = (byte*)c.DataPointer;
        long bytes = c.Numel * PFStorer.Kernels.DTypeInfo.Size(c.DType);
        for (long done = 0; done < bytes;)
        {
            int n = (int)Math.Min(1 << 30, bytes - done);
            stream.Write(new ReadOnlySpan<byte>(p + done, n));
            done += n;
        }
    }

    private static byte[] BuildHeader(List<SafetensorsEntry> sorted, IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var e in sorted)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", e.DType.SafetensorsName());
                w.WriteStartArray("shape");
                foreach (int d in e.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset += e.Bytes);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int padded = (int)((ms.Length + 7) / 8 * 8);
        while (ms.Length < padded) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }
}

using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace PFStorer.Graph.Checkpoints;

/// <summary>
/// Reader for the safetensors format: u64 little-endian header length, a UTF-8 JSON header
/// (<c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}</c>), then the raw
/// little-endian data; offsets are relative to the end of the header. Everything in the header is checked before any
/// tensor is read: sizes, UTF-8, JSON shape, dtype names, and offsets (in range, non-overlapping, length = numel·size).
/// </summary>
public sealed class SafetensorsCheckpoint : Checkpoint
{
    /// <summary>The reference implementation's header limit; a larger claim is a corrupt or hostile file.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public override string Format => "safetensors";
    /// <summary>Bytes of the length prefix plus the JSON header (what inspecting the file reads).</summary>
    public long HeaderBytes { get; }

    private SafetensorsCheckpoint(ByteSource source, IReadOnlyList<CheckpointTensor> tensors, IReadOnlyDictionary<string, string> metadata, long headerBytes)
        : base(source, tensors, metadata) => HeaderBytes = headerBytes;

    internal static SafetensorsCheckpoint Read(ByteSource source)
    {
        string file = source.Name;
        if (source.Length < 8) throw new CheckpointFormatException(file, $"too short for a safetensors header ({source.Length} bytes)");
        ulong claimed = BinaryPrimitives.ReadUInt64LittleEndian(source.ReadArray(0, 8));
        if (claimed > MaxHeaderBytes)
            throw new CheckpointFormatException(file, $"safetensors header claims {claimed} bytes; the limit is {MaxHeaderBytes}");
        if ((long)claimed > source.Length - 8)
            throw new CheckpointFormatException(file, $"safetensors header claims {claimed} bytes but only {source.Length - 8} follow the length prefix");
        int headerLength = (int)claimed;
        long dataStart = 8 + headerLength, dataLength = source.Length - dataStart;

        var headerBytes = source.ReadArray(8, headerLength);
        try { _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetCharCount(headerBytes); }
        catch (DecoderFallbackException e) { throw new CheckpointFormatException(file, $"safetensors header is not valid UTF-8 (at byte {8 + e.Index})"); }

        JsonDocument doc;
        try
        {
            // A streaming count first: a header of millions of entries is refused before a document is built for it.
            CheckTensorCount(file, TopLevelEntries(headerBytes) - 1);   // one entry may be __metadata__
            doc = JsonDocument.Parse(headerBytes, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e) { throw new CheckpointFormatException(file, $"safetensors header is not valid JSON: {e.Message}"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException(file, $"safetensors header is a JSON {doc.RootElement.ValueKind}, not an object");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<(CheckpointTensor Tensor, long Begin, long End)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name)) throw new CheckpointFormatException(file, $"safetensors header names '{prop.Name}' twice");
                if (prop.Name == "__metadata__") ReadMetadata(file, prop.Value, metadata);
                else
                {
                    CheckTensorCount(file, entries.Count);
                    entries.Add(ReadEntry(file, prop.Name, prop.Value, dataStart, dataLength));
                }
            }
            // File order = data order; adjacent entries must not overlap (zero-length entries overlap nothing).
            entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            int reach = -1; // the entry reaching furthest so far
            for (int i = 0; i < entries.Count; i++)
            {
                var cur = entries[i];
                if (cur.End == cur.Begin) continue;
                if (reach >= 0 && cur.Begin < entries[reach].End)
                {
                    var prev = entries[reach];
                    throw new CheckpointFormatException(file, $"tensors '{prev.Tensor.Name}' [{prev.Begin},{prev.End}) and '{cur.Tensor.Name}' [{cur.Begin},{cur.End}) overlap");
                }
                reach = i;
            }
            return new SafetensorsCheckpoint(source, entries.ConvertAll(e => e.Tensor), metadata, dataStart);
        }
    }

    /// <summary>Properties of the root object, counted up to one past the limit without building anything.</summary>
    private static int TopLevelEntries(byte[] header)
    {
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { MaxDepth = 8 });
        int count = 0;
        while (count <= MaxTensors + 1 && reader.Read())
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1) count++;
        return count;
    }

    private static void ReadMetadata(string file, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object) throw new CheckpointFormatException(file, "__metadata__ must be an object of strings");
        foreach (var m in value.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String) throw new CheckpointFormatException(file, $"__metadata__ entry '{m.Name}' is a {m.Value.ValueKind}, not a string");
            if (!metadata.TryAdd(m.Name, m.Value.GetString()!)) throw new CheckpointFormatException(file, $"__metadata__ names '{m.Name}' twice");
        }
    }

    private static (CheckpointTensor, long, long) ReadEntry(string file, string name, JsonElement e, long dataStart, long dataLength)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new CheckpointFormatException(file, $"entry '{name}' is a {e.ValueKind}, not an object");
        JsonElement? dtypeEl = null, shapeEl = null, offsetsEl = null;
        foreach (var f in e.EnumerateObject())
        {
            switch (f.Name)
            {
                case "dtype" when dtypeEl == null: dtypeEl = f.Value; break;
                case "shape" when shapeEl == null: shapeEl = f.Value; break;
                case "data_offsets" when offsetsEl == null: offsetsEl = f.Value; break;
                default: throw new CheckpointFormatException(file, $"entry '{name}' has an unexpected or repeated field '{f.Name}'");
            }
        }
        if (dtypeEl is not { ValueKind: JsonValueKind.String } d || !CheckpointDTypeInfo.TryParseSafetensorsName(d.GetString()!, out var dtype))
            throw new CheckpointFormatException(file, $"entry '{name}' has a missing or unknown dtype ({dtypeEl?.ToString() ?? "none"})");
        if (shapeEl is not { ValueKind: JsonValueKind.Array } s)
            throw new CheckpointFormatException(file, $"entry '{name}' has no shape array");
        var shape = new int[s.GetArrayLength()];
        int k = 0;
        foreach (var dim in s.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt32(out shape[k]) || shape[k] < 0)
                throw new CheckpointFormatException(file, $"entry '{name}' has a bad dimension {dim} in its shape");
            k++;
        }
        if (offsetsEl is not { ValueKind: JsonValueKind.Array } o || o.GetArrayLength() != 2
            || !o[0].TryGetInt64(out long begin) || !o[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw new CheckpointFormatException(file, $"entry '{name}' has bad data_offsets ({offsetsEl?.ToString() ?? "none"})");
        if (end > dataLength)
            throw new CheckpointFormatException(file, $"entry '{name}' data_offsets [{begin},{end}) lie outside the {dataLength} data bytes");
        var tensor = new CheckpointTensor(file, name, dtype, shape, null, 0, dataStart + begin, end - begin);
        if (tensor.Bytes != end - begin)
            throw new CheckpointFormatException(file, $"entry '{name}' {tensor.ShapeString} {dtype} needs {tensor.Bytes} bytes but data_offsets give {end - begin}");
        return (tensor, begin, end);
    }
}

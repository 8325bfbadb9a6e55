using System.Text.Json;

namespace PFStorer.Graph.Checkpoints;

/// <summary>One weight of a TensorFlow.js model: its name, shape (TensorFlow layout) and values, dequantized to f32.</summary>
public sealed record TfjsWeight(string Name, int[] Shape, float[] Values);

/// <summary>
/// Reads a TensorFlow.js weights manifest (<c>NAME-weights_manifest.json</c>) and the binary shards it lists, as
/// face-api publishes its models (docs/faces.md). The manifest is a list of groups, each naming its shard files and
/// the weights stored in them back to back, in order. A weight is float32 (4 bytes each, little-endian) or, when it
/// has a "quantization" entry, uint8/uint16 codes q that stand for q·scale + min (computed in double, stored as f32,
/// as tfjs does). Every problem is a <see cref="CheckpointFormatException"/> naming the file.
/// </summary>
public static class TfjsWeights
{
    public static IReadOnlyList<TfjsWeight> Read(string manifestPath)
    {
        if (!File.Exists(manifestPath)) throw new FileNotFoundException($"{manifestPath}: no such weights manifest", manifestPath);
        var dir = Path.GetDirectoryName(Path.GetFullPath(manifestPath))!;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(manifestPath)); }
        catch (JsonException e) { throw new CheckpointFormatException(manifestPath, $"not JSON: {e.Message}"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new CheckpointFormatException(manifestPath, "expected a list of weight groups");
            var weights = new List<TfjsWeight>();
            foreach (var group in doc.RootElement.EnumerateArray())
            {
                var bytes = ReadShards(manifestPath, dir, group);
                long offset = 0;
                foreach (var spec in Array(manifestPath, group, "weights"))
                {
                    var w = Decode(manifestPath, spec, bytes, ref offset);
                    weights.Add(w);
                }
                if (offset != bytes.Length)
                    throw new CheckpointFormatException(manifestPath, $"the shards hold {bytes.Length} bytes but the weights describe {offset}");
            }
            var dup = weights.GroupBy(w => w.Name).FirstOrDefault(g => g.Count() > 1);
            if (dup != null) throw new CheckpointFormatException(manifestPath, $"weight '{dup.Key}' appears twice");
            return weights;
        }
    }

    private static byte[] ReadShards(string manifestPath, string dir, JsonElement group)
    {
        using var all = new MemoryStream();
        foreach (var p in Array(manifestPath, group, "paths"))
        {
            var name = p.GetString() ?? "";
            if (name.Length == 0 || name.Contains('/') || name.Contains('\\') || name.StartsWith('.'))
                throw new CheckpointFormatException(manifestPath, $"shard path '{name}' must be a plain file name beside the manifest");
            var path = Path.Combine(dir, name);
            if (!File.Exists(path)) throw new CheckpointFormatException(manifestPath, $"shard '{name}' is missing");
            using var f = File.OpenRead(path);
            f.CopyTo(all);
        }
        return all.ToArray();
    }

    private static TfjsWeight Decode(string file, JsonElement spec, byte[] bytes, ref long offset)
    {
        string name = spec.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
        if (name.Length == 0) throw new CheckpointFormatException(file, "a weight has no name");
        if (!spec.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array)
            throw new CheckpointFormatException(file, $"weight '{name}' has no shape");
        var shape = shapeEl.EnumerateArray().Select(d => d.TryGetInt32(out int v) && v >= 0 ? v : throw new CheckpointFormatException(file, $"weight '{name}' has a bad dimension {d}")).ToArray();
        long numel = shape.Aggregate(1L, (a, b) => a * b);
        string dtype = spec.TryGetProperty("dtype", out var dt) ? dt.GetString() ?? "" : "";
        if (dtype != "float32") throw new CheckpointFormatException(file, $"weight '{name}' is {dtype}; only float32 weights are supported");
        var values = new float[numel];
        if (spec.TryGetProperty("quantization", out var q) && q.ValueKind == JsonValueKind.Object)
        {
            string qtype = q.TryGetProperty("dtype", out var qt) ? qt.GetString() ?? "" : "";
            int size = qtype switch
            {
                "uint8" => 1,
                "uint16" => 2,
                _ => throw new CheckpointFormatException(file, $"weight '{name}' uses quantization '{qtype}'; only uint8 and uint16 are supported"),
            };
            if (!q.TryGetProperty("scale", out var s) || !q.TryGetProperty("min", out var m))
                throw new CheckpointFormatException(file, $"weight '{name}' is quantized without scale and min");
            double scale = s.GetDouble(), min = m.GetDouble();
            CheckRange(file, name, bytes, offset, numel * size);
            for (long i = 0; i < numel; i++)
            {
                int code = size == 1 ? bytes[offset + i] : BitConverter.ToUInt16(bytes, (int)(offset + 2 * i));
                values[i] = (float)(code * scale + min);
            }
            offset += numel * size;
        }
        else
        {
            CheckRange(file, name, bytes, offset, numel * 4);
            Buffer.BlockCopy(bytes, (int)offset, values, 0, (int)(numel * 4));
            offset += numel * 4;
        }
        return new TfjsWeight(name, shape, values);
    }

    private static void CheckRange(string file, string name, byte[] bytes, long offset, long length)
    {
        if (offset + length > bytes.Length)
            throw new CheckpointFormatException(file, $"weight '{name}' needs bytes {offset}..{offset + length} but the shards end at {bytes.Length}");
    }

    private static JsonElement.ArrayEnumerator Array(string file, JsonElement obj, string key) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(key, out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray()
            : throw new CheckpointFormatException(file, $"a weight group has no '{key}' list");
}

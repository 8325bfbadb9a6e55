using System.Buffers.Binary;
using System.Text.Json;

namespace PFStorer.Graph.Tests.Sampling;

/// <summary>
/// Reads the golden safetensors fixtures (F64/F32/I64/U8) into managed arrays: a test-side reader so the sampling
/// tests do not depend on the engine's own checkpoint loader, which is what other tests check.
/// </summary>
internal sealed class FixtureFile
{
    private readonly byte[] _data;
    private readonly Dictionary<string, (string DType, int[] Shape, int Start, int End)> _entries = [];

    public FixtureFile(params string[] path)
    {
        var file = Fixtures.Path(path);
        var bytes = File.ReadAllBytes(file);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        foreach (var e in header.RootElement.EnumerateObject())
        {
            if (e.Name == "__metadata__") continue;
            var offsets = e.Value.GetProperty("data_offsets");
            _entries[e.Name] = (e.Value.GetProperty("dtype").GetString()!,
                e.Value.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray(),
                offsets[0].GetInt32(), offsets[1].GetInt32());
        }
        _data = bytes[(8 + (int)headerLength)..];
    }

    public IEnumerable<string> Keys => _entries.Keys;

    public int[] Shape(string key) => _entries[key].Shape;

    public double[] Doubles(string key)
    {
        var (dtype, _, start, end) = _entries[key];
        var span = _data.AsSpan(start, end - start);
        return dtype switch
        {
            "F64" => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(span).ToArray(),
            "F32" => Array.ConvertAll(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(span).ToArray(), v => (double)v),
            "I64" => Array.ConvertAll(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(span).ToArray(), v => (double)v),
            "U8" => Array.ConvertAll(span.ToArray(), v => (double)v),
            _ => throw new NotSupportedException($"{key}: dtype {dtype}"),
        };
    }

    public float[] Floats(string key) => Array.ConvertAll(Doubles(key), v => (float)v);

    public long[] Longs(string key) => Array.ConvertAll(Doubles(key), v => (long)v);

    public Tensor Tensor(string key) => Graph.Tensor.FromArray(Floats(key), Shape(key));
}

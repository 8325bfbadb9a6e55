using System.Runtime.InteropServices;
using PFStorer.Graph.Checkpoints;

namespace PFStorer.Graph.Tests.Sampling;

/// <summary>A golden safetensors fixture read through the engine's checkpoint reader, as float64 / int64 / f32 tensors.</summary>
internal sealed class FixtureFile
{
    private readonly Checkpoint _file;

    public FixtureFile(params string[] path) => _file = Checkpoint.Open(Fixtures.Path(path));

    public bool Contains(string key) => _file.Contains(key);

    public int[] Shape(string key) => _file[key].ShapeArray();

    public double[] Doubles(string key)
    {
        var info = _file[key];
        var values = new List<double>((int)info.Numel);
        _file.ReadElements(info, CheckpointDType.F64, chunk => values.AddRange(MemoryMarshal.Cast<byte, double>(chunk).ToArray()));
        return [.. values];
    }

    public long[] Longs(string key) => Array.ConvertAll(Doubles(key), v => (long)v);

    public Tensor Tensor(string key) => _file.Load(key);
}

namespace PFStorer.Graph.Checkpoints;

/// <summary>
/// One tensor's entry in a checkpoint: name, file dtype, shape and where its elements are. Nothing is read until a
/// tensor is loaded. Strides and the storage offset are in elements (PyTorch views may be strided or share a storage;
/// safetensors entries are always contiguous with offset 0).
/// </summary>
public sealed class CheckpointTensor
{
    private readonly int[] _shape;
    private readonly long[] _strides;

    public string Name { get; }
    public CheckpointDType DType { get; }
    public ReadOnlySpan<int> Shape => _shape;
    public ReadOnlySpan<long> Strides => _strides;
    public long StorageOffset { get; }
    public long Numel { get; }
    /// <summary>Size of the elements the tensor itself covers, in its file dtype (never more than its storage holds).</summary>
    public long Bytes { get; }

    /// <summary>Byte position of the backing storage in the file, and the storage's length in bytes.</summary>
    internal long StorageStart { get; }
    internal long StorageBytes { get; }

    /// <summary>Validates the geometry against the storage so that no later read can leave it (file named in errors).</summary>
    internal CheckpointTensor(string file, string name, CheckpointDType dtype, int[] shape, long[]? strides, long storageOffset, long storageStart, long storageBytes)
    {
        Name = name;
        DType = dtype;
        _shape = shape;
        _strides = strides ?? Tensor.ContiguousStrides(shape);
        StorageOffset = storageOffset;
        StorageStart = storageStart;
        StorageBytes = storageBytes;
        if (_strides.Length != shape.Length)
            throw new CheckpointFormatException(file, $"tensor '{name}': {shape.Length} dims but {_strides.Length} strides");
        if (storageOffset < 0) throw new CheckpointFormatException(file, $"tensor '{name}': negative storage offset {storageOffset}");
        long numel = 1, last = storageOffset;
        try
        {
            for (int i = 0; i < shape.Length; i++)
            {
                if (shape[i] < 0) throw new CheckpointFormatException(file, $"tensor '{name}': negative dimension in {ShapeString}");
                if (_strides[i] < 0) throw new CheckpointFormatException(file, $"tensor '{name}': negative stride {_strides[i]}");
                numel = checked(numel * shape[i]);
            }
            if (numel > 0)
                for (int i = 0; i < shape.Length; i++) last = checked(last + (shape[i] - 1L) * _strides[i]);
            Numel = numel;
            Bytes = checked(numel * dtype.Size());
            long needed = numel == 0 ? 0 : checked((last + 1) * dtype.Size());
            if (needed > storageBytes)
                throw new CheckpointFormatException(file, $"tensor '{name}' {ShapeString} {dtype} needs {needed} bytes of storage but only {storageBytes} are there");
            // A view may repeat storage elements (stride 0, overlapping strides); loading it would then write more than
            // the file holds, so a tiny file could ask for gigabytes. State dicts never do this: refuse (docs/host.md).
            if (Bytes > storageBytes)
                throw new CheckpointFormatException(file, $"tensor '{name}' {ShapeString} {dtype} with strides [{string.Join(',', _strides)}] covers {Bytes} bytes, " +
                    $"more than the {storageBytes} bytes of its storage (a zero or overlapping stride); refusing to expand it");
        }
        catch (OverflowException)
        {
            throw new CheckpointFormatException(file, $"tensor '{name}': shape {ShapeString} with strides [{string.Join(',', _strides)}] overflows");
        }
    }

    public string ShapeString => "[" + string.Join(",", _shape) + "]";
    public int[] ShapeArray() => (int[])_shape.Clone();

    public bool IsContiguous => Tensor.IsRowMajor(_shape, _strides);

    public override string ToString() => $"{Name} {DType} {ShapeString}";
}

using System.Buffers;
using PFStorer.Kernels;
using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph.Checkpoints;

/// <summary>
/// An open checkpoint: the tensor directory and string metadata, read eagerly from the headers only; tensor bytes are
/// read lazily, one tensor at a time, through the file's <see cref="ByteSource"/> (a read-only memory mapping).
/// Open with <see cref="Open(string)"/>, which recognises safetensors and PyTorch zip files (.ckpt/.pt/.pth).
/// Bad or hostile files fail with <see cref="CheckpointFormatException"/> (or <see cref="UnsafePickleException"/>).
/// </summary>
public abstract partial class Checkpoint : IDisposable
{
    private const int ChunkBytes = 1 << 22;

    /// <summary>
    /// Most tensors a checkpoint may hold. StableSR's files hold a few thousand; a header of millions of empty tensors
    /// costs seconds and gigabytes to take in, so it is refused once this many are read (docs/host.md).
    /// </summary>
    public const int MaxTensors = 100_000;

    /// <summary>Throws when a reader is about to take in one tensor more than <see cref="MaxTensors"/>.</summary>
    internal static void CheckTensorCount(string file, int count)
    {
        if (count >= MaxTensors) throw new CheckpointFormatException(file, $"more than {MaxTensors} tensors; no StableSR checkpoint has that many");
    }
    /// <summary>Elements converted per parallel work item: large enough for vectorised loops, small enough to share.</summary>
    private const int BlockElements = 1 << 20;
    private readonly Dictionary<string, CheckpointTensor> _byName = new(StringComparer.Ordinal);

    protected ByteSource Source { get; }
    public string Path => Source.Name;
    /// <summary>"safetensors" or "pytorch-zip".</summary>
    public abstract string Format { get; }
    /// <summary>Tensors in file order.</summary>
    public IReadOnlyList<CheckpointTensor> Tensors { get; }
    /// <summary>safetensors <c>__metadata__</c>; for a PyTorch checkpoint the scalar entries beside the state dict (e.g. global_step).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private protected Checkpoint(ByteSource source, IReadOnlyList<CheckpointTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Source = source;
        Tensors = tensors;
        Metadata = metadata;
        foreach (var t in tensors)
            if (!_byName.TryAdd(t.Name, t)) throw new CheckpointFormatException(Path, $"tensor name '{t.Name}' appears twice");
    }

    public static Checkpoint Open(string path)
    {
        var source = ByteSource.OpenFile(path);
        try { return Open(source); }
        catch { source.Dispose(); throw; }
    }

    /// <summary>Recognises the format from the first bytes; the checkpoint takes ownership of <paramref name="source"/>.</summary>
    public static Checkpoint Open(ByteSource source)
    {
        var head = source.ReadArray(0, (int)Math.Min(source.Length, 512));
        if (head.Length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] is 3 or 5 or 7)
            return TorchZipCheckpoint.Read(source);
        // Before the pickle test: a safetensors header length whose low byte is 0x80 starts the file like a pickle does.
        if (head.Length >= 9 && head[8] == '{') return SafetensorsCheckpoint.Read(source);
        if (head.Length >= 2 && head[0] == 0x80)
            throw new CheckpointFormatException(source.Name, "legacy (non-zip) PyTorch serialization is unsupported; convert it first, " +
                "e.g. torch.save(torch.load(f), f2) with torch >= 1.6, or `weights convert` after that");
        if (head.Length >= 262 && head.AsSpan(257, 5).SequenceEqual("ustar"u8))
            throw new CheckpointFormatException(source.Name, "legacy tar-format PyTorch serialization is unsupported; re-save it with torch >= 1.6");
        if (source.Name.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return SafetensorsCheckpoint.Read(source);
        throw new CheckpointFormatException(source.Name, $"not a safetensors or PyTorch zip checkpoint (starts with {Convert.ToHexString(head.AsSpan(0, Math.Min(8, head.Length)))})");
    }

    public bool Contains(string name) => _byName.ContainsKey(name);

    public bool TryGet(string name, out CheckpointTensor tensor) => _byName.TryGetValue(name, out tensor!);

    public CheckpointTensor this[string name] =>
        _byName.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");

    /// <summary>Reads one tensor into a new contiguous CPU tensor, converting to <paramref name="dtype"/> (default: f32 for floats).</summary>
    public unsafe Tensor Load(string name, DType? dtype = null)
    {
        var info = this[name];
        var target = CheckpointDTypeInfo.FromEngine(dtype ?? info.DType.ComputeDType());
        if (!ElementConversion.CanConvert(info.DType, target))
            throw new ArgumentException($"{Path}: tensor '{name}' is {info.DType}; it cannot be loaded as {target}");
        var tensor = Tensor.Empty(info.Shape, dtype ?? info.DType.ComputeDType());
        try
        {
            if (info.IsContiguous) ReadContiguous(info, target, (byte*)tensor.DataPointer);
            else
            {
                nint dst = tensor.DataPointer;
                long written = 0;
                ReadElements(info, target, chunk =>
                {
                    chunk.CopyTo(new Span<byte>((byte*)dst + written, chunk.Length));
                    written += chunk.Length;
                });
            }
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
        tensor.Name = name;
        return tensor;
    }

    /// <summary>
    /// Reads and converts a contiguous tensor into <paramref name="destination"/> in blocks spread over the cores: each
    /// worker reads its block into its own buffer and converts it straight into place.
    /// </summary>
    private unsafe void ReadContiguous(CheckpointTensor info, CheckpointDType target, byte* destination)
    {
        int es = info.DType.Size(), et = target.Size();
        long blocks = (info.Numel + BlockElements - 1) / BlockElements;
        CpuParallel.For(blocks, 1, (first, end) =>
        {
            var raw = ArrayPool<byte>.Shared.Rent(BlockElements * es);
            try
            {
                for (long b = first; b < end; b++)
                {
                    long i = b * BlockElements;
                    int n = (int)Math.Min(BlockElements, info.Numel - i);
                    var into = new Span<byte>(destination + i * et, n * et);
                    if (info.DType == target) Source.Read(info.StorageStart + (info.StorageOffset + i) * es, into);
                    else
                    {
                        Source.Read(info.StorageStart + (info.StorageOffset + i) * es, raw.AsSpan(0, n * es));
                        ElementConversion.Convert(raw, info.DType, into, target, n);
                    }
                }
            }
            finally { ArrayPool<byte>.Shared.Return(raw); }
        });
    }

    /// <summary>
    /// Whether <see cref="Map"/> can give <paramref name="name"/> as a contiguous <paramref name="dtype"/> tensor without
    /// a copy: the file is mapped, the tensor is stored row-major in that dtype, naturally aligned.
    /// </summary>
    public bool CanMap(string name, DType dtype)
    {
        var info = this[name];
        long start = info.StorageStart + info.StorageOffset * info.DType.Size();
        return Source.IsMapped && info.IsContiguous && info.Numel > 0 && info.DType.EngineEquivalent() == dtype && start % info.DType.Size() == 0;
    }

    /// <summary>
    /// Zero-copy view of a tensor over the file mapping, in its file dtype (which must be an engine dtype). The mapping
    /// stays alive until the returned tensor is disposed, even after this checkpoint is.
    /// </summary>
    public Tensor Map(string name)
    {
        var info = this[name];
        var dtype = info.DType.EngineEquivalent() ?? throw new NotSupportedException($"{Path}: tensor '{name}' is {info.DType}, which has no engine dtype; use Load");
        var storage = Source.MapStorage(info.StorageStart, info.StorageBytes) ?? throw new NotSupportedException($"{Path} is not memory-mapped; use Load");
        return new Tensor(storage, dtype, info.ShapeArray(), info.Strides.ToArray(), info.StorageOffset) { Name = name };
    }

    /// <summary>
    /// Streams a tensor's elements in row-major order, converted to <paramref name="target"/>, to <paramref name="sink"/>
    /// in chunks of a few MB (the span is only valid during the call).
    /// </summary>
    public void ReadElements(CheckpointTensor info, CheckpointDType target, Action<ReadOnlySpan<byte>> sink)
    {
        if (!ElementConversion.CanConvert(info.DType, target))
            throw new ArgumentException($"{Path}: tensor '{info.Name}' is {info.DType}; it cannot be read as {target}");
        if (info.Numel == 0) return;
        int es = info.DType.Size(), et = target.Size();
        if (info.IsContiguous)
        {
            int chunk = ChunkBytes / Math.Max(es, et);
            var raw = ArrayPool<byte>.Shared.Rent(chunk * es);
            var converted = info.DType == target ? raw : ArrayPool<byte>.Shared.Rent(chunk * et);
            try
            {
                for (long i = 0; i < info.Numel; i += chunk)
                {
                    int n = (int)Math.Min(chunk, info.Numel - i);
                    Source.Read(info.StorageStart + (info.StorageOffset + i) * es, raw.AsSpan(0, n * es));
                    ElementConversion.Convert(raw, info.DType, converted, target, n);
                    sink(converted.AsSpan(0, n * et));
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(raw);
                if (!ReferenceEquals(raw, converted)) ArrayPool<byte>.Shared.Return(converted);
            }
            return;
        }
        // Strided view: read the storage range it touches once, gather in row-major order, then convert.
        long span = 1;
        for (int d = 0; d < info.Shape.Length; d++) span += (info.Shape[d] - 1L) * info.Strides[d];
        if (span * es > Array.MaxLength || info.Numel * Math.Max(es, et) > Array.MaxLength)
            throw new NotSupportedException($"{Path}: strided tensor '{info.Name}' is too large to gather");
        var storage = Source.ReadArray(info.StorageStart + info.StorageOffset * es, (int)(span * es));
        var gathered = new byte[info.Numel * es];
        var index = new int[info.Shape.Length];
        for (long i = 0; i < info.Numel; i++)
        {
            long off = 0;
            for (int d = 0; d < index.Length; d++) off += index[d] * info.Strides[d];
            storage.AsSpan((int)(off * es), es).CopyTo(gathered.AsSpan((int)(i * es), es));
            for (int d = index.Length - 1; d >= 0; d--)
            {
                if (++index[d] < info.Shape[d]) break;
                index[d] = 0;
            }
        }
        var result = info.DType == target ? gathered : new byte[info.Numel * et];
        ElementConversion.Convert(gathered, info.DType, result, target, (int)info.Numel);
        sink(result);
    }

    public void Dispose()
    {
        Source.Dispose();
        GC.SuppressFinalize(this);
    }
}

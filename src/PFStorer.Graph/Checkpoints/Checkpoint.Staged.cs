using PFStorer.Graph.Backends;
using PFStorer.Kernels;

namespace PFStorer.Graph.Checkpoints;

public abstract partial class Checkpoint
{
    /// <summary>
    /// Reads one tensor into a new contiguous tensor on <see cref="DeviceStaging.Device"/>, converting to
    /// <paramref name="dtype"/> on the way, block by block through <paramref name="staging"/>'s host buffers: the whole
    /// tensor never exists on the host (a strided one, which upstream files do not hold, is gathered on the host first).
    /// Without staging it is an ordinary host load.
    /// </summary>
    public Tensor Load(string name, DType dtype, DeviceStaging? staging)
    {
        if (staging == null) return Load(name, dtype);
        var info = this[name];
        var target = CheckpointDTypeInfo.FromEngine(dtype);
        if (!ElementConversion.CanConvert(info.DType, target))
            throw new ArgumentException($"{Path}: tensor '{name}' is {info.DType}; it cannot be loaded as {target}");
        var tensor = Tensor.Empty(info.Shape, dtype, staging.Device);
        try
        {
            using var flat = tensor.View(checked((int)info.Numel));
            if (info.IsContiguous) UploadContiguous(info, target, flat, staging);
            else
            {
                long written = 0;
                ReadElements(info, target, chunk =>
                {
                    CopyInto(flat, written, chunk);
                    written += chunk.Length / target.Size();
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
    /// Each worker rents one staging buffer from the host pool for its share of the blocks (so the pool's counters see
    /// the staging), reads a block into it, converts it in place when the dtypes differ, and has the device copy it.
    /// </summary>
    private unsafe void UploadContiguous(CheckpointTensor info, CheckpointDType target, Tensor flat, DeviceStaging staging)
    {
        int es = info.DType.Size(), et = target.Size();
        bool convert = info.DType != target;
        long blocks = (info.Numel + staging.BlockElements - 1) / staging.BlockElements;
        var pool = CpuBackend.Instance.Pool;
        var options = new ParallelOptions { MaxDegreeOfParallelism = staging.Workers };
        ParallelFailure.Unwrap(() => Parallel.For(0, blocks, options, () => pool.Rent(staging.BufferBytes(info.DType, target)), (b, _, buffer) =>
        {
            long i = b * staging.BlockElements;
            int n = (int)Math.Min(staging.BlockElements, info.Numel - i);
            var block = new Span<byte>((byte*)buffer.Pointer, n * et);
            long at = info.StorageStart + (info.StorageOffset + i) * es;
            if (!convert) Source.Read(at, block);
            else
            {
                var raw = new Span<byte>((byte*)buffer.Pointer + (long)staging.BlockElements * et, n * es);
                Source.Read(at, raw);
                ElementConversion.Convert(raw, info.DType, block, target, n);
            }
            CopyInto(flat, i, block);
            return buffer;
        }, pool.Return));
    }

    /// <summary>Has <paramref name="flat"/>'s backend copy host <paramref name="bytes"/> into it from element <paramref name="start"/> on.</summary>
    private static void CopyInto(Tensor flat, long start, ReadOnlySpan<byte> bytes)
    {
        using var block = flat.Slice(0, checked((int)start), bytes.Length / flat.DType.Size());
        flat.Backend.CopyFromHost(bytes, block);
    }
}

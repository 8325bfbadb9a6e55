namespace PFStorer.Graph.Checkpoints;

/// <summary>
/// How checkpoint tensors go straight to a device other than the host (docs/architecture.md, "Loading weights"): each
/// of at most <see cref="Workers"/> workers reads a block of <see cref="BlockElements"/> elements into its own staging
/// buffer from the host pool, converts it there, and the device's backend copies the block into its place in the
/// device tensor. The host holds at most <see cref="MaxHostBytes"/> for staging, whatever the size of the model.
/// </summary>
public sealed record DeviceStaging
{
    /// <summary>4 MiB of f32 per block: host→device copies of that size run at full bus speed.</summary>
    public const int DefaultBlockElements = 1 << 20;

    public Device Device { get; }
    public int BlockElements { get; }
    public int Workers { get; }

    /// <summary><paramref name="workers"/> 0 means one per core.</summary>
    public DeviceStaging(Device device, int blockElements = DefaultBlockElements, int workers = 0)
    {
        if (device == Device.Cpu) throw new ArgumentException("the host loads in place (mapping or parallel conversion); staging is for another device", nameof(device));
        ArgumentOutOfRangeException.ThrowIfLessThan(blockElements, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(workers);
        Device = device;
        BlockElements = blockElements;
        Workers = workers > 0 ? workers : Environment.ProcessorCount;
    }

    /// <summary>Staging with the defaults for <paramref name="device"/>; null for the host (or no device), which loads in place.</summary>
    public static DeviceStaging? For(Device? device) => device is { } d && d != Device.Cpu ? new DeviceStaging(d) : null;

    /// <summary>Bytes of one worker's staging buffer: the file's block and, when the dtypes differ, its converted copy.</summary>
    public long BufferBytes(CheckpointDType file, CheckpointDType target) =>
        (long)BlockElements * (file == target ? target.Size() : file.Size() + target.Size());

    /// <summary>The most host memory staging can hold at once for a tensor of <paramref name="file"/> dtype loaded as <paramref name="target"/>.</summary>
    public long MaxHostBytes(CheckpointDType file, CheckpointDType target) => Workers * BufferBytes(file, target);
}

using System.Globalization;
using System.Numerics;
using PFStorer.Graph.Checkpoints.Pickle;

namespace PFStorer.Graph.Checkpoints;

/// <summary>
/// A PyTorch zip checkpoint (torch.save since 1.6: .ckpt/.pt/.pth): <c>&lt;prefix&gt;/data.pkl</c> describes the object,
/// <c>&lt;prefix&gt;/data/&lt;key&gt;</c> hold raw storages. The pickle goes through <see cref="RestrictedUnpickler"/>; tensors
/// are read lazily from the stored zip entries. For a PyTorch-Lightning file the tensors are those of
/// <c>state_dict</c> and the scalars beside it (global_step, epoch, pytorch-lightning_version) become metadata.
/// </summary>
public sealed class TorchZipCheckpoint : Checkpoint
{
    private const long MaxPickleBytes = 512 << 20;

    public override string Format => "pytorch-zip";
    /// <summary>The archive's top folder (e.g. "archive" or the file stem), found from the entry ending in /data.pkl.</summary>
    public string ArchivePrefix { get; }
    /// <summary>Size of data.pkl: the only bytes besides the zip directory that opening the file reads.</summary>
    public long PickleBytes { get; }
    /// <summary>Top-level entries of the file's dict with a one-line description each (tensors of the state dict excluded).</summary>
    public IReadOnlyList<(string Key, string Summary)> TopLevel { get; }
    /// <summary>State-dict entries that are not tensors (e.g. _extra_state), by key.</summary>
    public IReadOnlyList<string> NonTensorEntries { get; }

    private TorchZipCheckpoint(ByteSource source, IReadOnlyList<CheckpointTensor> tensors, IReadOnlyDictionary<string, string> metadata,
        string prefix, long pickleBytes, IReadOnlyList<(string, string)> topLevel, IReadOnlyList<string> nonTensor)
        : base(source, tensors, metadata)
    {
        ArchivePrefix = prefix;
        PickleBytes = pickleBytes;
        TopLevel = topLevel;
        NonTensorEntries = nonTensor;
    }

    internal static TorchZipCheckpoint Read(ByteSource source)
    {
        string file = source.Name;
        var entries = ZipDirectory.Read(source);
        var pickles = entries.Keys.Where(n => n.EndsWith("/data.pkl", StringComparison.Ordinal) && n.IndexOf('/') == n.Length - 9).ToList();
        if (pickles.Count != 1)
            throw new CheckpointFormatException(file, pickles.Count == 0
                ? "zip has no <folder>/data.pkl entry, so it is not a PyTorch checkpoint"
                : $"zip has {pickles.Count} data.pkl entries ({string.Join(", ", pickles)})");
        string prefix = pickles[0][..^9];
        var pkl = Stored(file, entries[pickles[0]]);
        if (pkl.Size > MaxPickleBytes) throw new CheckpointFormatException(file, $"data.pkl is {pkl.Size} bytes (limit {MaxPickleBytes})");
        var pickle = source.ReadArray(pkl.DataOffset, (int)pkl.Size);

        var storages = new Dictionary<string, (StorageRef Ref, ZipEntry Entry)>(StringComparer.Ordinal);
        object? PersistentLoad(PickleTuple pid)
        {
            if (pid.Count != 5 || pid[0] is not "storage" || pid[1] is not PickleGlobal { Kind: GlobalKind.StorageClass } cls
                || pid[2] is not string key || pid[3] is not string location || pid[4] is not long numel || numel < 0)
                throw new CheckpointFormatException(file, "data.pkl has a persistent id that is not ('storage', <storage class>, key, location, numel)");
            CheckpointDTypeInfo.TryParseTorchStorage(cls.Name, out var dtype);
            if (storages.TryGetValue(key, out var known))
                return known.Ref.DType == dtype ? known.Ref : throw new CheckpointFormatException(file, $"storage '{key}' is used as {known.Ref.DType} and {dtype}");
            if (!entries.TryGetValue($"{prefix}/data/{key}", out var entry))
                throw new CheckpointFormatException(file, $"storage '{key}' has no zip entry {prefix}/data/{key}");
            Stored(file, entry);
            if (numel > entry.Size / dtype.Size() || numel * dtype.Size() != entry.Size)
                throw new CheckpointFormatException(file, $"storage '{key}' claims {numel} {dtype} elements but its entry holds {entry.Size} bytes");
            var r = new StorageRef(key, dtype, location, numel);
            storages[key] = (r, entry);
            return r;
        }

        var root = new RestrictedUnpickler(file, pickle, PersistentLoad).Load() as PickleDict
            ?? throw new CheckpointFormatException(file, "data.pkl does not hold a dict (a state dict or a Lightning checkpoint)");
        var stateDict = root.TryGet("state_dict", out var sd) && sd is PickleDict inner ? inner : root;

        var tensors = new List<CheckpointTensor>();
        var nonTensor = new List<string>();
        foreach (var (k, v) in stateDict.Items)
        {
            string name = k as string ?? throw new CheckpointFormatException(file, $"state dict has a non-string key ({k})");
            if (v is not TensorRef t) { nonTensor.Add(name); continue; }
            CheckTensorCount(file, tensors.Count);
            var entry = storages[t.Storage.Key].Entry;
            tensors.Add(new CheckpointTensor(file, name, t.Storage.DType, t.Shape, t.Strides, t.StorageOffset, entry.DataOffset, entry.Size));
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var topLevel = new List<(string, string)>();
        if (!ReferenceEquals(stateDict, root))
            foreach (var (k, v) in root.Items)
            {
                string key = k?.ToString() ?? "None";
                if (ReferenceEquals(v, stateDict)) { topLevel.Add((key, $"state dict, {tensors.Count} tensors")); continue; }
                if (Scalar(v) is { } text) metadata[key] = text;
                topLevel.Add((key, Scalar(v) ?? Summarise(v)));
            }
        return new TorchZipCheckpoint(source, tensors, metadata, prefix, pkl.Size, topLevel, nonTensor);
    }

    private static ZipEntry Stored(string file, ZipEntry e) => e.IsStored ? e
        : throw new CheckpointFormatException(file, $"zip entry '{e.Name}' is compressed (method {e.Method}); torch.save writes stored entries and this reader never inflates");

    private static string? Scalar(object? v) => v switch
    {
        string s => s,
        long or BigInteger => v.ToString(),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "True" : "False",
        _ => null,
    };

    private static string Summarise(object? v) => v switch
    {
        null => "None",
        PickleDict d => $"dict, {d.Items.Count} entries",
        List<object?> l => $"list, {l.Count} items",
        PickleTuple t => $"tuple, {t.Count} items",
        TensorRef t => $"tensor [{string.Join(",", t.Shape)}] {t.Storage.DType}",
        PickleObject o => o.ToString(),
        byte[] b => $"bytes, {b.Length}",
        _ => v.GetType().Name,
    };
}

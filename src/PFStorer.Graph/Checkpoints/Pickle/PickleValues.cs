namespace PFStorer.Graph.Checkpoints.Pickle;

// The values a restricted unpickle produces. Python ints are long (BigInteger when they do not fit), floats double,
// str string, bytes byte[], list List<object?>, None null; everything else is one of the records below. All of them
// are plain data: building one never runs code.

/// <summary>A tuple (kept distinct from lists because torch's persistent ids and rebuild arguments are tuples).</summary>
public sealed record PickleTuple(object?[] Items)
{
    public int Count => Items.Length;
    public object? this[int i] => Items[i];
}

/// <summary>A dict or OrderedDict, in insertion order; <see cref="State"/> holds a BUILD state (OrderedDict's _metadata).</summary>
public sealed class PickleDict
{
    private readonly List<KeyValuePair<object?, object?>> _items = [];
    private readonly Dictionary<object, int> _index = [];

    public IReadOnlyList<KeyValuePair<object?, object?>> Items => _items;
    public object? State { get; internal set; }

    internal void Set(object? key, object? value)
    {
        if (key != null && _index.TryGetValue(key, out int at)) { _items[at] = new(key, value); return; }
        if (key != null) _index[key] = _items.Count;
        _items.Add(new(key, value));
    }

    public bool TryGet(string key, out object? value)
    {
        if (_index.TryGetValue(key, out int at)) { value = _items[at].Value; return true; }
        value = null;
        return false;
    }
}

/// <summary>A reference to an allow-listed global (class or function), resolved from GLOBAL / STACK_GLOBAL.</summary>
public sealed record PickleGlobal(string Module, string Name, GlobalKind Kind)
{
    public string FullName => Module + "." + Name;
    public override string ToString() => FullName;
}

/// <summary>
/// An inert stand-in for an allow-listed harmless object beside the state dict (a numpy scalar, a pathlib path, a
/// Lightning callback state, ...): the class name, its constructor arguments and its BUILD state, all as data.
/// </summary>
public sealed record PickleObject(PickleGlobal Type, object? Arguments)
{
    public object? State { get; internal set; }
    public override string ToString() => $"<{Type.FullName}>";
}

/// <summary>A torch storage named by a persistent id: its bytes are the zip entry <c>data/Key</c>.</summary>
public sealed record StorageRef(string Key, CheckpointDType DType, string Location, long Numel);

/// <summary>A tensor as <c>torch._utils._rebuild_tensor_v2</c> describes it (element offset and strides into a storage).</summary>
public sealed record TensorRef(StorageRef Storage, long StorageOffset, int[] Shape, long[] Strides);

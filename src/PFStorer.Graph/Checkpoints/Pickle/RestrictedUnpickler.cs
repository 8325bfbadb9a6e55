using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace PFStorer.Graph.Checkpoints.Pickle;

/// <summary>
/// A pickle virtual machine (protocols 2–5) that understands only what a PyTorch state dict needs. It builds plain
/// data (the records in PickleValues.cs): GLOBAL resolves names against <see cref="PickleAllowList"/> and rejects the rest,
/// REDUCE / NEWOBJ / BUILD are interpreted for the allow-listed kinds only, and persistent ids are handed to the
/// caller. Nothing is ever executed. Every length is checked against the bytes left, so a hostile pickle fails with
/// <see cref="CheckpointFormatException"/> or <see cref="UnsafePickleException"/>, never a crash or a huge allocation.
/// </summary>
public sealed class RestrictedUnpickler
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);
    private const int MaxLongBytes = 1024;
    /// <summary>
    /// How deep _rebuild_from_type_v2 may wrap itself (torch writes one level; a Parameter of a tensor subclass two).
    /// It is the only value this machine interprets recursively: every other opcode works on the explicit stack, and
    /// nothing downstream walks the built values recursively, so no nesting depth can exhaust the call stack.
    /// </summary>
    internal const int MaxRebuildNesting = 8;

    private readonly string _file;
    private readonly byte[] _data;
    private readonly Func<PickleTuple, object?> _persistentLoad;
    private readonly List<object?> _stack = [];
    private readonly List<int> _marks = [];
    private readonly Dictionary<long, object?> _memo = [];
    private int _pos, _opStart;
    private long _expanded; // elements and bytes built by REDUCE from earlier values (memo reuse could otherwise multiply them)

    /// <param name="persistentLoad">Resolves a BINPERSID tuple (for torch: ('storage', class, key, location, numel)).</param>
    public RestrictedUnpickler(string file, byte[] data, Func<PickleTuple, object?> persistentLoad)
    {
        _file = file;
        _data = data;
        _persistentLoad = persistentLoad;
    }

    public object? Load()
    {
        while (true)
        {
            _opStart = _pos;
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: // PROTO
                    byte proto = ReadByte();
                    if (proto is < 2 or > 5) throw Bad($"pickle protocol {proto} is not supported (2–5 are)");
                    break;
                case 0x95: Take(8); break; // FRAME: a length hint only
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0) throw Bad($"STOP with {_stack.Count} values on the stack");
                    return _stack[0];

                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case (byte)'K': Push((long)ReadByte()); break;
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case 0x8a: Push(ReadLong(ReadByte())); break; // LONG1
                case 0x8b: // LONG4
                    int n4 = BinaryPrimitives.ReadInt32LittleEndian(Take(4));
                    if (n4 is < 0 or > MaxLongBytes) throw Bad($"LONG4 of {n4} bytes");
                    Push(ReadLong(n4));
                    break;
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;

                case (byte)'X': Push(Utf8(Take(Length32()))); break;
                case 0x8c: Push(Utf8(Take(ReadByte()))); break;
                case 0x8d: Push(Utf8(Take(Length64()))); break;
                case (byte)'T': Push(Encoding.Latin1.GetString(Take(Length32()))); break;
                case (byte)'U': Push(Encoding.Latin1.GetString(Take(ReadByte()))); break;
                case (byte)'B': Push(Take(Length32()).ToArray()); break;
                case (byte)'C': Push(Take(ReadByte()).ToArray()); break;
                case 0x8e or 0x96: Push(Take(Length64()).ToArray()); break; // BINBYTES8, BYTEARRAY8

                case (byte)'(': _marks.Add(_stack.Count); break;
                case (byte)')': Push(new PickleTuple([])); break;
                case 0x85: Push(new PickleTuple(PopN(1))); break;
                case 0x86: Push(new PickleTuple(PopN(2))); break;
                case 0x87: Push(new PickleTuple(PopN(3))); break;
                case (byte)'t': Push(new PickleTuple(PopMark())); break;
                case (byte)']': Push(new List<object?>()); break;
                case (byte)'l': Push(new List<object?>(PopMark())); break;
                case (byte)'}': Push(new PickleDict()); break;
                case (byte)'d': Push(SetItems(new PickleDict(), PopMark())); break;
                case 0x8f: Push(new List<object?>()); break; // EMPTY_SET (sets are kept as lists)
                case 0x91: Push(new List<object?>(PopMark())); break; // FROZENSET
                case (byte)'a': { var v = Pop(); AsList(Peek(), "APPEND").Add(v); break; }
                case (byte)'e' or 0x90: { var items = PopMark(); AsList(Peek(), "APPENDS").AddRange(items); break; } // APPENDS, ADDITEMS
                case (byte)'s': { var v = Pop(); var k = Pop(); AsDict(Peek(), "SETITEM").Set(k, v); break; }
                case (byte)'u': { var items = PopMark(); SetItems(AsDict(Peek(), "SETITEMS"), items); break; }

                case (byte)'0': Pop(); break;
                case (byte)'1': PopMark(); break;
                case (byte)'2': Push(Peek()); break;

                case (byte)'q': _memo[ReadByte()] = Peek(); break;
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek(); break;
                case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                case (byte)'h': Push(Memo(ReadByte())); break;
                case (byte)'j': Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;

                case (byte)'c': { string module = ReadLine(), name = ReadLine(); Push(Resolve(module, name)); break; }
                case 0x93: { var name = Pop(); var module = Pop(); Push(Resolve(AsString(module), AsString(name))); break; }
                case (byte)'R': { var args = Pop(); var callable = Pop(); Push(Reduce(callable, AsTuple(args, "REDUCE arguments"))); break; }
                case 0x81: { var args = Pop(); var cls = Pop(); Push(NewObject(cls, AsTuple(args, "NEWOBJ arguments"))); break; }
                case 0x92: { Pop(); var args = Pop(); var cls = Pop(); Push(NewObject(cls, AsTuple(args, "NEWOBJ_EX arguments"))); break; }
                case (byte)'b': { var state = Pop(); Build(Peek(), state); break; }
                case (byte)'Q': Push(_persistentLoad(AsTuple(Pop(), "persistent id"))); break;

                case (byte)'i' or (byte)'o': throw Unsafe("INST/OBJ opcodes (protocol 0/1 object construction)");
                case 0x82 or 0x83 or 0x84: throw Unsafe("EXT opcodes (copyreg extension registry)");
                case 0x97 or 0x98: throw Bad("out-of-band buffers (protocol 5 NEXT_BUFFER) are not supported");
                default: throw Bad($"unsupported pickle opcode 0x{op:x2}");
            }
        }
    }

    // ---- the allow-listed semantics ----

    private PickleGlobal Resolve(string module, string name)
    {
        var kind = PickleAllowList.Classify(module, name) ?? throw Unsafe($"GLOBAL {module}.{name} is not on the allow-list");
        return new PickleGlobal(module, name, kind);
    }

    private object? Reduce(object? callable, PickleTuple args, int nesting = 0)
    {
        if (callable is not PickleGlobal g) throw Unsafe($"REDUCE on a {Describe(callable)}, which is not an allow-listed callable");
        switch (g.Kind)
        {
            case GlobalKind.OrderedDict:
                var dict = new PickleDict();
                if (args.Count == 1 && args[0] is List<object?> pairs)
                    foreach (var p in Expand(pairs))
                    {
                        var kv = AsTuple(p, "OrderedDict item");
                        if (kv.Count != 2) throw Bad("OrderedDict item is not a pair");
                        dict.Set(kv[0], kv[1]);
                    }
                else if (args.Count != 0) throw Bad("OrderedDict called with unexpected arguments");
                return dict;
            case GlobalKind.RebuildTensorV2 or GlobalKind.RebuildTensor:
                return RebuildTensor(args);
            case GlobalKind.RebuildParameter:
                if (args.Count < 1 || args[0] is not TensorRef t) throw Bad("_rebuild_parameter without a tensor");
                return t;
            case GlobalKind.RebuildFromTypeV2:
                // (func, new_type, args, state): only the plain tensor types, rebuilt by an allow-listed function.
                if (args.Count != 4 || args[1] is not PickleGlobal { Kind: GlobalKind.TensorClass })
                    throw Unsafe("_rebuild_from_type_v2 for a type other than torch.Tensor / torch.nn.Parameter");
                if (nesting >= MaxRebuildNesting) throw Bad($"_rebuild_from_type_v2 nested more than {MaxRebuildNesting} deep");
                return Reduce(args[0], AsTuple(args[2], "_rebuild_from_type_v2 arguments"), nesting + 1);
            case GlobalKind.CodecsEncode:
                if (args.Count != 2 || args[0] is not string text || args[1] is not ("latin1" or "latin-1"))
                    throw Unsafe("_codecs.encode other than (str, 'latin1')");
                var bytes = new byte[Expand(text).Length];
                for (int i = 0; i < text.Length; i++)
                    bytes[i] = text[i] <= 0xff ? (byte)text[i] : throw Bad("_codecs.encode: character outside latin1");
                return bytes;
            case GlobalKind.Set: // kept as the list or tuple it was built from: sets are inert data here
                return args.Count == 0 ? new List<object?>() : args[0] is List<object?> or PickleTuple ? args[0] : throw Bad("set() of a non-sequence");
            case GlobalKind.Inert:
                return new PickleObject(g, args);
            default:
                throw Unsafe($"REDUCE on {g.FullName}, which is not callable here");
        }
    }

    private object NewObject(object? cls, PickleTuple args) => cls switch
    {
        PickleGlobal { Kind: GlobalKind.Inert } g => new PickleObject(g, args),
        PickleGlobal { Kind: GlobalKind.OrderedDict } when args.Count == 0 => new PickleDict(),
        _ => throw Unsafe($"NEWOBJ on a {Describe(cls)}, which is not an allow-listed class"),
    };

    private void Build(object? target, object? state)
    {
        switch (target)
        {
            case PickleDict d: d.State = state; break;       // OrderedDict's __dict__ (state_dict._metadata)
            case PickleObject o: o.State = state; break;     // inert placeholder keeps its state as data
            default: throw Unsafe($"BUILD on a {Describe(target)}; only dicts and inert placeholders take state");
        }
    }

    private TensorRef RebuildTensor(PickleTuple a)
    {
        if (a.Count < 4 || a[0] is not StorageRef storage || a[1] is not long offset)
            throw Bad("_rebuild_tensor arguments are not (storage, offset, size, stride, ...)");
        var size = AsTuple(a[2], "tensor size");
        var stride = AsTuple(a[3], "tensor stride");
        if (stride.Count != size.Count) throw Bad($"tensor has {size.Count} sizes but {stride.Count} strides");
        var shape = new int[size.Count];
        var strides = new long[size.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            shape[i] = size[i] is long s and >= 0 and <= int.MaxValue ? (int)s : throw Bad($"bad tensor size {Describe(size[i])}");
            strides[i] = stride[i] is long st and >= 0 ? st : throw Bad($"bad tensor stride {Describe(stride[i])}");
        }
        return new TensorRef(storage, offset, shape, strides);
    }

    /// <summary>
    /// Charges what a REDUCE copies out of existing values. Ops that read input are bounded by the input; copies of
    /// memoised values are not, so their total is capped at the pickle's own size (plus slack) to stop quadratic blow-ups.
    /// </summary>
    private T Expand<T>(T source) where T : class
    {
        _expanded += source switch { string s => s.Length, List<object?> l => l.Count, _ => 0 };
        if (_expanded > 2L * _data.Length + (1 << 20)) throw Bad("pickle expands far beyond its own size (memo reuse); refusing");
        return source;
    }

    // ---- stack and input helpers ----

    private void Push(object? v) => _stack.Add(v);

    private object? Pop()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _marks[^1] == _stack.Count)) throw Bad("stack underflow");
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private object? Peek() => _stack.Count == 0 || (_marks.Count > 0 && _marks[^1] == _stack.Count) ? throw Bad("stack underflow") : _stack[^1];

    private object?[] PopN(int n)
    {
        var items = new object?[n];
        for (int i = n - 1; i >= 0; i--) items[i] = Pop();
        return items;
    }

    private object?[] PopMark()
    {
        if (_marks.Count == 0) throw Bad("no MARK on the stack");
        int at = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(at, _stack.Count - at).ToArray();
        _stack.RemoveRange(at, _stack.Count - at);
        return items;
    }

    private PickleDict SetItems(PickleDict dict, object?[] items)
    {
        if (items.Length % 2 != 0) throw Bad("odd number of items for a dict");
        for (int i = 0; i < items.Length; i += 2) dict.Set(items[i], items[i + 1]);
        return dict;
    }

    private object? Memo(long key) => _memo.TryGetValue(key, out var v) ? v : throw Bad($"memo entry {key} was never stored");

    private byte ReadByte() => _pos < _data.Length ? _data[_pos++] : throw Bad("pickle ends early (truncated)");

    private ReadOnlySpan<byte> Take(long n)
    {
        if (n < 0 || n > _data.Length - _pos) throw Bad($"pickle ends early: {n} bytes wanted, {_data.Length - _pos} left");
        var s = _data.AsSpan(_pos, (int)n);
        _pos += (int)n;
        return s;
    }

    private long Length32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    private long Length64()
    {
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
        return n > (ulong)(_data.Length - _pos) ? throw Bad($"pickle ends early: {n} bytes wanted") : (long)n;
    }

    private object ReadLong(int n)
    {
        var bytes = Take(n);
        if (n <= 8)
        {
            long v = 0;
            for (int i = n - 1; i >= 0; i--) v = (v << 8) | bytes[i];
            if (n > 0 && n < 8 && (bytes[n - 1] & 0x80) != 0) v -= 1L << (8 * n); // two's complement sign
            return v;
        }
        return new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
    }

    private string ReadLine()
    {
        int end = Array.IndexOf(_data, (byte)'\n', _pos, Math.Min(256, _data.Length - _pos));
        if (end < 0) throw Bad("GLOBAL name is unterminated or longer than 256 bytes");
        string s = Utf8(_data.AsSpan(_pos, end - _pos));
        _pos = end + 1;
        return s;
    }

    private string Utf8(ReadOnlySpan<byte> b)
    {
        try { return StrictUtf8.GetString(b); }
        catch (DecoderFallbackException) { throw Bad("string is not valid UTF-8"); }
    }

    private PickleTuple AsTuple(object? v, string what) => v as PickleTuple ?? throw Bad($"{what} is a {Describe(v)}, not a tuple");
    private List<object?> AsList(object? v, string what) => v as List<object?> ?? throw Bad($"{what} on a {Describe(v)}, not a list");
    private PickleDict AsDict(object? v, string what) => v as PickleDict ?? throw Bad($"{what} on a {Describe(v)}, not a dict");
    private string AsString(object? v) => v as string ?? throw Bad($"STACK_GLOBAL name is a {Describe(v)}, not a str");

    private static string Describe(object? v) => v switch
    {
        null => "None",
        PickleGlobal g => g.FullName,
        PickleObject o => o.ToString(),
        string => "str",
        long or BigInteger => "int",
        _ => v.GetType().Name,
    };

    private CheckpointFormatException Bad(string problem) => new(_file, $"data.pkl byte {_opStart}: {problem}");
    private UnsafePickleException Unsafe(string what) => new(_file, $"{what} (data.pkl byte {_opStart})");
}

using System.Buffers.Binary;
using System.Text;

namespace PFStorer.Graph.Tests.Checkpoints;

/// <summary>Writes pickle opcodes by hand, so tests can build both honest state dicts and hostile pickles.</summary>
internal sealed class PickleWriter
{
    private readonly List<byte> _b = [];

    public PickleWriter Op(char op) { _b.Add((byte)op); return this; }
    public PickleWriter Op(byte op) { _b.Add(op); return this; }
    public PickleWriter Raw(params byte[] bytes) { _b.AddRange(bytes); return this; }
    public PickleWriter Proto(int v = 2) => Op(0x80).Raw((byte)v);
    public PickleWriter Global(string module, string name) => Op('c').Raw(Encoding.UTF8.GetBytes($"{module}\n{name}\n"));
    public PickleWriter StackGlobal(string module, string name) => Str(module).Str(name).Op(0x93);
    public PickleWriter Mark() => Op('(');
    public PickleWriter Tuple() => Op('t');
    public PickleWriter EmptyTuple() => Op(')');
    public PickleWriter EmptyDict() => Op('}');
    public PickleWriter SetItems() => Op('u');
    public PickleWriter Reduce() => Op('R');
    public PickleWriter Build() => Op('b');
    public PickleWriter NewObj() => Op(0x81);
    public PickleWriter PersId() => Op('Q');
    public PickleWriter Stop() => Op('.');
    public PickleWriter None() => Op('N');
    public PickleWriter Bool(bool v) => Op(v ? (byte)0x88 : (byte)0x89);
    public PickleWriter Float(double v) { Op('G'); var s = new byte[8]; BinaryPrimitives.WriteDoubleBigEndian(s, v); return Raw(s); }

    public PickleWriter Str(string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        Op('X');
        var len = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)bytes.Length);
        return Raw(len).Raw(bytes);
    }

    public PickleWriter Int(long v)
    {
        if (v is >= int.MinValue and <= int.MaxValue)
        {
            var s = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(s, (int)v);
            return Op('J').Raw(s);
        }
        var l = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(l, v);
        return Op(0x8a).Raw(8).Raw(l);
    }

    public PickleWriter IntTuple(IEnumerable<long> values)
    {
        Mark();
        foreach (var v in values) Int(v);
        return Tuple();
    }

    /// <summary>torch._utils._rebuild_tensor_v2(storage pid, offset, size, stride, False, OrderedDict()) as torch.save writes it.</summary>
    public PickleWriter Tensor(string storageClass, string key, long numel, long offset, int[] shape, long[] strides)
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Mark().Str("storage").Global("torch", storageClass).Str(key).Str("cpu").Int(numel).Tuple().PersId();
        Int(offset).IntTuple(shape.Select(d => (long)d)).IntTuple(strides).Bool(false);
        Global("collections", "OrderedDict").EmptyTuple().Reduce();
        return Tuple().Reduce();
    }

    public byte[] ToArray() => [.. _b];
}

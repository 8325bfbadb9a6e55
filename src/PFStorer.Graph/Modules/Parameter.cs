namespace PFStorer.Graph.Modules;

/// <summary>
/// A named weight slot of a module. It is declared with its shape when the module is built (no memory), and filled
/// by a checkpoint loader or an initialiser. Frozen parameters never require grad, so they never get a gradient buffer.
/// </summary>
public sealed class Parameter : IDisposable
{
    private readonly int[] _shape;

    public string Name { get; }
    public ReadOnlySpan<int> Shape => _shape;
    public bool Trainable { get; private set; }
    public Tensor? Value { get; private set; }
    public long Numel { get; }

    public Parameter(string name, int[] shape, bool trainable)
    {
        Name = name;
        _shape = shape;
        Trainable = trainable;
        Numel = shape.Aggregate(1L, (a, d) => a * d);
    }

    /// <summary>Turns a slot into a trainable one (adapters are built from the same layers as the frozen base).</summary>
    internal void MakeTrainable()
    {
        Trainable = true;
        if (Value != null) Value.RequiresGrad = true;
    }

    public int[] ShapeArray() => (int[])_shape.Clone();
    public string ShapeString => "[" + string.Join(",", _shape) + "]";

    /// <summary>The loaded tensor; throws with the parameter's name when nothing was loaded.</summary>
    public Tensor Tensor => Value ?? throw new InvalidOperationException($"parameter '{Name}' {ShapeString} has not been loaded");

    /// <summary>Takes ownership of <paramref name="value"/> (shape-checked) and releases the previous value.</summary>
    public void Assign(Tensor value)
    {
        if (!value.Shape.SequenceEqual(_shape))
            throw new ArgumentException($"parameter '{Name}' expects shape {ShapeString}, got {value.ShapeString}");
        Value?.Dispose();
        value.Name = Name;
        value.RequiresGrad = Trainable;
        Value = value;
    }

    public void Dispose()
    {
        Value?.Grad?.Dispose();
        Value?.Dispose();
        Value = null;
    }
}

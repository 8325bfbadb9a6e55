namespace PFStorer.Graph.Autograd;

/// <summary>
/// Computes input gradients from output gradients. Entries of gradOutputs are null where that output got no gradient;
/// entries of the result are null where an input needs none. The function must not keep the gradOutputs.
/// </summary>
public delegate Tensor?[] BackwardFn(Tensor?[] gradOutputs);

/// <summary>
/// One recorded operation on the tape. It holds the input handles (for the graph walk) and the tensors its backward needs;
/// both are released as soon as its backward has run, so activation memory is freed during the backward pass.
/// </summary>
public sealed class Node
{
    private Tensor?[] _inputs;
    private Tensor[] _saved;
    private BackwardFn? _backward;

    public string Name { get; }
    public int OutputCount { get; }
    internal ReadOnlySpan<Tensor?> Inputs => _inputs;

    internal Node(string name, Tensor?[] inputs, int outputCount, BackwardFn backward, Tensor[] saved)
    {
        Name = name;
        _inputs = inputs;
        OutputCount = outputCount;
        _backward = backward;
        _saved = saved;
    }

    internal Tensor?[] RunBackward(Tensor?[] gradOutputs)
    {
        if (_backward == null) throw new InvalidOperationException($"backward of {Name} already ran (the graph is freed after backward)");
        return _backward(gradOutputs);
    }

    /// <summary>Frees saved activations and forgets the inputs; the node can no longer run backward.</summary>
    internal void Release()
    {
        foreach (var t in _saved) t.Dispose();
        _saved = [];
        _inputs = [];
        _backward = null;
    }

    internal bool IsReleased => _backward == null;
}

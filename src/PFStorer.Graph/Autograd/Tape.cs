namespace PFStorer.Graph.Autograd;

/// <summary>Records operations and runs reverse-mode differentiation over them.</summary>
public static class Tape
{
    /// <summary>True when an operation over these inputs must be recorded.</summary>
    public static bool ShouldRecord(ReadOnlySpan<Tensor?> inputs)
    {
        if (!GradMode.IsEnabled) return false;
        foreach (var t in inputs) if (t is { RequiresGrad: true }) return true;
        return false;
    }

    /// <summary>
    /// Attaches a node to <paramref name="outputs"/>. <paramref name="saved"/> are handles the node owns (disposed after backward);
    /// pass <c>x.Share()</c> for tensors the caller keeps using.
    /// </summary>
    public static void Record(string name, Tensor?[] inputs, Tensor[] outputs, BackwardFn backward, params Tensor[] saved)
    {
        var node = new Node(name, inputs, outputs.Length, backward, saved);
        for (int i = 0; i < outputs.Length; i++)
        {
            outputs[i].GradFn = node;
            outputs[i].OutputIndex = i;
            outputs[i].RequiresGrad = true;
        }
    }

    /// <summary>
    /// Back-propagates from <paramref name="root"/> (a scalar unless <paramref name="gradient"/> is given) and accumulates
    /// into <see cref="Tensor.Grad"/> of every leaf that requires grad. Every node on the way is released afterwards.
    /// </summary>
    public static void Backward(Tensor root, Tensor? gradient = null)
    {
        if (root.GradFn == null) throw new InvalidOperationException("backward from a tensor that was not produced by a recorded operation");
        if (gradient == null && root.Numel != 1) throw new InvalidOperationException($"backward from non-scalar {root.ShapeString} needs an explicit gradient");
        Backward([root], [gradient]);
    }

    /// <summary>
    /// Back-propagates from several recorded roots at once, each with its gradient (null: a scalar root seeded with 1), as
    /// one pass over their joint graph: a node shared by two roots runs its backward once, with the summed gradient.
    /// </summary>
    public static void Backward(IReadOnlyList<Tensor> roots, IReadOnlyList<Tensor?> gradients)
    {
        if (roots.Count != gradients.Count) throw new ArgumentException($"{roots.Count} backward roots with {gradients.Count} gradients");
        var pending = new Dictionary<Node, Tensor?[]>(ReferenceEqualityComparer.Instance);
        for (int r = 0; r < roots.Count; r++)
        {
            var (root, gradient) = (roots[r], gradients[r]);
            if (root.GradFn == null) throw new InvalidOperationException("backward from a tensor that was not produced by a recorded operation");
            // The seed is the tape's own copy: backward functions may return views of their incoming gradient (reshape),
            // which can end up as a leaf's Grad and be accumulated into in place; that must never write into the caller's tensor.
            if (gradient != null && !gradient.Shape.SequenceEqual(root.Shape))
                throw new ArgumentException($"backward gradient {gradient.ShapeString} does not match the root {root.ShapeString}");
            var seed = Tensor.Empty(root.Shape, Kernels.DType.F32, root.Device);
            if (gradient != null) seed.Backend.Copy(gradient, seed);
            else seed.Backend.Fill(seed, 1f);
            if (!pending.TryGetValue(root.GradFn, out var slots)) pending[root.GradFn] = slots = new Tensor?[root.GradFn.OutputCount];
            ref var slot = ref slots[root.OutputIndex];
            if (slot == null) slot = seed;
            else { Accumulate(slot, seed); seed.Dispose(); }
        }
        var order = TopologicalOrder(roots.Select(r => r.GradFn!));

        using var noGrad = GradMode.NoGrad();
        for (int n = order.Count - 1; n >= 0; n--)
        {
            var node = order[n];
            if (!pending.Remove(node, out var gradOutputs))
            {
                node.Release();
                continue;
            }
            var inputs = node.Inputs.ToArray();
            var gradInputs = node.RunBackward(gradOutputs);
            node.Release();
            foreach (var g in gradOutputs) g?.Dispose();

            for (int i = 0; i < inputs.Length; i++)
            {
                var g = gradInputs[i];
                var input = inputs[i];
                if (g == null) continue;
                if (input is not { RequiresGrad: true }) { g.Dispose(); continue; }
                if (input.GradFn == null)
                {
                    if (input.Grad == null) input.Grad = g;
                    else { Accumulate(input.Grad, g); g.Dispose(); }
                }
                else
                {
                    if (!pending.TryGetValue(input.GradFn, out var slots))
                        pending[input.GradFn] = slots = new Tensor?[input.GradFn.OutputCount];
                    ref var slot = ref slots[input.OutputIndex];
                    if (slot == null) slot = g;
                    else { Accumulate(slot, g); g.Dispose(); }
                }
            }
        }
    }

    /// <summary>Releases the graph behind <paramref name="root"/> without differentiating (e.g. a forward run in grad mode that is not trained on).</summary>
    public static void Release(Tensor root)
    {
        if (root.GradFn == null) return;
        foreach (var node in TopologicalOrder([root.GradFn])) node.Release();
    }

    private static void Accumulate(Tensor into, Tensor add)
    {
        if (!into.Shape.SequenceEqual(add.Shape))
            throw new InvalidOperationException($"gradient shape {add.ShapeString} does not match {into.ShapeString}");
        into.Backend.Binary(Backends.BinaryOp.Add, into, add, into);
    }

    // Post-order depth-first walks from each root sharing one visited set: parents always come before their children.
    private static List<Node> TopologicalOrder(IEnumerable<Node> roots)
    {
        var order = new List<Node>();
        var visited = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Node node, bool expanded)>();
        foreach (var root in roots) stack.Push((root, false));
        while (stack.Count > 0)
        {
            var (node, expanded) = stack.Pop();
            if (expanded) { order.Add(node); continue; }
            if (!visited.Add(node)) continue;
            stack.Push((node, true));
            foreach (var input in node.Inputs)
                if (input?.GradFn is { } parent && !visited.Contains(parent) && !parent.IsReleased)
                    stack.Push((parent, false));
        }
        return order; // parents before children
    }
}

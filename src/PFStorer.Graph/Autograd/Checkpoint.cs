using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Autograd;

/// <summary>
/// Gradient checkpointing (docs/personalization.md, "Memory"): a block's forward runs without a tape and only its inputs
/// are kept; its backward runs the forward again on the tape and back-propagates through that recomputed graph, so a
/// block's inner activations live only while its own backward runs. Gradients are those of the plain forward provided
/// the block is deterministic (every op here is).
/// </summary>
public static class Checkpoint
{
    /// <summary>
    /// Runs <paramref name="forward"/>(inputs) checkpointed when a tape would be recorded (an input requires grad, or
    /// <paramref name="owner"/> holds a trainable parameter), plainly otherwise. Every tensor the forward reads except the
    /// owner's parameters must be passed as an input (not captured), since the recomputation runs after the caller has
    /// released its own handles. The forward must not have side effects beyond its outputs.
    /// </summary>
    public static Tensor[] Run(string name, Module owner, Tensor[] inputs, Func<Tensor[], Tensor[]> forward)
    {
        bool trainableInside = owner.TrainableParameters().Any();
        if (!GradMode.IsEnabled || (!Tape.ShouldRecord(inputs) && !trainableInside)) return forward(inputs);

        Tensor[] outputs;
        using (GradMode.NoGrad()) outputs = forward(inputs);
        var saved = inputs.Select(t => t.Share()).ToArray();
        var needs = inputs.Select(t => t.RequiresGrad).ToArray();
        Tape.Record(name, inputs, outputs, gradOutputs =>
        {
            var leaves = saved.Select((s, i) =>
            {
                var leaf = s.Share();
                leaf.RequiresGrad = needs[i];
                return leaf;
            }).ToArray();
            Tensor[] again;
            using (GradMode.EnableGrad()) again = forward(leaves);
            try
            {
                var roots = again.Where((o, i) => gradOutputs[i] != null && o.GradFn != null).ToArray();
                var grads = gradOutputs.Where((g, i) => g != null && again[i].GradFn != null).ToArray();
                if (roots.Length > 0) Tape.Backward(roots, grads);
                return leaves.Select(leaf => leaf.Grad).ToArray();
            }
            finally
            {
                foreach (var o in again)
                {
                    Tape.Release(o);
                    o.Dispose();
                }
                foreach (var leaf in leaves) leaf.Dispose();
            }
        }, saved);
        return outputs;
    }
}

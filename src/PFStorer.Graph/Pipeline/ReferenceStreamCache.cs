using System.Runtime.InteropServices;
using PFStorer.Graph.Models;
using PFStorer.Graph.Personalization;

namespace PFStorer.Graph.Pipeline;

/// <summary>
/// An identity's reference stream per timestep (docs/identity-files.md, "Reference-stream cache"). What the
/// personalization blocks read from a reference row depends on t and on <see cref="ReferenceStreamKey"/> — never on the
/// image — so the first UNet call at a timestep records it and every later call at that timestep (other windows, other
/// images) replays it and runs the sampler's rows alone. Steps are kept while they fit <see cref="ReferenceStreamKey.BudgetBytes"/>;
/// a step past the budget is computed with its reference rows, as without a cache. Owned by the restorer.
/// </summary>
public sealed class ReferenceStreamCache(ReferenceStreamKey key) : IDisposable
{
    private readonly Dictionary<long, ReferenceStream> _steps = [];
    private long _stepBytes;   // one recorded step (every step has the same shapes); 0 until the first is recorded

    public ReferenceStreamKey Key { get; } = key;
    /// <summary>Memory held by the recorded steps.</summary>
    public long Bytes { get; private set; }
    /// <summary>Timesteps recorded.</summary>
    public int Steps => _steps.Count;

    public ReferenceStream? Find(long timestep) => _steps.GetValueOrDefault(timestep);

    /// <summary>A stream for a two-stream call to record into, or null when one more step would not fit the budget.</summary>
    public ReferenceStream? StartRecording() =>
        Key.BudgetBytes > 0 && Bytes + _stepBytes <= Key.BudgetBytes ? new ReferenceStream() : null;

    /// <summary>Takes <paramref name="stream"/>, recorded at <paramref name="timestep"/>: kept when it fits the budget, else freed.</summary>
    public void Keep(long timestep, ReferenceStream stream)
    {
        _stepBytes = stream.Bytes;
        if (Bytes + _stepBytes > Key.BudgetBytes || !_steps.TryAdd(timestep, stream)) { stream.Dispose(); return; }
        Bytes += _stepBytes;
    }

    public void Dispose()
    {
        foreach (var s in _steps.Values) s.Dispose();
        _steps.Clear();
        Bytes = 0;
    }
}

/// <summary>
/// What a reference stream depends on besides t and the base weights: the identity (its placements), the reference latent
/// and the branch contexts in the sampler's order (the positive one carries the learned token), by value — and the budget.
/// </summary>
public sealed class ReferenceStreamKey(Identity identity, float[] reference, IReadOnlyList<float[]> contexts, long budgetBytes)
{
    private readonly Identity _identity = identity;
    private readonly float[][] _values = [reference, .. contexts];

    public long BudgetBytes { get; } = budgetBytes;

    /// <summary>Same identity object and budget, and the same reference and contexts bit for bit.</summary>
    public bool Matches(ReferenceStreamKey other) =>
        ReferenceEquals(_identity, other._identity) && BudgetBytes == other.BudgetBytes && _values.Length == other._values.Length
        && _values.Zip(other._values).All(v => MemoryMarshal.AsBytes(v.First.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(v.Second.AsSpan())));
}

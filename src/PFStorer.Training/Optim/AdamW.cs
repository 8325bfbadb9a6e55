using PFStorer.Graph;
using PFStorer.Graph.Modules;

namespace PFStorer.Training.Optim;

/// <summary>A set of parameters sharing a learning rate and a weight decay (PyTorch's parameter group).</summary>
public sealed record ParameterGroup(string Name, IReadOnlyList<Parameter> Parameters, float LearningRate, float WeightDecay);

/// <summary>
/// torch.optim.AdamW over parameter groups (docs/personalization.md, "Optimiser"): decoupled weight decay, bias-corrected
/// moments, β 0.9/0.999, eps 1e-8, one fused backend step per parameter. Values and moments are f32 (the master copies).
/// A parameter without a gradient in a step is skipped, as in PyTorch.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly Dictionary<Parameter, (Tensor M, Tensor V)> _moments = new(ReferenceEqualityComparer.Instance);

    public IReadOnlyList<ParameterGroup> Groups { get; }
    public float Beta1 { get; init; } = 0.9f;
    public float Beta2 { get; init; } = 0.999f;
    public float Eps { get; init; } = 1e-8f;
    /// <summary>Steps taken so far (the bias corrections use step + 1 on the next one).</summary>
    public int StepCount { get; private set; }

    public AdamW(IReadOnlyList<ParameterGroup> groups)
    {
        var all = groups.SelectMany(g => g.Parameters).ToArray();
        if (all.Distinct(ReferenceEqualityComparer.Instance).Count() != all.Length) throw new ArgumentException("a parameter appears in two AdamW groups");
        if (all.FirstOrDefault(p => !p.Trainable) is { } frozen) throw new ArgumentException($"parameter '{frozen.Name}' is frozen and cannot be optimised");
        Groups = groups;
    }

    public void Step()
    {
        StepCount++;
        foreach (var group in Groups)
            foreach (var p in group.Parameters)
            {
                var value = p.Tensor;
                if (value.Grad is not { } grad) continue;
                if (!_moments.TryGetValue(p, out var state))
                    _moments[p] = state = (Tensor.Zeros(value.Shape, device: value.Device), Tensor.Zeros(value.Shape, device: value.Device));
                value.Backend.AdamW(value, grad, state.M, state.V, group.LearningRate, Beta1, Beta2, Eps, group.WeightDecay, StepCount);
            }
    }

    /// <summary>The first and second moments of every parameter stepped so far (for a resumable state file).</summary>
    public IEnumerable<(Parameter Parameter, Tensor M, Tensor V)> Moments() => _moments.Select(kv => (kv.Key, kv.Value.M, kv.Value.V));

    /// <summary>Restores a saved state: the step count and the moments (taking ownership of the tensors).</summary>
    public void LoadState(int stepCount, IEnumerable<(Parameter Parameter, Tensor M, Tensor V)> moments)
    {
        var known = Groups.SelectMany(g => g.Parameters).ToHashSet(ReferenceEqualityComparer.Instance);
        foreach (var (p, m, v) in moments)
        {
            if (!known.Contains(p)) throw new ArgumentException($"parameter '{p.Name}' is not optimised by this AdamW");
            if (!m.Shape.SequenceEqual(p.Shape) || !v.Shape.SequenceEqual(p.Shape)) throw new ArgumentException($"moments of '{p.Name}' do not have its shape {p.ShapeString}");
            if (_moments.Remove(p, out var old)) { old.M.Dispose(); old.V.Dispose(); }
            _moments[p] = (m, v);
        }
        StepCount = stepCount;
    }

    /// <summary>Releases every gradient of the optimised parameters (the next backward creates fresh ones).</summary>
    public void ZeroGrad()
    {
        foreach (var p in Groups.SelectMany(g => g.Parameters))
            if (p.Value?.Grad is { } grad)
            {
                grad.Dispose();
                p.Value.Grad = null;
            }
    }

    public void Dispose()
    {
        foreach (var (m, v) in _moments.Values) { m.Dispose(); v.Dispose(); }
        _moments.Clear();
    }
}

using PFStorer.Graph;
using PFStorer.Graph.Modules;

namespace PFStorer.Benchmarks;

/// <summary>Random weights in a module's own layout, for benchmarks of the full-size networks (no checkpoint needed).</summary>
public static class RandomWeights
{
    /// <summary>
    /// Matrices and kernels ~ U(±√(3/fan_in)) keep activations O(1); 1-D weights (every norm's scale) 1, biases and
    /// scalars 0.
    /// </summary>
    public static void Fill(Module module, Random rng)
    {
        foreach (var (path, p) in module.NamedParameters())
        {
            // Straight into pool memory: no managed copy of the weights (the full model would leave gigabytes of garbage).
            var tensor = Tensor.Zeros(p.ShapeArray());
            var values = tensor.Span<float>();
            if (p.Shape.Length >= 2) Fill(rng, values, MathF.Sqrt(3f * p.Shape[0] / p.Numel));
            else if (p.Shape.Length == 1 && path.EndsWith("weight", StringComparison.Ordinal)) values.Fill(1f);
            p.Assign(tensor);
        }
    }

    /// <summary>A tensor ~ U(±bound).</summary>
    public static Tensor Uniform(Random rng, float bound, params int[] shape)
    {
        var values = new float[shape.Aggregate(1, (a, d) => a * d)];
        Fill(rng, values, bound);
        return Tensor.FromArray(values, shape);
    }

    private static void Fill(Random rng, Span<float> values, float bound)
    {
        for (int i = 0; i < values.Length; i++) values[i] = (2f * rng.NextSingle() - 1f) * bound;
    }
}

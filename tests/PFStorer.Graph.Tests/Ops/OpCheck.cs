using PFStorer.Graph.Autograd;
using static PFStorer.Tests.Reference;

namespace PFStorer.Graph.Tests.Ops;

/// <summary>
/// The check every differentiable op goes through: run it via F.* on f32 tensors made from float64 inputs, compare the
/// forward to the float64 reference, back-propagate random output weights w through the tape and compare each
/// gradient to central differences of Σ w·reference.
/// </summary>
internal static class OpCheck
{
    public const double ForwardTolerance = 1e-5, GradTolerance = 1e-3;

    public record Input(double[] Data, int[] Shape, bool RequiresGrad = true);

    public static void ForwardAndBackward(string what, Random rng, Input[] inputs, Func<Tensor[], Tensor> op, Func<double[][], double[]> reference,
        double forwardTolerance = ForwardTolerance, double gradTolerance = GradTolerance)
    {
        var tensors = inputs.Select(i => Reference.Tensor(i.Data, i.Shape)).ToArray();
        try
        {
            for (int i = 0; i < inputs.Length; i++) tensors[i].RequiresGrad = inputs[i].RequiresGrad;
            double[][] data = inputs.Select(i => i.Data).ToArray();
            using var y = op(tensors);
            var expected = reference(data);
            AssertClose(y.ToFloatArray(), expected, forwardTolerance, what + " forward");
            if (!inputs.Any(i => i.RequiresGrad)) return;

            var weights = RandomArray(rng, (int)y.Numel);
            using (var g = Reference.Tensor(weights, y.ShapeArray())) Tape.Backward(y, g);
            for (int i = 0; i < inputs.Length; i++)
            {
                if (!inputs[i].RequiresGrad)
                {
                    Xunit.Assert.Null(tensors[i].Grad);
                    continue;
                }
                Xunit.Assert.NotNull(tensors[i].Grad);
                AssertClose(tensors[i].Grad!.ToFloatArray(), NumericGradient(reference, data, weights, i), gradTolerance, $"{what} d(input {i})");
            }
        }
        finally
        {
            foreach (var t in tensors)
            {
                t.Grad?.Dispose();
                t.Dispose();
            }
        }
    }

    public static int Numel(int[] shape) => shape.Aggregate(1, (a, d) => a * d);

    public static string Str(int[] shape) => "[" + string.Join(",", shape) + "]";
}
